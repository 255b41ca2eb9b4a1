/**
 * `npm run bench:soak [-- --seconds 60 --idle-seconds 30 --max-requests 20000 --batch-concurrency 2
 *   --single-concurrency 8 --batch-size 500 --customers 50000 --instances <npm start's default>]`
 *
 * The memory of the local stack under sustained load, then idle: starts `npm start` as a child (a free
 * port, a temporary data folder, loopback only), sends batches and single messages for `--seconds` (or
 * until `--max-requests` requests), then leaves it idle for `--idle-seconds`, reading the resident
 * memory (RSS) of each of its processes twice a second. Prints, per process, RSS at start (served, before
 * any load), at its peak, at the end of the load and after the idle period; then stops the stack as
 * Ctrl-C does. A stack whose memory does not come back down when idle holds on to something per request.
 */
import { parseArgs } from 'node:util';
import { jsonClient } from './lib/http-client.ts';
import { type StackProcess, startNpmStart } from './lib/npm-start.ts';
import { BENCH_POLICY, workload } from './lib/workload.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    'idle-seconds': { type: 'string', default: '30' },
    'max-requests': { type: 'string', default: '20000' },
    'batch-concurrency': { type: 'string', default: '2' },
    'single-concurrency': { type: 'string', default: '8' },
    'batch-size': { type: 'string', default: '500' },
    customers: { type: 'string', default: '50000' },
    instances: { type: 'string' },
    seed: { type: 'string', default: '7' },
  },
});
const number = (name: keyof typeof values, min: number, max: number) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer in [${min}, ${max}]`);
  return n;
};
const seconds = number('seconds', 1, 3600);
const idleSeconds = number('idle-seconds', 0, 3600);
const maxRequests = number('max-requests', 1, 10_000_000);
const batchConcurrency = number('batch-concurrency', 0, 64);
const singleConcurrency = number('single-concurrency', 0, 256);
const batchSize = number('batch-size', 1, 500);
const customers = number('customers', 1, 10_000_000);
const seed = number('seed', 0, 2 ** 31);

const MB = 2 ** 20;
const stack = await startNpmStart({
  args: values.instances ? ['--instances', values.instances] : [],
});
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void stack.stop().finally(() => process.exit(130)));

type Sample = { at: number; processes: StackProcess[] };
const samples: Sample[] = [];
const sample = () => samples.push({ at: performance.now(), processes: stack.processes() });
const marks: Record<string, number> = {};

try {
  // Served: let the start-up settle (first imports, table and queue creation) before the baseline.
  await new Promise((r) => setTimeout(r, 2000));
  sample();
  marks.start = samples.length - 1;
  const heaps: Record<string, string[]> = { start: await stack.memoryReport() };
  const sampler = setInterval(sample, 500);

  const admin = jsonClient(stack.url, stack.adminKey, 2);
  const policy = await fetch(new URL('/v1/policy', stack.url), {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${stack.adminKey}`,
      'content-type': 'application/json',
      'if-match': '*',
    },
    body: JSON.stringify(BENCH_POLICY),
  });
  if (policy.status !== 200) throw new Error(`PUT /v1/policy: ${policy.status} ${await policy.text()}`);
  admin.close();

  const client = jsonClient(stack.url, stack.adminKey, batchConcurrency + singleConcurrency);
  const perRound = 100_000;
  const load = workload(seed, customers, perRound);
  const loadStarted = performance.now();
  const deadline = loadStarted + seconds * 1000;
  let requests = 0;
  let decisions = 0;
  let failures = 0;
  let index = 0;
  const nextMessage = (round: number) => {
    const i = index++;
    const message = load.message(`s${round}`, i % perRound, Date.now());
    return { ...message, messageId: `${message.messageId}-${Math.floor(i / perRound)}` };
  };
  const more = () => requests < maxRequests && performance.now() < deadline;
  const batchWorker = async () => {
    while (more()) {
      requests++;
      const messages = Array.from({ length: batchSize }, () => nextMessage(0));
      const out = await client.post<{ results: unknown[] }>('/v1/messages/batch', { messages });
      if (out.status === 200) decisions += out.body.results.length;
      else failures++;
    }
  };
  const singleWorker = async () => {
    while (more()) {
      requests++;
      const out = await client.post('/v1/messages', nextMessage(1));
      if (out.status === 200) decisions++;
      else failures++;
    }
  };
  await Promise.all([
    ...Array.from({ length: batchConcurrency }, batchWorker),
    ...Array.from({ length: singleConcurrency }, singleWorker),
  ]);
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  client.close();
  sample();
  marks.loadEnd = samples.length - 1;
  heaps['load end'] = await stack.memoryReport();

  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  clearInterval(sampler);
  sample();
  marks.idle = samples.length - 1;
  heaps['after idle'] = await stack.memoryReport();

  // ------------------------------------------------------------------------------------------ report
  const roles = new Map<number, string>();
  for (const s of samples) for (const p of s.processes) roles.set(p.pid, p.role);
  const rssAt = (index: number | undefined, pid: number) =>
    index === undefined ? undefined : samples[index]?.processes.find((p) => p.pid === pid)?.rssBytes;
  const peak = (pid: number) =>
    Math.max(0, ...samples.flatMap((s) => s.processes.filter((p) => p.pid === pid).map((p) => p.rssBytes)));
  const mb = (bytes: number | undefined) => (bytes === undefined ? '–' : `${(bytes / MB).toFixed(0)} MB`);
  console.log(
    `soak: ${requests} requests (${failures} failed), ${decisions} decisions in ${loadSeconds.toFixed(1)} s ` +
      `(${Math.round(decisions / loadSeconds)}/s; batches of ${batchSize} × ${batchConcurrency}, single × ${singleConcurrency}, ` +
      `${customers} customers), then ${idleSeconds} s idle; RSS per process of npm start:`,
  );
  console.log(
    `${'process'.padEnd(16)}${'pid'.padStart(8)}${'start'.padStart(10)}${'peak'.padStart(10)}${'load end'.padStart(10)}${'idle'.padStart(10)}`,
  );
  const totals = { start: 0, peak: 0, loadEnd: 0, idle: 0 };
  for (const [pid, role] of [...roles].sort((a, b) => a[0] - b[0])) {
    const row = {
      start: rssAt(marks.start, pid),
      peak: peak(pid),
      loadEnd: rssAt(marks.loadEnd, pid),
      idle: rssAt(marks.idle, pid),
    };
    totals.start += row.start ?? 0;
    totals.peak += row.peak;
    totals.loadEnd += row.loadEnd ?? 0;
    totals.idle += row.idle ?? 0;
    console.log(
      `${role.padEnd(16)}${String(pid).padStart(8)}${mb(row.start).padStart(10)}${mb(row.peak).padStart(10)}${mb(row.loadEnd).padStart(10)}${mb(row.idle).padStart(10)}`,
    );
  }
  console.log(
    `${'all'.padEnd(24)}${mb(totals.start).padStart(10)}${mb(totals.peak).padStart(10)}${mb(totals.loadEnd).padStart(10)}${mb(totals.idle).padStart(10)}` +
      '  (peak: the sum of each process’s own peak)',
  );
  // What holds the memory: the V8 heap in use (live objects and garbage not yet collected), the heap
  // V8 keeps reserved, and the rest of the RSS (code, native buffers, LevelDB, the allocator's arenas).
  for (const [when, lines] of Object.entries(heaps)) {
    console.log(`${when}, as the stack reports it (kill -USR2):`);
    for (const line of lines) console.log(`  ${line.replace(/^Memory: /, '')}`);
  }
} finally {
  await stack.stop();
  if (!stack.stoppedCleanly()) {
    console.error(`npm start did not stop cleanly:\n${stack.output.join('').slice(-4000)}`);
    process.exitCode = 1;
  }
}
