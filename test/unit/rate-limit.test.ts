/**
 * The per-key rate limit: the token bucket (`rate` requests per second on average, bursts of twice
 * that, a Retry-After that is enough, keys that do not share a bucket), the arithmetic that merges the
 * other instances' requests into it, and the limiter that syncs with the shared count: once a second per
 * key at most, never on a request's path, and on its own bucket when the count cannot be reached.
 */
import { describe, expect, it } from 'vitest';
import {
  merge,
  othersSince,
  RateLimiter,
  type RateLimiterOptions,
  refill,
  waitSeconds,
} from '#shared/app/rate-limit.ts';
import type { RateCounter } from '#shared/ports.ts';
import { SECOND, T0 } from './builders.ts';

/** A clock and timers the test moves; `advance` runs the timers it passes, in order. */
function aClock() {
  let now = T0;
  let timers: { due: number; run: () => void }[] = [];
  const runDue = () => {
    for (;;) {
      const due = timers.filter((t) => t.due <= now).sort((a, b) => a.due - b.due)[0];
      if (!due) return;
      timers = timers.filter((t) => t !== due);
      due.run();
    }
  };
  return {
    clock: { now: () => now },
    timers: { set: (run: () => void, ms: number) => timers.push({ due: now + ms, run }) },
    advance: (ms: number) => {
      now += ms;
      runDue();
    },
    pendingTimers: () => timers.length,
  };
}

/** The shared count in memory: what DynamoDB holds, for several limiters in one test. */
class MemoryCounter implements RateCounter {
  readonly totals = new Map<string, number>();
  readonly calls: { keyId: string; delta: number }[] = [];
  down = false;

  async add(keyId: string, delta: number): Promise<number> {
    this.calls.push({ keyId, delta });
    if (this.down) throw new Error('counter unreachable');
    const total = (this.totals.get(keyId) ?? 0) + delta;
    this.totals.set(keyId, total);
    return total;
  }
}

/** Lets every sync that was started settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function aLimiter(options: RateLimiterOptions = {}) {
  const time = aClock();
  return { ...time, limiter: new RateLimiter(time.clock, { timers: time.timers, ...options }) };
}

/** How many of `n` requests made at once get through. */
const burst = (limiter: RateLimiter, keyId: string, rate: number | undefined, n: number) =>
  Array.from({ length: n }, () => limiter.take(keyId, rate)).filter((wait) => wait === 0).length;

describe('the token bucket', () => {
  it('lets a burst of twice the rate through, then refuses', () => {
    const { limiter } = aLimiter();
    expect(burst(limiter, 'k', 10, 25)).toBe(20);
  });

  it('answers how long to wait: at least a second, enough for one token', () => {
    const { limiter } = aLimiter();
    burst(limiter, 'slow', 0.5, 1);
    expect(limiter.take('slow', 0.5)).toBe(2);
    burst(limiter, 'fast', 100, 200);
    expect(limiter.take('fast', 100)).toBe(1);
  });

  it('refills at the rate', () => {
    const { limiter, advance } = aLimiter();
    burst(limiter, 'k', 10, 20);
    expect(limiter.take('k', 10)).toBeGreaterThan(0);
    advance(500);
    expect(burst(limiter, 'k', 10, 10)).toBe(5);
    advance(10_000);
    expect(burst(limiter, 'k', 10, 30)).toBe(20);
  });

  it('sustains the rate, not more', () => {
    const { limiter, advance } = aLimiter();
    let passed = 0;
    // 60 s of a client trying 50 requests per second against a limit of 10 per second.
    for (let tick = 0; tick < 60 * 50; tick++) {
      if (limiter.take('k', 10) === 0) passed++;
      advance(20);
    }
    expect(passed).toBeGreaterThanOrEqual(600);
    expect(passed).toBeLessThanOrEqual(600 + 20);
  });

  it('keeps one bucket per key: one runaway key does not starve another', () => {
    const { limiter } = aLimiter();
    burst(limiter, 'runaway', 5, 1000);
    expect(limiter.take('runaway', 5)).toBeGreaterThan(0);
    expect(burst(limiter, 'other', 5, 10)).toBe(10);
  });

  it('does not limit a key without a rate (the bootstrap admin), nor count it', async () => {
    const counter = new MemoryCounter();
    const { limiter } = aLimiter({ counter });
    expect(burst(limiter, 'admin', undefined, 10_000)).toBe(10_000);
    await settle();
    expect(counter.calls).toEqual([]);
  });

  it.each([
    ['a full bucket', { tokens: 20, at: T0 }, 5 * SECOND, 20],
    ['an empty one, half a second later', { tokens: 0, at: T0 }, SECOND / 2, 5],
    ['one in debt', { tokens: -30, at: T0 }, SECOND, -20],
    ['a clock that went back', { tokens: 3, at: T0 }, -SECOND, 3],
  ])('refills %s up to the burst only', (_, bucket, elapsed, tokens) => {
    expect(refill(bucket, 10, T0 + elapsed).tokens).toBe(tokens);
  });

  it.each([
    [1, 10, 0],
    [0.5, 10, 1],
    [-30, 10, 4],
    [0, 0.5, 2],
  ])('with %d tokens at %d/s, waits %d s', (tokens, rate, wait) => {
    expect(waitSeconds(tokens, rate)).toBe(wait);
  });
});

