/**
 * Per-key rate limit: a token bucket per key id, in memory, per process. A key may make `rate` requests
 * per second on average and bursts of twice that; past it, requests get 429 with Retry-After, so that
 * one runaway campaign tool cannot starve the others.
 *
 * On Lambda the buckets live in each concurrent instance of each function: a key's effective ceiling is
 * its rate times the instances serving it. That bounds a runaway client cheaply (no extra DynamoDB write
 * per request, which the one-round-trip decision path cannot afford); the HTTP API's stage throttle is
 * the global ceiling.
 */
import { type Clock, systemClock } from '../ports.ts';

/** The count every instance adds to: shared by the instances of every function, per key. */
export interface RateCounter {
  /**
   * Adds `delta` requests to the key's shared count and returns the count after it, every instance's
   * additions included. A delta of 0 only reads it.
   */
  add(keyId: string, delta: number, now: number): Promise<number>;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Buckets kept at most; full buckets are dropped first (a full bucket is the same as none). */
const MAX_BUCKETS = 10_000;
export const BURST_FACTOR = 2;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly clock: Clock = systemClock) {}

  /**
   * Takes one request's token from the key's bucket. Returns 0 when the request may go on, else the
   * whole seconds to wait before a token is back. An undefined rate is no limit.
   */
  take(keyId: string, rate: number | undefined): number {
    if (rate === undefined || !(rate > 0)) return 0;
    const now = this.clock.now();
    const capacity = rate * BURST_FACTOR;
    let bucket = this.buckets.get(keyId);
    if (!bucket) {
      this.makeRoom(now);
      bucket = { tokens: capacity, updatedAt: now };
      this.buckets.set(keyId, bucket);
    } else {
      const elapsed = Math.max(0, now - bucket.updatedAt) / 1000;
      bucket.tokens = Math.min(capacity, bucket.tokens + elapsed * rate);
      bucket.updatedAt = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
  }

  private makeRoom(now: number): void {
    if (this.buckets.size < MAX_BUCKETS) return;
    // A bucket idle for over a minute has refilled whatever its rate (burst ≥ 2 s of traffic).
    for (const [id, bucket] of this.buckets) if (now - bucket.updatedAt > 60_000) this.buckets.delete(id);
    for (const id of this.buckets.keys()) {
      if (this.buckets.size < MAX_BUCKETS) break;
      this.buckets.delete(id);
    }
  }
}

/** The process's limiter: every HTTP function of this process shares it. */
export const processRateLimiter = new RateLimiter();
