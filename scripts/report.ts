/**
 * `npm run report -- --from 2026-11-01 --to 2026-11-30 [--group-by reason,channel] [--csv]`
 * `npm run report -- --summary 2026-11`
 * `npm run report -- --reconcile 2026-11-24 [2026-11-25 …]`
 *
 * Finance's reports from the command line, against a running Governor (by default the local stack on
 * PORT or 3000). The key comes from GOVERNOR_API_KEY or GOVERNOR_ADMIN_KEY (or --key).
 */
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    'group-by': { type: 'string', default: 'reason,channel' },
    csv: { type: 'boolean', default: false },
    summary: { type: 'string' },
    reconcile: { type: 'string' },
    url: {
      type: 'string',
      default: process.env.GOVERNOR_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`,
    },
    key: { type: 'string', default: process.env.GOVERNOR_API_KEY ?? process.env.GOVERNOR_ADMIN_KEY },
  },
});

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

if (!values.key) fail('set GOVERNOR_API_KEY (a key with reports:read) or pass --key');

async function call(method: string, path: string, body?: unknown, accept = 'application/json') {
  const response = await fetch(new URL(path, values.url), {
    method,
    headers: {
      authorization: `Bearer ${values.key}`,
      accept,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : null,
  }).catch((error: Error) => fail(`cannot reach Governor at ${values.url}: ${error.message}`));
  const text = await response.text();
  if (!response.ok) {
    const problem = JSON.parse(text) as {
      title?: string;
      detail?: string;
      errors?: { path: string; message: string }[];
    };
    const details = (problem.errors ?? []).map((e) => `\n  ${e.path}: ${e.message}`).join('');
    fail(`${response.status} ${problem.title ?? ''}: ${problem.detail ?? text}${details}`);
  }
  return text;
}

/** A plain text table: left-aligned text, right-aligned numbers. */
function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === 'number'));
  const line = (r: string[]) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ');
  return [
    line(cells[0] ?? []),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.slice(1).map(line),
  ].join('\n');
}

const today = new Date().toISOString().slice(0, 10);

if (values.reconcile) {
  const days = [values.reconcile, ...positionals];
  const result = JSON.parse(await call('POST', '/v1/reports/reconcile', { days }));
  console.log(
    `Reconciled ${result.days.join(', ')} over ${result.customers} customers: ${result.inLogs} decisions in the logs, ` +
      `${result.counted} counted before, ${result.corrected} corrected.`,
  );
} else if (values.summary) {
  const s = JSON.parse(await call('GET', `/v1/reports/summary?month=${encodeURIComponent(values.summary)}`));
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  console.log(`Governor — ${s.month} (${s.currency}); change against ${s.previousMonth.month} in brackets\n`);
  console.log(
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
  if (reasons.length > 0) console.log(`\n${table(['suppressed by reason', 'count'], reasons)}`);
  const channels = Object.entries(s.avoidedCostByChannel as Record<string, number>).map(([c, v]) => [
    c,
    v.toFixed(2),
  ]);
  if (channels.length > 0) console.log(`\n${table(['avoided cost by channel', s.currency], channels)}`);
} else {
  const from = values.from ?? today;
  const to = values.to ?? from;
  const query = `from=${from}&to=${to}&groupBy=${encodeURIComponent(values['group-by'] ?? '')}`;
  if (values.csv) {
    process.stdout.write(await call('GET', `/v1/reports/suppressed?${query}&format=csv`));
  } else {
    const report = JSON.parse(await call('GET', `/v1/reports/suppressed?${query}`));
    const columns: string[] = report.groupBy.map((g: string) => (g === 'campaign' ? 'campaignId' : g));
    console.log(`Suppressed messages ${report.period.from} … ${report.period.to} (${report.currency})\n`);
    console.log(
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
    console.log(`\npolicy versions: ${report.policyVersions.join(', ') || 'none'}`);
  }
}