describe('merging the shared total', () => {
  it("reads the others' requests as the growth of the total beyond the instance's own addition", () => {
    expect(othersSince(100, 130, 10)).toBe(20);
    expect(othersSince(100, 110, 10)).toBe(0);
  });

  it('takes the first total it reads as a starting point, not as requests to pay for', () => {
    expect(othersSince(undefined, 5_000, 10)).toBe(0);
  });

  it('reads a total below the last one as a count that started again (its item expired)', () => {
    expect(othersSince(5_000, 25, 10)).toBe(15);
    expect(othersSince(5_000, 10, 10)).toBe(0);
  });

  it("takes the others' requests off a bucket that did not sit full meanwhile", () => {
    // 20 tokens at the last sync; a second later, 4 own requests and the refill of 10: 26 → full at 20.
    // Not full here: 10 at the last sync, 10 refilled, 4 taken: 16 now, and the others made 12.
    const synced = { level: 10, at: T0, own: 4 };
    expect(merge({ tokens: 16, at: T0 + SECOND }, synced, 12, 10)).toBe(4);
  });

  it('carries what the instances overspent together as a debt', () => {
    // Three instances spent their burst of 20 each at once: each learns of the others' 40.
    const synced = { level: 20, at: T0, own: 20 };
    expect(merge({ tokens: 10, at: T0 + SECOND }, synced, 40, 10)).toBe(-30);
  });

  it('does not charge an instance that sat full what the refill had room for while the others spent', () => {
    // Idle and full for a minute while the others used the key at its rate: 600 requests in 60 s.
    const synced = { level: 20, at: T0, own: 0 };
    expect(merge({ tokens: 20, at: T0 + 60 * SECOND }, synced, 600, 10)).toBe(20);
    // Had they made 630, the 10 the refill could not cover are still owed.
    expect(merge({ tokens: 20, at: T0 + 60 * SECOND }, synced, 630, 10)).toBe(-10);
  });

  it('never leaves more than the bucket holds', () => {
    const synced = { level: 20, at: T0, own: 0 };
    expect(merge({ tokens: 7, at: T0 + 60 * SECOND }, synced, 0, 10)).toBe(7);
  });
});

describe('the limiter with a shared count', () => {
  it('syncs at most once a second per key, whatever the number of requests', async () => {
    const counter = new MemoryCounter();
    const { limiter, advance } = aLimiter({ counter });
    for (let ms = 0; ms < 3 * SECOND; ms += 5) {
      limiter.take('k', 1_000);
      await settle();
      advance(5);
    }
    // 600 requests in 3 s, and a sync at 0, 1, 2 and 3 s: the first request at 0, then each second's.
    expect(counter.calls.map((c) => c.delta)).toEqual([1, 199, 200, 200]);
  });

  it('adds the last requests a second after the last sync, without waiting for another request', async () => {
    const counter = new MemoryCounter();
    const { limiter, advance, pendingTimers } = aLimiter({ counter });
    burst(limiter, 'k', 10, 5);
    await settle();

    advance(SECOND);
    await settle();

    expect(counter.totals.get('k')).toBe(5);
    expect(pendingTimers()).toBe(0);
  });

  it("charges an instance's bucket with the requests another one admitted", async () => {
    const counter = new MemoryCounter();
    const time = aClock();
    const a = new RateLimiter(time.clock, { counter, timers: time.timers });
    const b = new RateLimiter(time.clock, { counter, timers: time.timers });
    burst(b, 'k', 10, 1); // b's first sync: its starting point
    await settle();
    expect(burst(a, 'k', 10, 30)).toBe(20);
    await settle();

    time.advance(SECOND);
    await settle();
    b.take('k', 10); // b syncs, and learns of a's 20
    await settle();

    // The key's bucket: 20, less b's first and a's 20 (-1), plus a second's refill, less b's second: 8.
    // Alone, b would have had its whole burst of 20.
    expect(burst(b, 'k', 10, 20)).toBe(8);
  });

  it('decides every request on its own bucket while the count is unreachable, and says so once', async () => {
    const counter = new MemoryCounter();
    counter.down = true;
    const log = { warnings: [] as string[], infos: [] as string[] };
    const { limiter, advance } = aLimiter({
      counter,
      log: { warn: (message) => log.warnings.push(message), info: (message) => log.infos.push(message) },
    });

    const passed = [burst(limiter, 'k', 10, 25)];
    await settle();
    advance(SECOND);
    passed.push(burst(limiter, 'k', 10, 25));
    await settle();

    expect(passed).toEqual([20, 10]);
    expect(counter.calls.length).toBe(2);
    expect(log.warnings).toEqual(['rate-limit counter unreachable: limiting per instance until it answers']);

    counter.down = false;
    advance(SECOND);
    await settle();

    // What it admitted while the count was down is added once the count answers.
    expect(counter.totals.get('k')).toBe(30);
    expect(log.infos).toEqual(['rate-limit counter reachable again: limits hold across instances']);
  });
});
