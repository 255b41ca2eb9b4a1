/**
 * `npm run report -- --from 2026-11-01 --to 2026-11-30 [--group-by reason,channel] [--csv [--out FILE]]`
 * `npm run report -- --summary 2026-11`
 * `npm run report -- --reconcile 2026-11-24 [2026-11-25 …]`
 *
 * Finance's reports from the command line, against a running Governor: GOVERNOR_URL, else the local
 * stack of GOVERNOR_DATA_DIR (the URL `npm start` wrote to `<data dir>/endpoints.json`), else
 * http://127.0.0.1:PORT (3000). The key comes from GOVERNOR_API_KEY or GOVERNOR_ADMIN_KEY (or --key).
 */
import { writeFileSync } from 'node:fs';
import { parseCli, usageError } from './cli.ts';
import { apiKeyOf, governorApi, serverOptions, table } from './governor-api.ts';

const { values, positionals } = parseCli({
  name: 'report',
  command: 'npm run report --',
  usage: [
    '[--from YYYY-MM-DD] [--to YYYY-MM-DD] [--group-by LIST] [--csv [--out FILE]]',
    '--summary YYYY-MM',
    '--reconcile YYYY-MM-DD [YYYY-MM-DD …]',
  ],
  description:
    "Finance's reports from a running Governor: suppressed messages and their avoided cost (a table, or CSV),\n" +
    "a month's summary, or the reconciliation of counts with the decisions in the logs.",
  allowPositionals: true,
  options: {
    from: { type: 'string', placeholder: 'YYYY-MM-DD', description: 'first UTC day (default: today)' },
    to: { type: 'string', placeholder: 'YYYY-MM-DD', description: 'last UTC day (default: --from)' },
    'group-by': {
      type: 'string',
      placeholder: 'LIST',
      default: 'reason,channel',
      description: 'among day, reason, channel, campaign, category',
    },
    csv: {
      type: 'boolean',
      default: false,
      description: 'CSV (RFC 4180, formulas neutralized) instead of a table',
    },
    out: { type: 'string', placeholder: 'FILE', description: 'write to FILE instead of standard output' },
    summary: {
      type: 'string',
      placeholder: 'YYYY-MM',
      description: "a month's figures against the month before",
    },
    reconcile: { type: 'string', placeholder: 'YYYY-MM-DD', description: 'reconcile these days (admin key)' },
    ...serverOptions('reports:read'),
  },
});
const request = governorApi(values.url, apiKeyOf('report', values.key, 'reports:read'));
if (positionals.length > 0 && !values.reconcile)
  usageError('report', `unexpected argument ${positionals[0]}`);

const output: string[] = [];
/** A line of the command's output, written once complete: to --out when given, else to standard output. */
const print = (line: string) => output.push(`${line}\n`);

const call = async (method: string, path: string, body?: unknown, accept?: string) =>
  (await request(method, path, body, accept)).text;

const today = new Date().toISOString().slice(0, 10);

if (values.reconcile) {
  const days = [values.reconcile, ...positionals];
  const result = JSON.parse(await call('POST', '/v1/reports/reconcile', { days }));
  print(
    `Reconciled ${result.days.join(', ')} over ${result.customers} customers: ${result.inLogs} decisions in the logs, ` +
      `${result.counted} counted before, ${result.corrected} corrected.` +
      (result.forgotten > 0
        ? ` ${result.forgotten} decisions of flooded customers are no longer in their logs: their counts cannot be rebuilt.`
        : ''),
  );
} else if (values.summary) {
  const s = JSON.parse(await call('GET', `/v1/reports/summary?month=${encodeURIComponent(values.summary)}`));
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  print(`Governor — ${s.month} (${s.currency}); change against ${s.previousMonth.month} in brackets\n`);
  print(
    table(
      ['figure', 'value', 'change'],
      [
        ['requested', s.requested, pct(s.change.requested)],
        ['accepted', s.accepted, ''],
        ['deferred', s.deferred, ''],
        ['suppressed', s.suppressed, pct(s.change.suppressed)],
        ['suppression rate', pct(s.suppressionRate), `${(s.change.suppressionRate * 100).toFixed(1)} pts`],
        ['avoided cost', s.avoidedCost.toFixed(2), pct(s.change.avoidedCost)],
      ],
    ),
  );
  const reasons = Object.entries(s.suppressedByReason as Record<string, number>).sort((a, b) => b[1] - a[1]);
  if (reasons.length > 0) print(`\n${table(['suppressed by reason', 'count'], reasons)}`);
  const channels = Object.entries(s.avoidedCostByChannel as Record<string, number>).map(([c, v]) => [
    c,
    v.toFixed(2),
  ]);
  if (channels.length > 0) print(`\n${table(['avoided cost by channel', s.currency], channels)}`);
} else {
  const from = values.from ?? today;
  const to = values.to ?? from;
  const query = `from=${from}&to=${to}&groupBy=${encodeURIComponent(values['group-by'] ?? '')}`;
  if (values.csv) {
    output.push(await call('GET', `/v1/reports/suppressed?${query}&format=csv`));
  } else {
    const report = JSON.parse(await call('GET', `/v1/reports/suppressed?${query}`));
    const columns: string[] = report.groupBy.map((g: string) => (g === 'campaign' ? 'campaignId' : g));
    print(`Suppressed messages ${report.period.from} … ${report.period.to} (${report.currency})\n`);
    print(
      table(
        [...columns, 'count', 'avoided cost'],
        [
          ...report.rows.map((r: Record<string, string | number>) => [
            ...columns.map((c) => String(r[c] ?? '')),
            r.count as number,
            (r.avoidedCost as number).toFixed(2),
          ]),
          [
            ...columns.map((_, i) => (i === 0 ? 'total' : '')),
            report.totals.count,
            report.totals.avoidedCost.toFixed(2),
          ],
        ],
      ),
    );
    print(`\npolicy versions: ${report.policyVersions.join(', ') || 'none'}`);
  }
}

if (values.out) writeFileSync(values.out, output.join(''));
else process.stdout.write(output.join(''));
