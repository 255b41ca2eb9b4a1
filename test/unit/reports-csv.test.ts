import { describe, expect, it } from 'vitest';
import { neutralizeFormula, type SuppressedReport, suppressedCsv, toCsv } from '#shared/app/reports.ts';

describe('toCsv', () => {
  it.each([
    ['=HYPERLINK("http://evil.example","click")', `'=HYPERLINK("http://evil.example","click")`],
    ['+33612345678', "'+33612345678"],
    ['-winback', "'-winback"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tpadded', "'\tpadded"],
    ['\rreturn', "'\rreturn"],
    ['black-friday', 'black-friday'],
  ])('neutralizes the text cell %j against formula injection', (cell, expected) => {
    expect(neutralizeFormula(cell)).toBe(expected);
  });

  it('leaves numbers numbers, negative ones included', () => {
    expect(toCsv(['count', 'avoidedCost'], [[-3, -0.05]])).toBe('count,avoidedCost\r\n-3,-0.05\r\n');
  });

  it('quotes a neutralized cell that holds a comma or a quote, as RFC 4180 wants', () => {
    expect(toCsv(['campaignId'], [['=HYPERLINK("http://x","y")']])).toBe(
      `campaignId\r\n"'=HYPERLINK(""http://x"",""y"")"\r\n`,
    );
  });

  it('neutralizes campaign ids in the suppressed report', () => {
    const report: SuppressedReport = {
      period: { from: '2026-11-01', to: '2026-11-30' },
      groupBy: ['campaign'],
      currency: 'EUR',
      rows: [{ campaignId: '=1+2', count: 4, avoidedCost: 0.2 }],
      totals: { count: 4, avoidedCost: 0.2 },
      policyVersions: [1],
    };

    expect(suppressedCsv(report)).toBe("campaignId,count,avoidedCost,currency\r\n'=1+2,4,0.2,EUR\r\n");
  });
});
