import { describe, expect, it } from 'vitest';
import { formatFor } from '../../console/src/format.ts';
import { type ImpactSide, impactRows, impactWords } from '../../console/src/policy/impact.ts';

const side = (overrides: Partial<ImpactSide> = {}): ImpactSide => ({
  accepted: 30,
  deferred: 0,
  suppressed: 0,
  byReason: {},
  avoidedCost: 0,
  currency: 'EUR',
  perCustomerPerWeek: { p50: 3, p90: 3, p99: 3, max: 3 },
  ...overrides,
});
const en = formatFor('en-US');

describe('the impact preview', () => {
  it('says what a tighter cap changes: fewer delivered, more suppressed by the cap, more saved, fewer per customer', () => {
    // Prepare: ten customers who got 3 each, and a draft cap of 1 per 7 days
    const current = side();
    const draft = side({
      accepted: 10,
      suppressed: 20,
      byReason: { frequency_cap: 20 },
      avoidedCost: 0.02,
      perCustomerPerWeek: { p50: 1, p90: 1, p99: 1, max: 1 },
    });

    // Act
    const words = impactWords(current, draft, en);

    // Assess
    expect(words).toEqual([
      'The draft would deliver 20 fewer messages (−66.7%): 10 instead of 30.',
      'Frequency cap reached: 20 suppressed instead of 0 (+20).',
      'The avoided cost would be €0.02 instead of €0.00 (more saved).',
      'Messages per customer per week: p50 from 3 to 1, p90 from 3 to 1, p99 from 3 to 1, the most from 3 to 1.',
    ]);
  });

  it('says so when the draft decides the traffic as the policy in force did', () => {
    expect(impactWords(side(), side(), en)).toEqual([
      'The draft would decide this traffic exactly as the policy in force did.',
    ]);
  });

  it('lists the reasons either side suppressed for, under the suppressed row, the most frequent first', () => {
    const current = side({ suppressed: 5, byReason: { opted_out: 1, frequency_cap: 4 } });
    const draft = side({ suppressed: 2, byReason: { opted_out: 1, min_gap: 1 } });

    const rows = impactRows(current, draft);

    expect(rows.map((r) => [r.key, r.current, r.draft, r.sub ?? false])).toEqual([
      ['accepted', 30, 30, false],
      ['deferred', 0, 0, false],
      ['suppressed', 5, 2, false],
      ['reason-frequency_cap', 4, 0, true],
      ['reason-opted_out', 1, 1, true],
      ['reason-min_gap', 0, 1, true],
      ['avoidedCost', 0, 0, false],
      ['perCustomer-p50', 3, 3, false],
      ['perCustomer-p90', 3, 3, false],
      ['perCustomer-p99', 3, 3, false],
      ['perCustomer-max', 3, 3, false],
    ]);
  });
});
