/**
 * `npm run bench:delivery`: the delivery pipeline of `npm start`, measured end to end. The local stack
 * runs as `npm start` does (its own process, SQS pollers invoking the dispatch handler, release timer,
 * delivery journal), delivering to a webhook receiver in this process. N messages (default 10,000, to
 * as many customers, under a policy without caps so that all are accepted) are sent through the batch
 * API; each arrival is timed against the message's `acceptedAt` (when the send function decided it).
 *
 *   npm run bench:delivery -- [--messages 10000] [--batch 500] [--concurrency 4] [--rate 0]
 *
 * `--rate` paces the sends (messages/s, 0: as fast as the API takes them, i.e. a blast whose tail
 * waits behind the backlog). Prints accept → delivery p50/p90/p99/max and the delivered-per-second
 * rate, and writes them to bench/out/delivery.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCli, usageError } from '../scripts/cli.ts';

const { values } = parseCli({
  name: 'bench:delivery',
  command: 'npm run bench:delivery --',
  usage: ['[options]'],
  description:
    'The delivery pipeline of npm start measured end to end: messages sent through the batch API to a local\n' +
    'webhook, each arrival timed against its acceptance. Writes bench/out/delivery.json.',
  options: {
    messages: { type: 'string', default: '10000', placeholder: 'N', description: 'messages to send' },
    batch: { type: 'string', default: '500', placeholder: 'N', description: 'messages per batch request' },
    concurrency: { type: 'string', default: '4', placeholder: 'N', description: 'batches in flight' },
    rate: { type: 'string', default: '0', placeholder: 'N', description: 'messages per second (0: a blast)' },
  },
});
for (const name of ['messages', 'batch', 'concurrency', 'rate'] as const) {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < (name === 'rate' ? 0 : 1))
    usageError(
      'bench:delivery',
      `--${name} must be a ${name === 'rate' ? 'non-negative' : 'positive'} integer`,
    );
}
const MESSAGES = Number(values.messages);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);
const RATE = Number(values.rate);
const ADMIN_KEY = 'bench-delivery-admin-key-0123456789';
const SECRET = 'bench-delivery-webhook-secret-0123';

// ---------------------------------------------------------------------------------------- the receiver
const arrivals = new Map<string, { at: number; acceptedAt: number }>();
let duplicates = 0;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    const key = String(req.headers['idempotency-key']);
    if (arrivals.has(key)) duplicates++;
    else {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { acceptedAt: string };
      arrivals.set(key, { at, acceptedAt: Date.parse(body.acceptedAt) });
    }
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

// ------------------------------------------------------------------------------------------- the stack
const dataDir = await mkdtemp(join(tmpdir(), 'governor-bench-delivery-'));
// BENCH_CPU_PROF=<dir>: a CPU profile of the stack, written when it stops.
const profile = process.env.BENCH_CPU_PROF
  ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
  : [];
const child: ChildProcess = spawn(process.execPath, [...profile, '--import', 'tsx', 'local/main.ts'], {
  env: {
    ...process.env,
    PORT: '0',
    GOVERNOR_DATA_DIR: dataDir,
    GOVERNOR_ADMIN_KEY: ADMIN_KEY,
    GOVERNOR_WEBHOOK_URL: webhookUrl,
    GOVERNOR_WEBHOOK_SECRET: SECRET,
    GOVERNOR_LOG_REQUESTS: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
// The stack is this run's child: it never outlives the bench.
process.once('exit', () => child.kill('SIGKILL'));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
const url = await new Promise<string>((resolve, reject) => {
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    const match = /Governor listening on (http:\/\/\S+)/.exec(out);
    if (match?.[1] && out.includes('SQS: ')) resolve(match[1]);
  });
  child.once('exit', (code) => reject(new Error(`the local stack exited (${code}):\n${out}`)));
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(new URL(path, url), {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return { json: JSON.parse(text) as Record<string, unknown>, etag: response.headers.get('etag') };
}

const current = await call('GET', '/v1/policy');
await call(
  'PUT',
  '/v1/policy',
  {
    caps: [],
    relevance: { default: 0 },
    channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
  },
  { 'if-match': current.etag ?? '*' },
);

// ------------------------------------------------------------------------------------------- the run
const run = Date.now().toString(36);
const batches = Array.from({ length: Math.ceil(MESSAGES / BATCH) }, (_, b) =>
  Array.from({ length: Math.min(BATCH, MESSAGES - b * BATCH) }, (_, i) => {
    const n = b * BATCH + i;
    return {
      messageId: `${run}-${n}`,
      customerId: `${run}-c${n}`,
      channel: 'email',
      kind: 'transactional',
      payload: { subject: `Order ${n} shipped`, to: `customer${n}@example.com` },
    };
  }),
);
let accepted = 0;
let next = 0;
const started = Date.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < batches.length) {
      const b = next++;
      if (RATE > 0) {
        const due = started + ((b * BATCH) / RATE) * 1000;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
      const { json } = await call('POST', '/v1/messages/batch', { messages: batches[b] });
      accepted += (json.results as { decision?: string }[]).filter((r) => r.decision === 'accepted').length;
    }
  }),
);
const sentAt = Date.now();
const deadline = sentAt + 600_000;
while (arrivals.size < accepted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
const doneAt = Date.now();

// ------------------------------------------------------------------------------------------- figures
const latencies = [...arrivals.values()].map((a) => a.at - a.acceptedAt).sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
const firstAccept = Math.min(...[...arrivals.values()].map((a) => a.acceptedAt));
const lastArrival = Math.max(...[...arrivals.values()].map((a) => a.at));
const figures = {
  messages: MESSAGES,
  accepted,
  delivered: arrivals.size,
  duplicates,
  acceptPerSecond: Math.round((accepted / (sentAt - started)) * 1000),
  deliveredPerSecond: Math.round((arrivals.size / (lastArrival - firstAccept)) * 1000),
  acceptToDeliveryMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: latencies.at(-1) ?? 0 },
  wallClockMs: doneAt - started,
  rate: RATE || 'blast',
  machine: { cpus: cpus().length, node: process.version },
};
console.log(
  `${figures.delivered}/${figures.accepted} delivered (${duplicates} duplicates) in ${figures.wallClockMs} ms; ` +
    `accepted ${figures.acceptPerSecond}/s, delivered ${figures.deliveredPerSecond}/s; accept → delivery ` +
    `p50 ${figures.acceptToDeliveryMs.p50} ms, p90 ${figures.acceptToDeliveryMs.p90} ms, ` +
    `p99 ${figures.acceptToDeliveryMs.p99} ms, max ${figures.acceptToDeliveryMs.max} ms`,
);
await mkdir('bench/out', { recursive: true });
await writeFile('bench/out/delivery.json', `${JSON.stringify(figures, null, 2)}\n`);

child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
receiver.closeAllConnections();
receiver.close();
await rm(dataDir, { recursive: true, force: true });
if (arrivals.size < accepted) process.exitCode = 1;
