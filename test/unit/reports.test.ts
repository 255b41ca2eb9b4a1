import { describe, expect, it } from 'vitest';
import {
  daySummary,
  type GroupBy,
  monthlySummary,
  previousMonth,
  type ReportDeps,
  reconcileBody,
  type SuppressedRow,
  summaryQuery,
  suppressedCsv,
  suppressedQuery,
  suppressedReport,
  toCsv,
} from '#shared/app/reports.ts';
import { type Counted, type DayCounts, tally } from '#shared/domain/tally.ts';
import { aPolicy, at } from './builders.ts';

// Prices: version 2 raises email and sms; version 3 prices in dollars.
const v1 = aPolicy(
  { channelCosts: { email: 0.001, sms: 0.05, push: 0, whatsapp: 0.03, currency: 'EUR' } },
  1,
);
const v2 = aPolicy(
  { channelCosts: { email: 0.002, sms: 0.07, push: 0, whatsapp: 0.03, currency: 'EUR' } },
  2,
);
const v3 = aPolicy(
  { channelCosts: { email: 0.004, sms: 0.06, push: 0, whatsapp: 0.03, currency: 'USD' } },
  3,
);
// Version 4's prices do not add up exactly as binary fractions.
const v4 = aPolicy({ channelCosts: { email: 0.0035, sms: 0.1, push: 0, whatsapp: 0.2, currency: 'EUR' } }, 4);
const byVersion = new Map([v1, v2, v3, v4].map((p) => [p.version, p]));

/** Counts as the store holds them; `read` answers only for the days it is asked about. */
function depsOf(counted: Counted[], current = v1): ReportDeps {
  const all = tally(counted);
  return {
    tallies: {
      async read(days: string[]): Promise<DayCounts> {
        const out: DayCounts = new Map();
        for (const d of days) {
          const groups = all.get(d);
          if (groups) out.set(d, groups);
        }
        return out;
      },
    },
    policy: async (version) => (version === 0 ? current : (byVersion.get(version) ?? current)),
  };
}

/** `n` decisions alike. */
function times(n: number, c: Partial<Counted> & { at: number }): Counted[] {
  return Array.from({ length: n }, () => ({
    stage: 'decision' as const,
    outcome: 'suppressed' as const,
    channel: 'email' as const,
    policyVersion: 1,
    ...c,
  }));
}

// Two days of November 2026, with a price change between them.
const nov3 = at('2026-11-03T09:00:00Z');
const nov4 = at('2026-11-04T23:59:59Z');
const november = [
  ...times(3, { at: nov3, reason: 'frequency_cap', campaignId: 'bf', category: 'promo' }),
  ...times(1, { at: nov3, reason: 'relevance_below_threshold', channel: 'sms', campaignId: 'bf' }),
  ...times(5, { at: nov3, outcome: 'accepted', campaignId: 'bf' }),
  ...times(2, {
    at: nov4,
    reason: 'frequency_cap',
    campaignId: 'winback',
    category: 'promo',
    policyVersion: 2,
  }),
  ...times(1, { at: nov4, reason: 'opted_out', channel: 'sms', policyVersion: 2 }),
  ...times(4, { at: nov4, outcome: 'deferred', reason: 'quiet_hours_expired', policyVersion: 2 }),
];

