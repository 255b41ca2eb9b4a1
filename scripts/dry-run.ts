/**
 * `npm run dry-run -- --policy draft.json --from 2026-11-01 --to 2026-11-30 [--json]`
 *
 * What a draft policy would have done over a period of archived traffic, against a running Governor
 * (GOVERNOR_URL, else the local stack of GOVERNOR_DATA_DIR, as `npm run report` finds it): starts a
 * dry-run, shows its progress, then a before/after table (or the result as JSON with --json).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseCli, usageError } from './cli.ts';

function localUrl(): string | undefined {
  const file = join(resolve(process.env.GOVERNOR_DATA_DIR || '.governor/'), 'endpoints.json');
  try {
    const { url } = JSON.parse(readFileSync(file, 'utf8')) as { url?: unknown };
    return typeof url === 'string' ? url : undefined;
  } catch {
    return undefined;
  }
}

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
    url: {
      type: 'string',
      placeholder: 'URL',
      default: process.env.GOVERNOR_URL || localUrl() || `http://127.0.0.1:${process.env.PORT || 3000}`,
      description: 'Governor (GOVERNOR_URL, else the local stack of GOVERNOR_DATA_DIR)',
    },
    key: {
      type: 'string',
      placeholder: 'KEY',
      description: 'an API key with policy:read (default: GOVERNOR_API_KEY or GOVERNOR_ADMIN_KEY)',
    },
  },
});
const key = values.key ?? process.env.GOVERNOR_API_KEY ?? process.env.GOVERNOR_ADMIN_KEY;
if (!key) usageError('dry-run', 'set GOVERNOR_API_KEY (a key with policy:read) or pass --key');
if (!values.policy) usageError('dry-run', 'give the draft policy: --policy FILE');
let policy: unknown;
try {
  policy = JSON.parse(readFileSync(values.policy, 'utf8'));
} catch (error) {
  usageError('dry-run', `cannot read ${values.policy} as JSON: ${(error as Error).message}`);
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON, read field by field below.
async function call(method: string, path: string, body?: unknown): Promise<{ headers: Headers; json: any }> {
  const response = await fetch(new URL(path, values.url), {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : null,
  }).catch((error: Error) => fail(`cannot reach Governor at ${values.url}: ${error.message}`));
  const text = await response.text();
  if (!response.ok) {
    let problem: { title?: string; detail?: string; errors?: { path: string; message: string }[] } = {};
    try {
      problem = JSON.parse(text);
    } catch {
      // not a problem document: its text is the detail
    }
    const details = (problem.errors ?? []).map((e) => `\n  ${e.path}: ${e.message}`).join('');
    fail(`${response.status} ${problem.title ?? ''}: ${problem.detail ?? text}${details}`);
  }
  return { headers: response.headers, json: JSON.parse(text) };
}

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [
    line(cells[0] ?? []),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.slice(1).map(line),
  ].join('\n');
}

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
  process.stdout.write(`${table(['', 'current', 'draft', 'change'], rows)}\n`);
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
      )}\n`,
    );
  }
}
