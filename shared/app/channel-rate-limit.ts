/**
 * Per-channel send rate limits of one process (a token bucket per channel, one second of burst): a
 * send waits for its token instead of failing, so a limit slows the queue down (back-pressure) without
 * using up receives. On Lambda each concurrent dispatch instance has its own buckets.
 */
import type { Channel } from '../domain/schemas.ts';
import type { Clock, SendRateLimiter } from '../ports.ts';

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class TokenBucketLimiter implements SendRateLimiter {
  private readonly buckets = new Map<Channel, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: Partial<Record<Channel, number>>,
    private readonly clock: Clock,
    private readonly sleep: (ms: number) => Promise<void> = defaultSleep,
  ) {}

  async acquire(channel: Channel): Promise<void> {
    const rate = this.perSecond[channel];
    if (!rate) return;
    const burst = Math.max(1, rate);
    const now = this.clock.now();
    const bucket = this.buckets.get(channel) ?? { tokens: burst, at: now };
    // Refill, then take a token now; a negative balance is a queue of waiting sends.
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) * rate) / 1000) - 1;
    bucket.at = now;
    this.buckets.set(channel, bucket);
    if (bucket.tokens < 0) await this.sleep((-bucket.tokens * 1000) / rate);
  }
}
