/**
 * The per-key token bucket: `rate` requests per second on average, bursts of twice that, a Retry-After
 * that is enough, and keys that do not share a bucket.
 */
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '#shared/app/rate-limit.ts';

function aLimiter() {
  let now = Date.parse('2026-03-02T10:00:00Z');
  return {
    limiter: new RateLimiter({ now: () => now }),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** How many of `n` requests made at once get through. */
const burst = (limiter: RateLimiter, keyId: string, rate: number | undefined, n: number) =>
  Array.from({ length: n }, () => limiter.take(keyId, rate)).filter((wait) => wait === 0).length;

describe('RateLimiter', () => {
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

  it('does not limit a key without a rate (the bootstrap admin)', () => {
    const { limiter } = aLimiter();
    expect(burst(limiter, 'admin', undefined, 10_000)).toBe(10_000);
  });
});
