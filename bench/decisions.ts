/**
 * `npm run bench [-- --concurrency 32 --customers 5000 --decisions 20000 --batch-size 500
 *   --batch-concurrency 1 --warmup 1000 --rounds 4 --max-seconds 0 --seed 42 --sends 20
 *   --only floor,rlf,governor,engaged,unarchived,single,batch,start-single,start-batch,start-batches,
 *   item]`
 *   (also: uncounted, noop, append)
 *
 * Decisions per second, latency, DynamoDB calls and write units per decision, side by side, in one run on
 * one dynalite (in a process of its own, with fauxqs):
 * - floor: one raw conditional UpdateItem per decision (the least any store-backed decision costs);
 * - rate-limiter-flexible's RateLimiterDynamo, one fixed-window cap: what a team would otherwise use;
 * - Governor's decision path in-process (`sendMessages` on the real adapters), wired as the send handler
 *   wires it (SQS queue, deferred store, decision counter), and (on request) with a no-op queue and no
 *   counter, or the customer-item append alone; and with fatigue and a two-arm experiment in its
 *   policy whose arms decide as it does (the same decisions, with their work: `engaged`), and without
 *   the archive (`unarchived`);
 * - Governor through the local HTTP API (`startLocalStack` in a process of its own), one message per
 *   request and batches; and through `npm start` itself, the same, plus one batch in flight per API
 *   instance;
 * then the write cost of a decision on a customer with 20 recent sends.
 *
 * Every line sees the same workload on its own customer ids (so each starts from the same state), after
 * a warm-up on other ids (at most 3 s). The lines take turns, in --rounds rounds, each round a slice of
 * every line's workload, so that a noisy minute on a shared machine weighs on all of them alike. With
 * --max-seconds N a line stops starting decisions after N s (N / rounds per round), to bound a quick run; a line cut short sees fewer messages per customer than the others, so the lines
 * are then no longer strictly comparable (the report says which were cut).
 * Calls are counted by an SDK middleware on every client (each attempt of each
 * command); CPU time is read per process, so that a busy machine shows as such.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
// Only modules without side effects are imported statically; Governor's application modules load after
// the floor and rate-limiter-flexible lines (decisions/governor.ts).
import { loadConfig } from '#shared/config.ts';
import { parseCli, usageError } from '../scripts/cli.ts';
import type { Bench, BenchOptions, EngineReady, LineSpec } from './decisions/bench.ts';
import { floorLine, warmEngine } from './decisions/floor.ts';
import { startGovernor } from './decisions/governor.ts';
import { batchRequestBytes, governorHttpLines } from './decisions/http.ts';
import { inProcessLines } from './decisions/in-process.ts';
import { itemLine } from './decisions/item.ts';
import { LINES, type LineId } from './decisions/line.ts';
import { rateLimiterFlexibleLine } from './decisions/rate-limiter-flexible.ts';
import { printReport, type ReportInput } from './decisions/report.ts';
import { npmStartLines } from './decisions/through-npm-start.ts';
import { runInTurns } from './decisions/turns.ts';
import { type ArchiveBytes, measureArchive } from './lib/archive-bytes.ts';
import { startChild } from './lib/child.ts';
import { CallMeter } from './lib/meter.ts';
import { preferencesOf, workload } from './lib/workload.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The lines the figures need; `uncounted`, `noop` and `append` split Governor's cost further. */
const DEFAULT_LINES: LineId[] = [
  'floor',
  'rlf',
  'governor',
  'engaged',
  'unarchived',
  'single',
  'batch',
  'start-single',
  'start-batch',
  'start-batches',
  'item',
];

const { values } = parseCli({
  name: 'bench',
  command: 'npm run bench --',
  usage: ['[options]'],
  description:
    "Decisions per second, latency, DynamoDB calls and write units per decision: the floor, rate-limiter-flexible's\n" +
    "DynamoDB limiter and Governor's decision path (in-process and over HTTP), side by side on one dynalite.",
  options: {
    concurrency: {
      type: 'string',
      default: '32',
      placeholder: 'N',
      description: 'decisions in flight per line',
    },
    customers: { type: 'string', default: '5000', placeholder: 'N', description: 'distinct customers' },
    decisions: { type: 'string', default: '20000', placeholder: 'N', description: 'decisions per line' },
    'batch-size': {
      type: 'string',
      default: '500',
      placeholder: 'N',
      description: 'messages per batch request',
    },
    'batch-concurrency': { type: 'string', default: '1', placeholder: 'N', description: 'batches in flight' },
    warmup: {
      type: 'string',
      default: '1000',
      placeholder: 'N',
      description: 'warm-up decisions (at most 3 s)',
    },
    'max-seconds': {
      type: 'string',
      default: '0',
      placeholder: 'S',
      description: 'stop each line after S s (0: no limit)',
    },
    rounds: { type: 'string', default: '4', placeholder: 'N', description: 'rounds the lines take turns in' },
    seed: { type: 'string', default: '42', placeholder: 'N', description: 'workload seed' },
    sends: {
      type: 'string',
      default: '20',
      placeholder: 'N',
      description: 'recent sends of the item-size customer',
    },
    only: {
      type: 'string',
      default: DEFAULT_LINES.join(','),
      placeholder: 'LIST',
      description: `lines to run, among ${LINES.join(',')}`,
    },
    instances: {
      type: 'string',
      placeholder: 'N',
      description: "API instances of the npm start lines (default: npm start's own)",
    },
  },
});

