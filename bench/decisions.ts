/**
 * `npm run bench [-- --concurrency 32 --customers 5000 --decisions 20000 --batch-size 500
 *   --batch-concurrency 1 --warmup 1000 --rounds 4 --max-seconds 0 --seed 42 --sends 20
 *   --only floor,rlf,governor,single,batch,item]` (also: uncounted, noop, append)
 *
 * Decisions per second, latency, DynamoDB calls and write units per decision, side by side, in one run on
 * one dynalite (in a process of its own, with fauxqs):
 * - floor: one raw conditional UpdateItem per decision (the least any store-backed decision costs);
 * - rate-limiter-flexible's RateLimiterDynamo, one fixed-window cap: what a team would otherwise use;
 * - Governor's decision path in-process (`sendMessages` on the real adapters), wired as the send handler
 *   wires it (SQS queue, deferred store, decision counter), and (on request) with a no-op queue and no
 *   counter, or the customer-item append alone;
 * - Governor through the local HTTP API (`startLocalStack` in a process of its own), one message per
 *   request and batches;
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
import {
  CreateTableCommand,
  DynamoDB,
  DynamoDBClient,
  GetItemCommand,
  ResourceInUseException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { RateLimiterDynamo, RateLimiterRes } from 'rate-limiter-flexible';
// Only modules without side effects are imported statically; Governor's application modules load after
// the floor and rate-limiter-flexible lines (see below).
import { blockParts, decodeBlock, decodeEntry, isBlock } from '#shared/adapters/dynamodb/entry-codec.ts';
import { wireItemSize } from '#shared/adapters/dynamodb/item-size.ts';
import { customerPk, STATE_SK } from '#shared/adapters/dynamodb/keys.ts';
import type { SendDeps } from '#shared/app/send.ts';
import { loadConfig } from '#shared/config.ts';
import {
  type DecisionResponse,
  type Message,
  type MessageInput,
  messageSchema,
  preferencesSchema,
} from '#shared/domain/schemas.ts';
import { GovernorError } from '#shared/errors.ts';
import { parseCli, usageError } from '../scripts/cli.ts';
import { addLines, LINES, type Line, type LineId } from './decisions/line.ts';
import { printReport } from './decisions/report.ts';
import { type ArchiveBytes, measureArchive } from './lib/archive-bytes.ts';
import { startChild } from './lib/child.ts';
import { type JsonClient, jsonClient } from './lib/http-client.ts';
import { addSnapshots, CallMeter, type MeterSnapshot } from './lib/meter.ts';
import { type StackProcess, startNpmStart } from './lib/npm-start.ts';
import { runClosedLoop } from './lib/run.ts';
import {
  BENCH_POLICY,
  CAMPAIGNS,
  customerId,
  parsePolicy,
  preferencesOf,
  ROOMY_POLICY,
  type Workload,
  workload,
} from './lib/workload.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The lines the issue's figures need; `uncounted`, `noop` and `append` split Governor's cost further. */
const DEFAULT_LINES: LineId[] = [
  'floor',
  'rlf',
  'governor',
  'single',
  'batch',
  'start-single',
  'start-batch',
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
const concurrency = int('concurrency', 1, 1000);
const customers = int('customers', 1);
const decisions = int('decisions', 1);
const batchSize = int('batch-size', 1, 500);
const batchConcurrency = int('batch-concurrency', 1, 100);
const warmup = int('warmup', 0);
const maxSeconds = int('max-seconds', 0, 3600);
const rounds = int('rounds', 1, 100);
const lineLimitMs = maxSeconds === 0 ? Number.POSITIVE_INFINITY : maxSeconds * 1000;
const WARM_LIMIT_MS = 3000;
const seed = int('seed', 0);
const sends = int('sends', 1, 1000);
const only = new Set(String(values.only).split(','));
for (const id of only)
  if (!LINES.includes(id as LineId)) usageError('bench', `--only: unknown line ${id} (${LINES.join(',')})`);
const runs = (id: LineId) => only.has(id);

// ------------------------------------------------------------------------------------------------ setup

const benchStarted = performance.now();
const loadAtStart = loadavg()[0] ?? 0;
const RLF_TABLE = 'bench-rate-limiter';
const dataDir = await mkdtemp(join(tmpdir(), 'governor-bench-'));
type EngineReady = { env: Record<string, string>; dynamoEndpoint: string; tableName: string };
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
const region = config.AWS_REGION;
const endpoint = engine.ready.dynamoEndpoint;
const table = config.GOVERNOR_TABLE_NAME;

/** One meter for every client of this process; reset before each measured run. */
const meter = new CallMeter();
const load = workload(seed, customers, decisions);
const warm = workload(seed + 1, customers, warmup);
const preferences = preferencesOf(seed, customers);

const lines: Line[] = [];

interface RemoteStats {
  /** The calls the far side counted, if it counts them. */
  snapshot?: MeterSnapshot | undefined;
  cpuMicros: number;
  /** When the line has engines of its own (npm start): their CPU time, instead of the bench's engines'. */
  enginesCpuMicros?: number | undefined;
  workersCpuMicros?: number | undefined;
  apiProcesses?: number | undefined;
  delivered?: number | undefined;
}
interface Remote {
  reset(): Promise<void>;
  stats(): Promise<RemoteStats>;
  /** After a line's run, outside its timing: lets the far side finish what the run left it (npm start's
   * delivery backlog), so that it does not take the next line's CPU. Resolves with how long that took. */
  settle?(): Promise<number>;
}

/** CPU time (µs) and process count of each role of `npm start`'s processes. */
const stackCpu = (processes: StackProcess[]) => {
  const byRole = new Map<string, { micros: number; processes: number }>();
  for (const p of processes) {
    const role = byRole.get(p.role) ?? { micros: 0, processes: 0 };
    role.micros += p.cpuMicros;
    role.processes++;
    byRole.set(p.role, role);
  }
  return byRole;
};

const engineCpu = async () => {
  const { cpu } = await engine.ask<{ cpu: NodeJS.CpuUsage }>({ type: 'cpu' });
  return cpu.user + cpu.system;
};

interface LineSpec {
  id: LineId;
  label: string;
  tasks: { warm: number; run: number };
  conc: number;
  task: (phase: 'warm' | 'run', i: number) => Promise<string[]>;
  remote?: Remote | undefined;
  per: string;
}
const specs: LineSpec[] = [];

/** Registers a line; every line runs later, in rounds (see `runLines`). */
function measure(
  id: LineId,
  label: string,
  tasks: { warm: number; run: number },
  conc: number,
  task: (phase: 'warm' | 'run', i: number) => Promise<string[]>,
  remote?: Remote,
  per = 'decision',
): void {
  specs.push({ id, label, tasks, conc, task, remote, per });
}

/**
 * Warms every line, then runs the lines in turn, `rounds` times, each round taking the next slice of the
 * line's workload, so that a line's figures cover the same stretches of time as the others': a shared
 * machine's slow minutes fall on every line rather than on whichever ran then. A line's figures add up
 * its rounds.
 */
async function runLines(): Promise<void> {
  for (const spec of specs) {
    if (spec.tasks.warm === 0) continue;
    process.stderr.write(`  warm-up: ${spec.label}\n`);
    await runClosedLoop(spec.tasks.warm, spec.conc, (i) => spec.task('warm', i), WARM_LIMIT_MS);
  }
  const byId = new Map<LineId, Line>();
  for (let round = 0; round < rounds; round++) {
    process.stderr.write(`  round ${round + 1}/${rounds}:`);
    for (const spec of specs) {
      const from = Math.floor((spec.tasks.run * round) / rounds);
      const to = Math.floor((spec.tasks.run * (round + 1)) / rounds);
      meter.reset();
      await spec.remote?.reset();
      const enginesBefore = await engineCpu();
      const here = process.cpuUsage();
      const result = await runClosedLoop(
        to - from,
        spec.conc,
        (i) => spec.task('run', from + i),
        lineLimitMs / rounds,
      );
      const hereUsed = process.cpuUsage(here);
      const engines = (await engineCpu()) - enginesBefore;
      const local = meter.snapshot();
      const far = await spec.remote?.stats();
      const line: Line = {
        id: spec.id,
        label: spec.label,
        result,
        meter: far?.snapshot ? addSnapshots(local, far.snapshot) : local,
        cpu: {
          here: hereUsed.user + hereUsed.system,
          api: far?.cpuMicros,
          engines: far?.enginesCpuMicros ?? engines,
          workers: far?.workersCpuMicros,
          apiProcesses: far?.apiProcesses,
        },
        per: spec.per,
        metered: far === undefined || far.snapshot !== undefined,
        delivered: far?.delivered,
      };
      const settledMs = await spec.remote?.settle?.();
      line.settleMs = settledMs;
      const before = byId.get(spec.id);
      byId.set(spec.id, before ? addLines(before, line) : line);
      process.stderr.write(
        ` ${spec.id} ${Math.round((result.decisions / result.elapsedMs) * 1000)}/s` +
          (settledMs ? ` (+${(settledMs / 1000).toFixed(1)} s delivering)` : ''),
      );
    }
    process.stderr.write('\n');
  }
  lines.push(...byId.values());
}

const decisionOf = (answer: DecisionResponse | GovernorError | undefined): string =>
  answer === undefined || answer instanceof GovernorError ? 'error' : answer.decision;

let policyVersion = 0;
let xrayHook = false;
let itemReport: string[] = [];
let twentySendUnits: number | undefined;
/** What the run's archive records weigh, measured before its data folder goes. */
let archived: ArchiveBytes | undefined;
/** What the governor line's suppressions would have cost to send (the policy's channel costs). */
const avoided = { amount: 0, decisions: 0 };
const channelCosts = parsePolicy(BENCH_POLICY).channelCosts;
/** The body of a batch request of --batch-size messages of the workload, for the API's billed requests. */
const batchRequestBytes = Buffer.byteLength(
  JSON.stringify({
    messages: Array.from({ length: batchSize }, (_, i) => load.message('cost', i % decisions, Date.now())),
  }),
);

try {
  process.stderr.write(
    `bench: ${decisions} decisions, ${customers} customers, concurrency ${concurrency} — engines in pid ${engine.process.pid}\n`,
  );

  // ------------------------------------------------------------------------------------------- floor
  const raw = new DynamoDBClient({ endpoint, region });
  meter.attach(raw, 'dynamodb');
  stopAll.push(async () => raw.destroy());
  const write = (line: string, index: number) =>
    raw.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: customerPk(customerId(line, index)) }, sk: { S: STATE_SK } },
        UpdateExpression: 'SET n = if_not_exists(n, :zero) + :one',
        ConditionExpression: 'attribute_not_exists(n) OR n < :max',
        ExpressionAttributeValues: { ':zero': { N: '0' }, ':one': { N: '1' }, ':max': { N: '1000000' } },
        ReturnValues: 'ALL_NEW',
      }),
    );
  // dynalite (JIT, LevelDB) takes a few thousand writes to reach its pace: warm it before any line.
  process.stderr.write('  engine warm-up…\n');
  await runClosedLoop(
    warmup * 3,
    concurrency,
    async (i) => {
      await write('we', i % customers);
      return [];
    },
    2 * WARM_LIMIT_MS,
  );
  if (runs('floor'))
    measure(
      'floor',
      'floor: conditional UpdateItem',
      { warm: warmup, run: decisions },
      concurrency,
      async (phase, i) => {
        await (phase === 'warm' ? write('wf', warm.customers[i]!) : write('f', load.customers[i]!));
        return ['written'];
      },
    );

  // --------------------------------------------------------------------------- rate-limiter-flexible
  if (runs('rlf')) {
    const aggregated = new DynamoDB({ endpoint, region });
    meter.attach(aggregated, 'dynamodb');
    try {
      await aggregated.send(
        new CreateTableCommand({
          TableName: RLF_TABLE,
          AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    // The same weekly limit as Governor's first cap, as one fixed window; dynalite has no UpdateTimeToLive.
    const limiter = new RateLimiterDynamo({
      storeClient: aggregated,
      tableName: RLF_TABLE,
      tableCreated: true,
      ttlSet: true,
      points: 5,
      duration: 7 * 24 * 3600,
    });
    const consume = async (key: string) => {
      try {
        await limiter.consume(key);
        return 'allowed';
      } catch (error) {
        if (error instanceof RateLimiterRes) return 'blocked';
        throw error;
      }
    };
    measure(
      'rlf',
      'rate-limiter-flexible (Dynamo)',
      { warm: warmup, run: decisions },
      concurrency,
      async (phase, i) => [
        await (phase === 'warm'
          ? consume(customerId('wr', warm.customers[i]!))
          : consume(customerId('r', load.customers[i]!))),
      ],
    );
    stopAll.push(async () => aggregated.destroy());
  }

  // ------------------------------------------------------------------------------- Governor's setup
  // The lines run in turns, so whatever Governor's modules start at import taxes every line's client
  // alike: an X-Ray SDK (as the Powertools Tracer loads) would enable an async hook on every promise of
  // the process, +25-30% CPU per call; the report says whether one is active.
  const { createRoot } = await import('#shared/composition.ts');
  const { sendMessages } = await import('#shared/app/send.ts');
  const { mapLimit } = await import('#shared/app/per-customer.ts');
  xrayHook = Object.keys((process as { namespaces?: object }).namespaces ?? {}).includes('AWSXRay');
  const root = createRoot(config);
  meter.attach(root.db, 'dynamodb');
  meter.attach(root.sqs, 'sqs');
  const storePolicy = async (document: typeof BENCH_POLICY) => {
    const stored = await root.policyStore.put(parsePolicy(document), '*', 'bench', Date.now());
    if (!stored) throw new Error('the policy was not stored');
    return stored;
  };
  policyVersion = (await storePolicy(BENCH_POLICY)).version;

  /** Gives the line's customers their preferences, through the customer log as the preferences API does. */
  const seedPreferences = async (line: string) => {
    await mapLimit([...preferences], concurrency, ([index, p]) => {
      const now = Date.now();
      const entry = { type: 'preferences' as const, at: now, preferences: preferencesSchema.parse(p) };
      return root.customers.append(customerId(line, index), [entry], now);
    });
  };
  const messagesOf = (w: Workload, line: string, count: number): Message[] => {
    const now = Date.now();
    return Array.from({ length: count }, (_, i) => messageSchema.parse(w.message(line, i, now)));
  };
  const inputsOf = (w: Workload, line: string, count: number): MessageInput[] => {
    const now = Date.now();
    return Array.from({ length: count }, (_, i) => w.message(line, i, now));
  };

  // ------------------------------------------------------------------------------ Governor in-process
  /** A line that takes each message in this process: by `sendMessages` on `deps`, or by `take`. */
  const inProcess = async (
    id: LineId,
    line: string,
    label: string,
    deps: SendDeps,
    take = async (message: Message) => decisionOf((await sendMessages(deps, [message]))[0]),
  ) => {
    await seedPreferences(line);
    const warmMessages = messagesOf(warm, `w${line}`, warmup);
    const messages = messagesOf(load, line, decisions);
    measure(id, label, { warm: warmup, run: decisions }, concurrency, async (phase, i) => [
      await take((phase === 'warm' ? warmMessages[i] : messages[i]) as Message),
    ]);
  };
  // As functions/send/handler.ts wires it (less its metrics): the root's queue, deferred store, counter.
  const handlerDeps: SendDeps = { ...root };
  if (runs('governor'))
    await inProcess('governor', 'g', 'governor in-process, as wired', handlerDeps, async (message) => {
      const [answer] = await sendMessages(handlerDeps, [message]);
      avoided.decisions++;
      if (answer && !(answer instanceof GovernorError) && answer.decision === 'suppressed')
        avoided.amount += channelCosts[answer.channel];
      return decisionOf(answer);
    });
  if (runs('uncounted'))
    await inProcess('uncounted', 'u', 'governor in-process, counting off', {
      ...handlerDeps,
      counter: undefined,
    });
  if (runs('noop'))
    await inProcess('noop', 'n', 'governor in-process, no queue/counter', {
      ...handlerDeps,
      queue: { enqueue: async () => {} },
      counter: undefined,
    });

  // The customer-item write alone (append and read back, no replay, decision, queue or count): what the
  // store costs over the floor's UpdateItem.
  if (runs('append'))
    await inProcess('append', 'a', 'governor append only', handlerDeps, async (message) => {
      const now = Date.now();
      const entry = root.customers.messageEntry(message, now, policyVersion);
      await root.customerStore.append(message.customerId, [entry], now);
      return 'appended';
    });

  // ------------------------------------------------------------------------------------ Governor HTTP
  type Answer = DecisionResponse & { status?: number };
  /** One message a request and batches, over HTTP, as a campaign platform calls the API. */
  const httpLines = async (
    ids: { single: LineId; batch: LineId; prefix: string; label: string },
    http: JsonClient,
    remote: Remote,
    seed: (line: string) => Promise<void>,
  ) => {
    if (runs(ids.single)) {
      await seed(`${ids.prefix}h`);
      const warmInputs = inputsOf(warm, `w${ids.prefix}h`, warmup);
      const inputs = inputsOf(load, `${ids.prefix}h`, decisions);
      measure(
        ids.single,
        `${ids.label}, 1 message/request`,
        { warm: warmup, run: decisions },
        concurrency,
        async (phase, i) => {
          const body = phase === 'warm' ? warmInputs[i] : inputs[i];
          const response = await http.post<Answer>('/v1/messages', body);
          return [response.status === 200 ? response.body.decision : 'error'];
        },
        remote,
        'request',
      );
    }
    if (runs(ids.batch)) {
      await seed(`${ids.prefix}b`);
      const chunks = (all: MessageInput[]) =>
        Array.from({ length: Math.ceil(all.length / batchSize) }, (_, i) =>
          all.slice(i * batchSize, (i + 1) * batchSize),
        );
      const warmBatches = chunks(inputsOf(warm, `w${ids.prefix}b`, warmup));
      const batches = chunks(inputsOf(load, `${ids.prefix}b`, decisions));
      measure(
        ids.batch,
        `${ids.label}, batch of ${batchSize}`,
        { warm: warmBatches.length, run: batches.length },
        batchConcurrency,
        async (phase, i) => {
          const messages = (phase === 'warm' ? warmBatches[i] : batches[i]) as MessageInput[];
          const response = await http.post<{ results: Answer[] }>('/v1/messages/batch', { messages });
          if (response.status !== 200) return messages.map(() => 'error');
          return response.body.results.map((r) => (r.status === undefined ? r.decision : 'error'));
        },
        remote,
        `request of ${batchSize}`,
      );
    }
  };

  if (runs('single') || runs('batch')) {
    type HttpReady = { url: string; adminKey: string };
    const server = await startChild<HttpReady>('./http-process.ts', [JSON.stringify(engine.ready.env)]);
    stopAll.unshift(() => server.stop());
    const remote: Remote = {
      reset: () => server.ask<unknown>({ type: 'reset' }).then(() => {}),
      stats: () => server.ask<{ snapshot: MeterSnapshot; cpuMicros: number }>({ type: 'stats' }),
    };
    const http = jsonClient(server.ready.url, server.ready.adminKey, Math.max(concurrency, batchConcurrency));
    stopAll.unshift(async () => http.close());
    await httpLines(
      { single: 'single', batch: 'batch', prefix: '', label: 'governor HTTP' },
      http,
      remote,
      seedPreferences,
    );
  }

  // ------------------------------------------------------------------------------- through npm start
  // `npm start` itself as a child (a free port, a temporary data folder), with its own engines, API
  // instances and delivery workers, driven over HTTP: what a user of the local stack gets. Its
  // preferences and policy go through the API; its CPU time is read per process from /proc.
  if (runs('start-single') || runs('start-batch')) {
    process.stderr.write('  starting npm start…\n');
    const stack = await startNpmStart({ args: values.instances ? ['--instances', values.instances] : [] });
    stopAll.unshift(async () => {
      await stack.stop();
      if (!stack.stoppedCleanly()) console.error(`npm start did not stop cleanly:\n${stack.output.join('')}`);
    });
    const http = jsonClient(stack.url, stack.adminKey, Math.max(concurrency, batchConcurrency));
    stopAll.unshift(async () => http.close());
    const call = async (method: string, path: string, body: unknown) => {
      const response = await fetch(new URL(path, stack.url), {
        method,
        headers: {
          authorization: `Bearer ${stack.adminKey}`,
          'content-type': 'application/json',
          'if-match': '*',
        },
        body: JSON.stringify(body),
      });
      if (response.status !== 200)
        throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    };
    await call('PUT', '/v1/policy', BENCH_POLICY);
    const seedOverHttp = async (line: string) => {
      await mapLimit([...preferences], concurrency, ([index, p]) =>
        call('PUT', `/v1/customers/${customerId(line, index)}/preferences`, p),
      );
    };
    let before = stackCpu(stack.processes());
    let deliveredBefore = 0;
    const remote: Remote = {
      async reset() {
        before = stackCpu(stack.processes());
        deliveredBefore = await stack.delivered();
      },
      async stats() {
        const now = stackCpu(stack.processes());
        const delta = (role: string) => (now.get(role)?.micros ?? 0) - (before.get(role)?.micros ?? 0);
        const delivered = (await stack.delivered()) - deliveredBefore;
        return {
          cpuMicros: delta('api'),
          enginesCpuMicros: delta('engines'),
          workersCpuMicros: delta('workers'),
          apiProcesses: now.get('api')?.processes,
          delivered,
        };
      },
      async settle() {
        // Delivery is done when the outbox stops growing for 1.5 s (at most two minutes).
        const started = performance.now();
        let last = await stack.delivered();
        let still = 0;
        while (still < 1500 && performance.now() - started < 120_000) {
          await new Promise((r) => setTimeout(r, 250));
          const now = await stack.delivered();
          still = now === last ? still + 250 : 0;
          last = now;
        }
        return Math.max(0, performance.now() - started - still);
      },
    };
    await httpLines(
      { single: 'start-single', batch: 'start-batch', prefix: 's', label: 'npm start' },
      http,
      remote,
      seedOverHttp,
    );
  }

  await runLines();

  // ------------------------------------------------------------------------ a customer with 20 sends
  if (runs('item')) {
    process.stderr.write(`  item of a customer with ${sends} recent sends…\n`);
    const roomy = await storePolicy(ROOMY_POLICY);
    // A fresh root, so that its policy cache reads the roomy version at once; its clock spaces the sends
    // over the week as a customer's arrive (every 8 hours), since an entry's time is part of its size.
    let now = Date.now();
    const SPACING_MS = 8 * 3_600_000;
    const fresh = createRoot(config, { now: () => now });
    meter.attach(fresh.db, 'dynamodb');
    meter.attach(fresh.sqs, 'sqs');
    const deps: SendDeps = { ...fresh };
    const id = customerId('item', 0);
    const message = (k: number) =>
      messageSchema.parse({
        messageId: `item-${k}`,
        customerId: id,
        channel: 'email',
        category: 'promotions',
        campaignId: CAMPAIGNS[k % CAMPAIGNS.length],
        relevance: 0.9,
        payload: { template: 'x' },
      });
    let accepted = 0;
    for (let k = 0; k < sends; k++) {
      const [answer] = await sendMessages(deps, [message(k)]);
      if (decisionOf(answer) === 'accepted') accepted++;
      now += SPACING_MS;
    }
    const stored = await raw.send(
      new GetItemCommand({
        TableName: table,
        Key: { pk: { S: customerPk(id) }, sk: { S: STATE_SK } },
        ConsistentRead: true,
      }),
    );
    const storedBytes = stored.Item ? wireItemSize(stored.Item) : 0;
    // The log: the compacted block (words, base, then a settled entry a line) and the entries since.
    const elements = (stored.Item?.l?.L ?? []).map((v) => v.S ?? '');
    const block = isBlock(elements[0] ?? '') ? elements[0] : undefined;
    const appended = block === undefined ? elements : elements.slice(1);
    const parts = block === undefined ? undefined : blockParts(block);
    const header = block === undefined ? '' : (block.split('\n', 1)[0] ?? '');
    const settledLines = parts?.lines ?? [];
    const log = [...settledLines, ...appended];
    const entries = [
      ...(block === undefined ? [] : decodeBlock(block).entries),
      ...appended.map(decodeEntry),
    ];
    const kinds = new Map<string, number>();
    const letter = {
      settled: 's',
      folded: '*',
      message: 'm',
      preferences: 'p',
      feedback: 'f',
      release: 'r',
      engagement: 'g',
      cancel: 'c',
    };
    for (const entry of entries) kinds.set(letter[entry.type], (kinds.get(letter[entry.type]) ?? 0) + 1);
    const logBytes = elements.reduce((n, s) => n + 1 + Buffer.byteLength(s), 3);
    const lineBytes = settledLines.reduce((n, s) => n + 1 + Buffer.byteLength(s), 0);
    const attributes = Object.entries(stored.Item ?? {})
      .map(([name, value]) => [name, wireItemSize({ [name]: value })] as const)
      .sort((x, y) => y[1] - x[1])
      .map(([name, bytes]) => `${name} ${bytes}`)
      .join(', ');
    // What the next decision writes itself: the finance counts it adds to are written once a second (or
    // per invocation) for all decisions, and the policy is read once per TTL, so both are done before.
    await fresh.counter.flush();
    await fresh.policies.current();
    meter.reset();
    const [next] = await sendMessages(deps, [message(sends)]);
    const written = meter.snapshot();
    twentySendUnits = written.writeUnits;
    const byCall = (m: Record<string, number>) =>
      Object.entries(m)
        .map(([k, n]) => `${n} ${k.replace(/Command$/, '')}`)
        .join(', ');
    itemReport = [
      `Item of a customer with ${sends} recent accepted sends, ${SPACING_MS / 3_600_000} h apart (policy v${roomy.version} allows them: ${accepted}/${sends} accepted; ${Math.min(sends, CAMPAIGNS.length)} campaigns, ids of ${CAMPAIGNS[0]?.length} chars):`,
      `  as stored: ${storedBytes} B, of which the log ${logBytes} B: ${log.length} entries (${[...kinds].map(([k, n]) => `${n} '${k}'`).join(', ')}); the block's words ${Buffer.byteLength(header)} B, its settled entries ${(lineBytes / Math.max(1, settledLines.length)).toFixed(1)} B each; by attribute (name + value, B): ${attributes}`,
      `  decision ${sends + 1} (${decisionOf(next)}): calls ${byCall(written.calls)}; customer item written at ${written.itemBytesMax} B; write units ${byCall(written.writeUnitsByCall)} = ${written.writeUnits}`,
      `  the block's words: ${header}`,
      `  settled entries: ${settledLines.slice(0, 3).join('  ')}`,
      `  a message entry: ${log.find((e) => e.startsWith('m|')) ?? ''}`,
    ];
  }
} finally {
  archived = await measureArchive(process.env.GOVERNOR_ARCHIVE_DIR).catch(() => undefined);
  await cleanUp();
}

printReport({
  lines,
  decisions,
  customers,
  preferencesCount: preferences.size,
  concurrency,
  batchSize,
  batchConcurrency,
  warmup,
  warmLimitMs: WARM_LIMIT_MS,
  maxSeconds,
  seed,
  sends,
  instances: values.instances,
  loadAtStart,
  benchStarted,
  policyVersion,
  xrayHook,
  itemReport,
  twentySendUnits,
  archived,
  avoided,
  channelCosts,
  batchRequestBytes,
});
