/**
 * Counting decisions for finance (shared/domain/tally.ts): what one decision adds to the counts, the
 * groups it is counted in, and the arithmetic reconciliation does on counts (the correction it writes is
 * what the log says minus what was counted; a day's counts are the sum of what was counted and that
 * correction).
 */
import { describe, expect, it } from 'vitest';
import { countedOf, type DayCounts, difference, parseGroupKey, sum, tally } from '#shared/domain/tally.ts';
import { DAY, T0 } from './builders.ts';

const counts = (days: Record<string, Record<string, number>>): DayCounts =>
  new Map(Object.entries(days).map(([day, groups]) => [day, new Map(Object.entries(groups))]));
const plain = (c: DayCounts) =>
  Object.fromEntries([...c].map(([day, groups]) => [day, Object.fromEntries(groups)]));

describe('countedOf', () => {
  it("counts a suppression's reason, and no reason for a deferral (whose reason is only why it waits)", () => {
    const base = { at: T0, policyVersion: 3, campaignId: 'spring', category: 'promo' };

    const suppressed = countedOf(
      { ...base, verdict: { outcome: 'suppressed', reason: 'frequency_cap', channel: 'email' } },
      'decision',
    );
    const deferred = countedOf(
      {
        ...base,
        verdict: { outcome: 'deferred', reason: 'frequency_cap', channel: 'sms', releaseAt: T0 + DAY },
      },
      'decision',
    );

    expect(suppressed).toEqual({
      ...base,
      stage: 'decision',
      outcome: 'suppressed',
      reason: 'frequency_cap',
      channel: 'email',
    });
    expect(deferred).toEqual({
      ...base,
      stage: 'decision',
      outcome: 'deferred',
      reason: undefined,
      channel: 'sms',
    });
  });

  it("takes a release's outcome as it is", () => {
    const release = {
      at: T0,
      policyVersion: 2,
      outcome: 'suppressed',
      reason: 'expired',
      channel: 'push',
    } as const;

    expect(countedOf(release, 'release')).toEqual({
      ...release,
      stage: 'release',
      campaignId: undefined,
      category: undefined,
    });
  });
});

describe('tally', () => {
  it('counts decisions per day and per group, absent fields as empty', () => {
    const one = { stage: 'decision', outcome: 'accepted', channel: 'email', policyVersion: 1 } as const;

    const out = tally([
      { ...one, at: T0 },
      { ...one, at: T0 + 1000 },
      { ...one, at: T0 + DAY },
    ]);

    expect([...out.keys()]).toEqual(['2026-03-02', '2026-03-03']);
    const groups = [...(out.get('2026-03-02') ?? [])];
    expect(groups.map(([, n]) => n)).toEqual([2]);
    expect(parseGroupKey('2026-03-02', groups[0]?.[0] ?? '')).toEqual({
      day: '2026-03-02',
      stage: 'decision',
      outcome: 'accepted',
      reason: '',
      channel: 'email',
      campaignId: '',
      category: '',
      policyVersion: 1,
      experiment: '',
      arm: '',
    });
  });
});

describe('difference', () => {
  it('subtracts group by group, over the days and groups of either side', () => {
    const expected = counts({ '2026-03-01': { a: 5, b: 2 }, '2026-03-02': { a: 1 } });
    const counted = counts({ '2026-03-01': { a: 3, c: 1 }, '2026-03-03': { a: 4 } });

    expect(plain(difference(expected, counted))).toEqual({
      '2026-03-01': { a: 2, b: 2, c: -1 },
      '2026-03-02': { a: 1 },
      '2026-03-03': { a: -4 },
    });
  });

  it('leaves out the groups that agree, and the days where every group agrees', () => {
    const expected = counts({ '2026-03-01': { a: 2, b: 1 }, '2026-03-02': { a: 1 } });
    const counted = counts({ '2026-03-01': { a: 2, b: 0 }, '2026-03-02': { a: 1 } });

    expect(plain(difference(expected, counted))).toEqual({ '2026-03-01': { b: 1 } });
    expect(difference(expected, expected).size).toBe(0);
  });
});

describe('sum', () => {
  it('adds group by group, over the days and groups of either side', () => {
    const counted = counts({ '2026-03-01': { a: 3, c: 1 }, '2026-03-03': { a: 4 } });
    const correction = counts({ '2026-03-01': { a: 2, b: 2, c: -1 }, '2026-03-02': { a: 1 } });

    expect(plain(sum(counted, correction))).toEqual({
      '2026-03-01': { a: 5, c: 0, b: 2 },
      '2026-03-03': { a: 4 },
      '2026-03-02': { a: 1 },
    });
  });

  it('is what was counted plus the correction: the counts reconciliation expects', () => {
    const expected = counts({ '2026-03-01': { a: 5, b: 2 }, '2026-03-02': { a: 1 } });
    const counted = counts({ '2026-03-01': { a: 3 }, '2026-03-02': { a: 1, b: 7 } });

    const reconciled = sum(counted, difference(expected, counted));

    expect(plain(reconciled)).toEqual({ '2026-03-01': { a: 5, b: 2 }, '2026-03-02': { a: 1, b: 0 } });
  });
});
