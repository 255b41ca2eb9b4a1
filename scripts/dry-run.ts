/**
 * `npm run dry-run -- --policy draft.json --from 2026-11-01 --to 2026-11-30 [--json]`
 *
 * What a draft policy would have done over a period of archived traffic, against a running Governor
 * (GOVERNOR_URL, else the local stack of GOVERNOR_DATA_DIR, as `npm run report` finds it): starts a
 * dry-run, shows its progress, then a before/after table (or the result as JSON with --json).
 */
import { readFileSync } from 'node:fs';
import { parseCli, usageError } from './cli.ts';
import { apiKeyOf, fail, governorApi, serverOptions, table } from './governor-api.ts';

const today = new Date().toISOString().slice(0, 10);
const { values } = parseCli({
  name: 'dry-run',
  command: 'npm run dry-run --',
  usage: ['--policy FILE [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json]'],
  description:
    'Replays the archived traffic of a period (at most 31 days) with the policy versions in force and with a\n' +
    'draft policy, through the real engine, and prints what each would have decided.',
  options: {
    policy: { type: 'string', placeholder: 'FILE', description: 'the draft policy (a whole document, JSON)' },
    from: {
      type: 'string',
      placeholder: 'YYYY-MM-DD',
      description: 'first UTC day, or an instant (default: today)',
    },
    to: {
      type: 'string',
      placeholder: 'YYYY-MM-DD',
      description: 'last UTC day, or an instant (default: --from)',
    },
    json: { type: 'boolean', default: false, description: 'print the result as JSON' },
    ...serverOptions('policy:read'),
  },
});
const request = governorApi(values.url, apiKeyOf('dry-run', values.key, 'policy:read'));
if (!values.policy) usageError('dry-run', 'give the draft policy: --policy FILE');
let policy: unknown;
try {
  policy = JSON.parse(readFileSync(values.policy, 'utf8'));
} catch (error) {
  usageError('dry-run', `cannot read ${values.policy} as JSON: ${(error as Error).message}`);
}

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON, read field by field below.
async function call(method: string, path: string, body?: unknown): Promise<{ headers: Headers; json: any }> {
  const { headers, text } = await request(method, path, body);
  return { headers, json: JSON.parse(text) };
}

/** Text in the first column, figures right-aligned in the others. */
const figuresRight = (column: number) => column > 0;

const from = values.from ?? today;
const to = values.to ?? from;
const started = await call('POST', '/v1/policy/dry-runs', { policy, from, to });
const location = started.headers.get('location') ?? `/v1/policy/dry-runs/${started.json.id}`;
const bar = process.stderr.isTTY === true;
let job = started.json;
for (;;) {
  job = (await call('GET', location)).json;
  const { events, totalEvents } = job.progress;
  if (bar) {
    const share = totalEvents === 0 ? (job.status === 'done' ? 1 : 0) : events / totalEvents;
    const filled = Math.round(share * 30);
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${events}/${totalEvents} events  ${job.status}`,
    );
  }
  if (job.status === 'done' || job.status === 'failed') break;
  await new Promise((r) => setTimeout(r, 500));
}
if (bar) process.stderr.write('\n');
if (job.status === 'failed') fail(`the dry-run failed: ${job.error ?? 'see the logs'}`);
const result = job.result;
if (values.json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  const { current, draft } = result;
  const delta = (a: number, b: number) => (b - a >= 0 ? `+${b - a}` : String(b - a));
  const money = (x: number) => x.toFixed(2);
  const rows: (string | number)[][] = [
    ['accepted', current.accepted, draft.accepted, delta(current.accepted, draft.accepted)],
    ['deferred', current.deferred, draft.deferred, delta(current.deferred, draft.deferred)],
    ['suppressed', current.suppressed, draft.suppressed, delta(current.suppressed, draft.suppressed)],
  ];
  for (const reason of [
    ...new Set([...Object.keys(current.byReason), ...Object.keys(draft.byReason)]),
  ].sort()) {
    const a = current.byReason[reason] ?? 0;
    const b = draft.byReason[reason] ?? 0;
    rows.push([`  ${reason}`, a, b, delta(a, b)]);
  }
  rows.push(
    [
      `avoided cost (${draft.currency})`,
      money(current.avoidedCost),
      money(draft.avoidedCost),
      money(draft.avoidedCost - current.avoidedCost),
    ],
    [
      'mean relevance delivered',
      current.meanRelevanceDelivered ?? 'n/a',
      draft.meanRelevanceDelivered ?? 'n/a',
      '',
    ],
    ['accepted / customer / week p50', current.perCustomerPerWeek.p50, draft.perCustomerPerWeek.p50, ''],
    ['accepted / customer / week p90', current.perCustomerPerWeek.p90, draft.perCustomerPerWeek.p90, ''],
    ['accepted / customer / week max', current.perCustomerPerWeek.max, draft.perCustomerPerWeek.max, ''],
  );
  process.stdout.write(
    `Dry-run ${result.from} … ${result.to}: ${result.events} archived events replayed\n\n`,
  );
  process.stdout.write(`${table(['', 'current', 'draft', 'change'], rows, figuresRight)}\n`);
  if (result.mostAffected.length > 0) {
    process.stdout.write(
      `\n${table(
        ['most affected (pseudonym)', 'accepted before', 'after'],
        result.mostAffected.map(
          (c: { pseudonym: string; before: { accepted: number }; after: { accepted: number } }) => [
            c.pseudonym,
            c.before.accepted,
            c.after.accepted,
          ],
        ),
        figuresRight,
      )}\n`,
    );
  }
}