function int(name: keyof typeof values, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min || n > max)
    usageError('bench', `--${name} must be an integer in [${min}, ${max}]`);
  return n;
}
function lineIds(): Set<LineId> {
  const ids = new Set(String(values.only).split(',') as LineId[]);
  for (const id of ids)
    if (!LINES.includes(id)) usageError('bench', `--only: unknown line ${id} (${LINES.join(',')})`);
  return ids;
}
const options: BenchOptions = {
  concurrency: int('concurrency', 1, 1000),
  customers: int('customers', 1),
  decisions: int('decisions', 1),
  batchSize: int('batch-size', 1, 500),
  batchConcurrency: int('batch-concurrency', 1, 100),
  warmup: int('warmup', 0),
  maxSeconds: int('max-seconds', 0, 3600),
  rounds: int('rounds', 1, 100),
  seed: int('seed', 0),
  sends: int('sends', 1, 1000),
  only: lineIds(),
  instances: values.instances,
};

// ------------------------------------------------------------------------------------------------ setup

const benchStarted = performance.now();
const loadAtStart = loadavg()[0] ?? 0;
const dataDir = await mkdtemp(join(tmpdir(), 'governor-bench-'));
const engine = await startChild<EngineReady>('./engine-process.ts', [dataDir]);
const stopAll: (() => Promise<void>)[] = [() => engine.stop()];
const cleanUp = async () => {
  for (const stop of stopAll.splice(0)) await stop().catch((error: unknown) => console.error(error));
  await rm(dataDir, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
Object.assign(process.env, engine.ready.env);
// The keyed hashes' secret of this run's roots (the HTTP process's stack makes its own).
process.env.GOVERNOR_HASH_SECRET ??= randomBytes(32).toString('base64url');
// Governor's lines archive their decisions as `npm start` does: to files in the run's data folder.
process.env.GOVERNOR_ARCHIVE_DIR ??= join(dataDir, 'archive');
const config = loadConfig(process.env);
const bench: Bench = {
  options,
  runs: (id) => options.only.has(id),
  config,
  engine,
  dynamo: new DynamoDBClient({ endpoint: engine.ready.dynamoEndpoint, region: config.AWS_REGION }),
  meter: new CallMeter(),
  load: workload(options.seed, options.customers, options.decisions),
  warm: workload(options.seed + 1, options.customers, options.warmup),
  preferences: preferencesOf(options.seed, options.customers),
  stopAll,
};
const requestBytes = batchRequestBytes(bench);

let run: Pick<ReportInput, 'lines' | 'governor' | 'avoided' | 'item'>;
let archived: ArchiveBytes | undefined;
try {
  process.stderr.write(
    `bench: ${options.decisions} decisions, ${options.customers} customers, concurrency ${options.concurrency} — engines in pid ${engine.process.pid}\n`,
  );
  bench.meter.attach(bench.dynamo, 'dynamodb');
  stopAll.push(async () => bench.dynamo.destroy());
  await warmEngine(bench);
  const specs: LineSpec[] = [];
  if (bench.runs('floor')) specs.push(floorLine(bench));
  if (bench.runs('rlf')) specs.push(await rateLimiterFlexibleLine(bench));
  const governor = await startGovernor(bench);
  const inProcess = await inProcessLines(bench, governor);
  specs.push(...inProcess.lines);
  if (bench.runs('single') || bench.runs('batch')) specs.push(...(await governorHttpLines(bench, governor)));
  if (bench.runs('start-single') || bench.runs('start-batch') || bench.runs('start-batches'))
    specs.push(...(await npmStartLines(bench, governor)));
  const lines = await runInTurns(bench, specs);
  run = {
    lines,
    governor: { policyVersion: governor.policyVersion, xrayHook: governor.xrayHook },
    avoided: inProcess.avoided,
    item: bench.runs('item') ? await itemLine(bench, governor) : undefined,
  };
} finally {
  // What the run's archive records weigh, measured before its data folder goes.
  archived = await measureArchive(process.env.GOVERNOR_ARCHIVE_DIR).catch(() => undefined);
  await cleanUp();
}

printReport({
  options,
  preferencesCount: bench.preferences.size,
  loadAtStart,
  benchStarted,
  batchRequestBytes: requestBytes,
  ...run,
  archived,
});