/** Rows in one order whatever order their fields were written in, so that lists compare as sets. */
const sortRows = (rows: SuppressedRow[]) => {
  const canonical = (r: SuppressedRow) =>
    JSON.stringify(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
  return [...rows].sort((a, b) => canonical(a).localeCompare(canonical(b)));
};

describe('suppressedReport', () => {
  it.each<[string, GroupBy[], SuppressedRow[]]>([
    ['nothing (one row for the period)', [], [{ count: 7, avoidedCost: 0.127 }]],
    [
      'day',
      ['day'],
      [
        { day: '2026-11-03', count: 4, avoidedCost: 0.053 },
        { day: '2026-11-04', count: 3, avoidedCost: 0.074 },
      ],
    ],
    [
      'reason',
      ['reason'],
      [
        { reason: 'frequency_cap', count: 5, avoidedCost: 0.007 },
        { reason: 'relevance_below_threshold', count: 1, avoidedCost: 0.05 },
        { reason: 'opted_out', count: 1, avoidedCost: 0.07 },
      ],
    ],
    [
      'channel',
      ['channel'],
      [
        { channel: 'email', count: 5, avoidedCost: 0.007 },
        { channel: 'sms', count: 2, avoidedCost: 0.12 },
      ],
    ],
    [
      'campaign',
      ['campaign'],
      [
        { campaignId: 'bf', count: 4, avoidedCost: 0.053 },
        { campaignId: 'winback', count: 2, avoidedCost: 0.004 },
        { campaignId: '', count: 1, avoidedCost: 0.07 },
      ],
    ],
    [
      'category',
      ['category'],
      [
        { category: 'promo', count: 5, avoidedCost: 0.007 },
        { category: '', count: 2, avoidedCost: 0.12 },
      ],
    ],
    [
      'day, reason and channel (the default)',
      ['day', 'reason', 'channel'],
      [
        { day: '2026-11-03', reason: 'frequency_cap', channel: 'email', count: 3, avoidedCost: 0.003 },
        {
          day: '2026-11-03',
          reason: 'relevance_below_threshold',
          channel: 'sms',
          count: 1,
          avoidedCost: 0.05,
        },
        { day: '2026-11-04', reason: 'frequency_cap', channel: 'email', count: 2, avoidedCost: 0.004 },
        { day: '2026-11-04', reason: 'opted_out', channel: 'sms', count: 1, avoidedCost: 0.07 },
      ],
    ],
    [
      'campaign and reason',
      ['campaign', 'reason'],
      [
        { campaignId: 'bf', reason: 'frequency_cap', count: 3, avoidedCost: 0.003 },
        { campaignId: 'bf', reason: 'relevance_below_threshold', count: 1, avoidedCost: 0.05 },
        { campaignId: 'winback', reason: 'frequency_cap', count: 2, avoidedCost: 0.004 },
        { campaignId: '', reason: 'opted_out', count: 1, avoidedCost: 0.07 },
      ],
    ],
    [
      'category and channel',
      ['category', 'channel'],
      [
        { category: 'promo', channel: 'email', count: 5, avoidedCost: 0.007 },
        { category: '', channel: 'sms', count: 2, avoidedCost: 0.12 },
      ],
    ],
  ])('groups the suppressed messages by %s, each priced at its policy version', async (_, groupBy, rows) => {
    // Act
    const report = await suppressedReport(depsOf(november), '2026-11-01', '2026-11-30', groupBy);

    // Assess
    expect(sortRows(report.rows)).toEqual(sortRows(rows));
    expect(report.totals).toEqual({ count: 7, avoidedCost: 0.127 });
    expect(report.currency).toBe('EUR');
    expect(report.policyVersions).toEqual([1, 2]);
  });

  it('counts only the days of the period asked for', async () => {
    // Act
    const report = await suppressedReport(depsOf(november), '2026-11-04', '2026-11-04', ['reason']);

    // Assess
    expect(sortRows(report.rows)).toEqual(
      sortRows([
        { reason: 'frequency_cap', count: 2, avoidedCost: 0.004 },
        { reason: 'opted_out', count: 1, avoidedCost: 0.07 },
      ]),
    );
    expect(report.totals).toEqual({ count: 3, avoidedCost: 0.074 });
    expect(report.policyVersions).toEqual([2]);
  });

  it('sums money exactly to the millionth, where adding the prices as decimals would drift', async () => {
    // Prepare: 0.1 + 0.2 is 0.30000000000000004 in floating point; three sends at 0.0035 are 0.0105
    const counted = [
      ...times(3, { at: nov3, reason: 'frequency_cap', policyVersion: 4 }),
      ...times(1, { at: nov3, reason: 'frequency_cap', channel: 'sms', policyVersion: 4 }),
      ...times(1, { at: nov3, reason: 'frequency_cap', channel: 'whatsapp', policyVersion: 4 }),
    ];

    // Act
    const report = await suppressedReport(depsOf(counted), '2026-11-01', '2026-11-30', ['channel']);

    // Assess
    expect(sortRows(report.rows)).toEqual(
      sortRows([
        { channel: 'email', count: 3, avoidedCost: 0.0105 },
        { channel: 'sms', count: 1, avoidedCost: 0.1 },
        { channel: 'whatsapp', count: 1, avoidedCost: 0.2 },
      ]),
    );
    expect(report.totals).toEqual({ count: 5, avoidedCost: 0.3105 });
  });

  it('names each row its currency when the period mixes currencies, and the report MIXED', async () => {
    // Prepare
    const counted = [
      ...times(2, { at: nov3, reason: 'frequency_cap', channel: 'sms', policyVersion: 1 }),
      ...times(3, { at: nov4, reason: 'frequency_cap', channel: 'sms', policyVersion: 3 }),
    ];

    // Act
    const report = await suppressedReport(depsOf(counted), '2026-11-01', '2026-11-30', ['channel']);

    // Assess
    expect(report.currency).toBe('MIXED');
    expect(sortRows(report.rows)).toEqual(
      sortRows([
        { channel: 'sms', currency: 'EUR', count: 2, avoidedCost: 0.1 },
        { channel: 'sms', currency: 'USD', count: 3, avoidedCost: 0.18 },
      ]),
    );
    expect(report.totals.count).toBe(5);
  });

  it('reports an empty period in the current policy currency, with zero totals', async () => {
    // Act
    const report = await suppressedReport(depsOf([], v3), '2026-11-01', '2026-11-30', ['reason']);

    // Assess
    expect(report).toMatchObject({ rows: [], currency: 'USD', totals: { count: 0, avoidedCost: 0 } });
  });
});

describe('previousMonth', () => {
  it.each([
    ['2026-03', '2026-02'],
    ['2026-12', '2026-11'],
    ['2026-01', '2025-12'],
    ['2000-01', '1999-12'],
  ])('the month before %s is %s', (month, before) => {
    expect(previousMonth(month)).toBe(before);
  });
});

describe('monthlySummary', () => {
  // December 2025 and January 2026: the comparison crosses a year boundary.
  const counted = [
    ...times(10, { at: at('2025-12-01T00:00:00Z'), outcome: 'accepted' }),
    ...times(2, { at: at('2025-12-31T23:59:59Z'), reason: 'frequency_cap', channel: 'sms' }),
    ...times(1, { at: at('2025-11-30T23:59:59Z'), reason: 'frequency_cap', channel: 'sms' }),
    ...times(12, { at: at('2026-01-01T00:00:00Z'), outcome: 'accepted', policyVersion: 2 }),
    ...times(3, { at: at('2026-01-15T12:00:00Z'), outcome: 'deferred', reason: 'quiet_hours_expired' }),
    ...times(4, { at: at('2026-01-31T23:59:59Z'), reason: 'frequency_cap', policyVersion: 2 }),
    ...times(1, { at: at('2026-01-20T08:00:00Z'), reason: 'paused', channel: 'sms', policyVersion: 2 }),
    ...times(2, { at: at('2026-01-16T08:00:00Z'), stage: 'release', outcome: 'accepted' }),
    ...times(1, { at: at('2026-01-16T08:00:00Z'), stage: 'release', reason: 'expired', channel: 'sms' }),
    ...times(1, { at: at('2026-01-17T08:00:00Z'), stage: 'erasure', outcome: 'accepted' }),
    ...times(9, { at: at('2026-02-01T00:00:00Z'), reason: 'frequency_cap' }),
  ];

  it('sums the month, counting releases and erasures apart and pricing what was not sent', async () => {
    // Act
    const summary = await monthlySummary(depsOf(counted), '2026-01');

    // Assess: 4 email at 0.002 (v2), 1 sms at 0.07 (v2), a released sms that expired at 0.05 (v1)
    expect(summary).toMatchObject({
      month: '2026-01',
      requested: 20,
      accepted: 12,
      deferred: 3,
      suppressed: 6,
      suppressedByReason: { frequency_cap: 4, paused: 1, expired: 1 },
      released: { accepted: 2, suppressed: 1 },
      erased: 1,
      avoidedCostByChannel: { email: 0.008, sms: 0.12 },
      avoidedCost: 0.128,
      currency: 'EUR',
    });
    expect(summary.suppressionRate).toBeCloseTo(6 / 20, 12);
  });

  it('counts a digest of five items as one send released and four digested, their sends avoided cost', async () => {
    // Prepare: five news items deferred into one digest, released as one send (v1: email at 0.001)
    const digestDay = at('2026-01-10T08:00:00Z');
    const digest = [
      ...times(5, { at: digestDay, outcome: 'deferred', reason: 'digest', category: 'news' }),
      ...times(1, { at: digestDay, stage: 'release', outcome: 'accepted', category: 'news' }),
      ...times(4, { at: digestDay, stage: 'release', reason: 'digest', category: 'news' }),
    ];

    // Act
    const summary = await daySummary(depsOf(digest), '2026-01-10');
    const report = await suppressedReport(depsOf(digest), '2026-01-10', '2026-01-10', ['reason']);

    // Assess: decisions = accepted + deferred + suppressed, the deferred resolved as 1 sent + 4 digested
    expect(summary).toMatchObject({
      requested: 5,
      deferred: 5,
      suppressed: 0,
      suppressedByReason: {},
      released: { accepted: 1, suppressed: 0, digested: 4 },
      digested: 4,
      avoidedCostByChannel: { email: 0.004 },
      avoidedCost: 0.004,
    });
    expect(report.rows).toEqual([{ reason: 'digest', count: 4, avoidedCost: 0.004 }]);
    expect(suppressedCsv(report)).toBe('reason,count,avoidedCost,currency\r\ndigest,4,0.004,EUR\r\n');
  });

  it('compares with the month before, across the year boundary', async () => {
    // Act
    const summary = await monthlySummary(depsOf(counted), '2026-01');

    // Assess: December 2025 is 10 accepted and 2 sms suppressed at 0.05
    expect(summary.previousMonth).toMatchObject({
      month: '2025-12',
      requested: 12,
      accepted: 10,
      suppressed: 2,
      avoidedCost: 0.1,
      avoidedCostByChannel: { sms: 0.1 },
    });
    expect(summary.change.requested).toBeCloseTo((20 - 12) / 12, 12);
    expect(summary.change.suppressed).toBeCloseTo((6 - 2) / 2, 12);
    expect(summary.change.avoidedCost).toBeCloseTo((0.128 - 0.1) / 0.1, 12);
    expect(summary.change.suppressionRate).toBeCloseTo(6 / 20 - 2 / 12, 12);
  });

  it('gives no relative change when the month before had nothing', async () => {
    // Act
    const summary = await monthlySummary(depsOf(counted), '2025-11');

    // Assess: November 2025 has one suppression; October nothing
    expect(summary.previousMonth).toMatchObject({ month: '2025-10', requested: 0, avoidedCost: 0 });
    expect(summary.change).toEqual({
      requested: null,
      suppressed: null,
      suppressionRate: 1,
      avoidedCost: null,
    });
  });

  it('counts the last day of a leap February and not the first of March', async () => {
    // Prepare
    const leap = [
      ...times(2, { at: at('2028-02-29T23:00:00Z'), reason: 'frequency_cap' }),
      ...times(5, { at: at('2028-03-01T00:00:00Z'), reason: 'frequency_cap' }),
    ];

    // Act
    const summary = await monthlySummary(depsOf(leap), '2028-02');

    // Assess
    expect(summary).toMatchObject({ requested: 2, suppressed: 2, avoidedCost: 0.002 });
  });
});

describe('daySummary', () => {
  it('counts one UTC day as the monthly summary counts a month', async () => {
    // Act
    const summary = await daySummary(depsOf(november), '2026-11-04');

    // Assess
    expect(summary).toMatchObject({
      day: '2026-11-04',
      requested: 7,
      deferred: 4,
      suppressed: 3,
      avoidedCost: 0.074,
      avoidedCostByChannel: { email: 0.004, sms: 0.07 },
    });
  });
});

describe('suppressedCsv', () => {
  it.each([
    ['a comma', 'spring,sale', '"spring,sale"'],
    ['a quote', 'the "big" one', '"the ""big"" one"'],
    ['a line feed', 'two\nlines', '"two\nlines"'],
    ['a carriage return and line feed', 'two\r\nlines', '"two\r\nlines"'],
    ['a formula prefix', '=cmd|calc', "'=cmd|calc"],
    ['a formula prefix and a comma', '+1,2', `"'+1,2"`],
    ['nothing special', 'black-friday', 'black-friday'],
  ])('writes a campaign id with %s as a spreadsheet reads it back', (_, campaignId, cell) => {
    // Prepare
    const report = {
      period: { from: '2026-11-01', to: '2026-11-30' },
      groupBy: ['campaign', 'category'] as GroupBy[],
      currency: 'EUR',
      rows: [{ campaignId, category: 'a,b', count: 2, avoidedCost: 0.004 }],
      totals: { count: 2, avoidedCost: 0.004 },
      policyVersions: [1],
    };

    // Act
    const csv = suppressedCsv(report);

    // Assess
    expect(csv).toBe(`campaignId,category,count,avoidedCost,currency\r\n${cell},"a,b",2,0.004,EUR\r\n`);
  });

  it('writes every column of a report grouped by everything, with the row currency when mixed', async () => {
    // Prepare
    const counted = [
      ...times(1, {
        at: nov3,
        reason: 'frequency_cap',
        campaignId: 'x,y',
        category: 'q"t',
        policyVersion: 1,
      }),
      ...times(2, {
        at: nov3,
        reason: 'frequency_cap',
        campaignId: 'x,y',
        category: 'q"t',
        policyVersion: 3,
      }),
    ];
    const report = await suppressedReport(depsOf(counted), '2026-11-01', '2026-11-30', [
      'day',
      'reason',
      'channel',
      'campaign',
      'category',
    ]);

    // Act
    const lines = suppressedCsv(report).split('\r\n');

    // Assess
    expect(lines[0]).toBe('day,reason,channel,campaignId,category,count,avoidedCost,currency');
    expect(lines.slice(1, -1).sort()).toEqual([
      '2026-11-03,frequency_cap,email,"x,y","q""t",1,0.001,EUR',
      '2026-11-03,frequency_cap,email,"x,y","q""t",2,0.008,USD',
    ]);
    expect(lines.at(-1)).toBe('');
  });

  it('ends every record, the last included, with CRLF', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          ['1', 2],
          [undefined, 'z'],
        ],
      ),
    ).toBe('a,b\r\n1,2\r\n,z\r\n');
  });
});

