import { describe, expect, it } from 'vitest';
import { experimentReport, rateDifference } from '#shared/app/experiment-report.ts';
import { monthlySummary, type ReportDeps, suppressedReport } from '#shared/app/reports.ts';
import { type Counted, type DayCounts, tally } from '#shared/domain/tally.ts';
import { aPolicy, at } from './builders.ts';

const policy = aPolicy({
  channelCosts: { email: 0.001, sms: 0.05, push: 0, whatsapp: 0.03, currency: 'EUR' },
});
const T = at('2026-03-02T10:00:00Z');

function depsOf(counted: Counted[]): ReportDeps {
  const all = tally(counted);
  return {
    tallies: {
      async read(days: string[]): Promise<DayCounts> {
        return new Map(days.flatMap((d) => (all.has(d) ? [[d, all.get(d) as Map<string, number>]] : [])));
      },
    },
    policy: async () => policy,
  };
}

const inArm = (arm: string, n: number, c: Partial<Counted>): Counted[] =>
  Array.from({ length: n }, () => ({
    at: T,
    stage: 'decision' as const,
    outcome: 'accepted' as const,
    channel: 'email' as const,
    policyVersion: 1,
    experiment: { id: 'lift', arm },
    ...c,
  }));

const counts: Counted[] = [
  ...inArm('control', 100, { stage: 'enrolment' }),
  ...inArm('control', 300, {}),
  ...inArm('control', 20, { stage: 'engagement', reason: 'opened' }),
  ...inArm('control', 5, { stage: 'engagement', reason: 'unsubscribed' }),
  // An enrolment carries its first decision's outcome: a suppression here.
  ...inArm('governed', 400, { stage: 'enrolment', outcome: 'suppressed', reason: 'frequency_cap' }),
  ...inArm('governed', 800, {}),
  ...inArm('governed', 400, { outcome: 'suppressed', reason: 'frequency_cap' }),
  ...inArm('governed', 100, { stage: 'release', outcome: 'accepted' }),
  ...inArm('governed', 2, { stage: 'engagement', reason: 'clicked' }),
  ...inArm('governed', 4, { stage: 'engagement', reason: 'unsubscribed' }),
  // Another experiment, and decisions in none: not this report's.
  ...inArm('x', 50, { experiment: { id: 'other', arm: 'x' } }),
  ...inArm('none', 70, { experiment: undefined, outcome: 'suppressed', reason: 'frequency_cap' }),
];

describe('experimentReport', () => {
  it('counts each arm of the experiment from the tallies: customers, deliveries, events, avoided cost', async () => {
    // Act
    const report = await experimentReport(depsOf(counts), 'lift', '2026-03-02', '2026-03-02');

    // Assess
    expect(report.arms).toEqual([
      {
        arm: 'control',
        customers: 100,
        decisions: 300,
        delivered: 300,
        suppressed: 0,
        opens: 20,
        clicks: 0,
        unsubscribes: 5,
        complaints: 0,
        deliveredPerCustomer: 3,
        opensPer1000: 200,
        clicksPer1000: 0,
        unsubscribesPer1000: 50,
        complaintsPer1000: 0,
        avoidedCost: 0,
      },
      {
        arm: 'governed',
        customers: 400,
        decisions: 1200,
        delivered: 900,
        suppressed: 400,
        opens: 0,
        clicks: 2,
        unsubscribes: 4,
        complaints: 0,
        deliveredPerCustomer: 2.25,
        opensPer1000: 0,
        clicksPer1000: 5,
        unsubscribesPer1000: 10,
        complaintsPer1000: 0,
        avoidedCost: 0.4,
      },
    ]);
    expect(report.currency).toBe('EUR');
  });

  it('gives the 95% interval of each difference: a Poisson normal approximation', async () => {
    // Act
    const report = await experimentReport(depsOf(counts), 'lift', '2026-03-02', '2026-03-02');

    // Assess: governed − control unsubscribes per 1,000: 10 − 50 = −40, se = √(4/400² + 5/100²) × 1000
    const d = report.differences.find((x) => x.metric === 'unsubscribesPer1000');
    const se = Math.sqrt(4 / 400 ** 2 + 5 / 100 ** 2) * 1000;
    expect(d).toMatchObject({ arm: 'governed', versus: 'control' });
    expect(d?.difference).toBeCloseTo(-40, 9);
    expect(d?.low).toBeCloseTo(-40 - 1.959964 * se, 6);
    expect(d?.high).toBeCloseTo(-40 + 1.959964 * se, 6);
    expect(report.differences).toHaveLength(5);
  });

  it('leaves out the differences of an arm with no customer', () => {
    expect(rateDifference({ count: 0, customers: 0 }, { count: 3, customers: 10 })).toBeUndefined();
  });
});

describe('finance reports beside experiments', () => {
  it('count decisions in arms as any other, and neither enrolments nor events', async () => {
    const deps = depsOf(counts);
    const suppressed = await suppressedReport(deps, '2026-03-02', '2026-03-02', ['reason']);
    expect(suppressed.totals.count).toBe(470);
    const month = await monthlySummary(deps, '2026-03');
    expect(month.requested).toBe(300 + 800 + 400 + 50 + 70);
    expect(month.released.accepted).toBe(100);
  });
});