describe('the report queries', () => {
  it('groups by day, reason and channel unless told otherwise, and reads a list with spaces and gaps', () => {
    expect(suppressedQuery.parse({ from: '2026-11-01', to: '2026-11-30' }).groupBy).toEqual([
      'day',
      'reason',
      'channel',
    ]);
    expect(
      suppressedQuery.parse({ from: '2026-11-01', to: '2026-11-30', groupBy: ' campaign, ,category ' })
        .groupBy,
    ).toEqual(['campaign', 'category']);
    expect(suppressedQuery.parse({ from: '2026-11-01', to: '2026-11-01', groupBy: '' }).groupBy).toEqual([]);
  });

  it.each([
    ['a grouping it does not know', { groupBy: 'customer' }, 'groupBy.0'],
    ['more groupings than there are', { groupBy: 'day,reason,channel,campaign,category,day' }, 'groupBy'],
    ['from after to', { from: '2026-11-02', to: '2026-11-01' }, 'from'],
    ['a period of 367 days', { from: '2025-11-01', to: '2026-11-02' }, 'to'],
    ['a day that is not a date', { from: '2026-11-31' }, 'from'],
    ['a format it does not write', { format: 'xlsx' }, 'format'],
  ])('refuses a suppressed report with %s', (_, change, path) => {
    const result = suppressedQuery.safeParse({ from: '2026-11-01', to: '2026-11-30', ...change });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  it.each([
    [{ from: '2026-11-01', to: '2026-11-01' }, 'one day'],
    [{ from: '2025-11-01', to: '2026-11-01' }, '366 days'],
  ])('takes a suppressed report over %j (%s)', (period) => {
    expect(suppressedQuery.safeParse(period).success).toBe(true);
  });

  it.each([
    [{ month: '2026-01' }, true],
    [{ month: '2026-12' }, true],
    [{ day: '2026-12-31' }, true],
    [{ month: '2026-13' }, false],
    [{ month: '2026-00' }, false],
    [{ month: '2026-1' }, false],
    [{ month: 'x2026-01' }, false],
    [{ month: '2026-01x' }, false],
    [{ month: 'abcd-01' }, false],
    [{ month: '2026-01', day: '2026-01-02' }, false],
    [{}, false],
  ])('reads the summary query %j as valid: %s', (query, valid) => {
    expect(summaryQuery.safeParse(query).success).toBe(valid);
  });

  it.each([
    [[], false],
    [['2026-11-01'], true],
    [
      ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05', '2026-11-06', '2026-11-07'],
      true,
    ],
    [
      [
        '2026-11-01',
        '2026-11-02',
        '2026-11-03',
        '2026-11-04',
        '2026-11-05',
        '2026-11-06',
        '2026-11-07',
        '2026-11-08',
      ],
      false,
    ],
  ])('reconciles the days %j: %s (one to seven days)', (days, valid) => {
    expect(reconcileBody.safeParse({ days }).success).toBe(valid);
  });
});
