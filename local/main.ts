/**
 * `npm start [-- --instances N]`: the local stack as Lambda runs it, in processes of its own so that it
 * uses the machine's cores:
 *
 * - **engines** (local/engine-process.ts): dynalite (DynamoDB, on disk in GOVERNOR_DATA_DIR, default
 *   `.governor/`) and fauxqs (SQS, in memory);
 * - **API instances** (local/api-process.ts, N of them, default {@link DEFAULT_INSTANCES}): the HTTP
 *   handlers, as Lambda instances of the HTTP functions; they share PORT (default 3000; 0 picks a free
 *   port) through Node's `cluster`, this process handing each new connection to the next instance;
 * - **workers** (local/workers-process.ts): the SQS pollers invoking the dispatch handler, the release
 *   timer every GOVERNOR_RELEASE_INTERVAL_S, and the delivery journal's recovery and sweeps.
 *
 * This process supervises them. It stops the stack cleanly on SIGINT/SIGTERM, in order — the API
 * instances finish their requests and write their counts, the workers stop and sweep the journal, the
 * engines close LevelDB — and what was still queued is re-enqueued from the journal on the next start.
 * An API instance that dies is replaced, and the workers are restarted; if the engines die, it says so
 * and exits non-zero (their in-memory queue is gone: the journal re-enqueues it at the next start).
 */
import cluster from 'node:cluster';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { consoleUrl } from '#shared/console.ts';
import type { EngineEndpoints } from './engines.ts';
import {
  type Exit,
  forkModule,
  modulePath,
  type StackChild,
  stackChild,
  typeScriptExecArgv,
} from './processes.ts';
import { ensureLocalSecret } from './secrets.ts';

/**
 * Two API instances by default, for the two cores this stack is sized for: the engines process is
 * single-threaded and takes about one core at full load, the API instances the other one between them;
 * with two, one instance's JSON and SDK work runs while the other waits on the engines, and a batch in
 * one does not hold up single messages in the other. More instances than cores only add processes
 * that compete for the same cores (`npm run bench` measures the line through `npm start`).
 */
const DEFAULT_INSTANCES = 2;
const MAX_INSTANCES = 64;
/** An API instance or the workers dying this many times within a minute is a crash loop: stop. */
const MAX_RESTARTS_PER_MINUTE = 5;

const USAGE = `usage: npm start [-- --instances N]

Runs Governor locally: the engines (dynalite, fauxqs), N API instances sharing one port (default ${DEFAULT_INSTANCES}),
and the delivery workers, each in a process of its own. PORT (default 3000), GOVERNOR_DATA_DIR (default
.governor/) and the other GOVERNOR_* variables of the README configure it. Ctrl-C stops it cleanly.`;

let values: { instances?: string | undefined; help?: boolean | undefined };
try {
  ({ values } = parseArgs({
    options: { instances: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }));
} catch (error) {
  console.error(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const instances = Number(values.instances ?? DEFAULT_INSTANCES);
if (!Number.isInteger(instances) || instances < 1 || instances > MAX_INSTANCES) {
  console.error(`--instances must be a whole number from 1 to ${MAX_INSTANCES}, got ${values.instances}`);
  process.exit(2);
}
const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number, got ${process.env.PORT}`);
  process.exit(1);
}
const dataDir = resolve(process.env.GOVERNOR_DATA_DIR || '.governor/');
const logRequests = process.env.GOVERNOR_LOG_REQUESTS !== 'false';
process.title = 'governor';

const describe = (how: Exit) => (how.signal ? `killed by ${how.signal}` : `exit code ${how.code}`);

let stopping = false;
let engines: StackChild<{ engines: EngineEndpoints }> | undefined;
let workers: StackChild<{ byChannel: Record<string, string> }> | undefined;
const api = new Map<number, StackChild<{ url: string }>>();
const restarts: number[] = [];

/**
 * Ctrl-C reaches npm, tsx, this process and its children at once (the children pass it on as a request
 * to stop), and npm and tsx relay it again: the first few copies of a signal arrive together. Only a
 * signal sent well after the first one forces an exit.
 */
const FORCE_AFTER_MS = 2000;
let firstSignalAt: number | undefined;
function shutdown(signal: NodeJS.Signals): void {
  if (firstSignalAt !== undefined) {
    if (Date.now() - firstSignalAt < FORCE_AFTER_MS) return;
    console.error(`${signal} again: exiting without a clean stop`);
    for (const child of [...api.values(), workers, engines]) child?.process.kill('SIGKILL');
    process.exit(1);
  }
  firstSignalAt = Date.now();
  console.log(`${signal} received, stopping…`);
  void stopStack().then(
    (clean) => {
      if (clean) console.log('Governor stopped');
      else console.error('Governor did not stop cleanly');
      process.exit(clean ? 0 : 1);
    },
    (error: unknown) => {
      console.error('Governor did not stop cleanly:', error);
      process.exit(1);
    },
  );
}
/** A child received a signal: the same as this process receiving it, but never a forced exit. */
function onShutdown(signal: NodeJS.Signals): void {
  if (firstSignalAt === undefined) shutdown(signal);
}
process.on('SIGINT', (signal) => shutdown(signal));
process.on('SIGTERM', (signal) => shutdown(signal));

/** `kill -USR2 <pid>`: one line per process with its memory (resident, V8 heap used and held, external). */
process.on('SIGUSR2', () => void reportMemory());
async function reportMemory(): Promise<void> {
  const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;
  const line = (name: string, pid: number | undefined, u: NodeJS.MemoryUsage | undefined) =>
    u
      ? `Memory: ${name} (pid ${pid}): rss ${mb(u.rss)}, heap used ${mb(u.heapUsed)} of ${mb(u.heapTotal)}, external ${mb(u.external)}`
      : `Memory: ${name} (pid ${pid}): no answer`;
  const children = [engines, workers, ...[...api].sort(([a], [b]) => a - b).map(([, child]) => child)];
  const usages = await Promise.all(children.map((child) => child?.memory()));
  const lines = [line('supervisor', process.pid, process.memoryUsage())];
  children.forEach((child, i) => {
    if (child) lines.push(line(child.name, child.process.pid, usages[i]));
  });
  console.log(lines.join('\n'));
}

// ---------------------------------------------------------------------------------------------- start

let adminKey: string;
let childEnv: NodeJS.ProcessEnv;
try {
  await mkdir(dataDir, { recursive: true });
  // Generated once and kept in the data folder, so that it stays valid as long as the data does.
  adminKey = process.env.GOVERNOR_ADMIN_KEY || (await ensureLocalSecret(dataDir, 'admin-key'));
  childEnv = { ...process.env, GOVERNOR_ADMIN_KEY: adminKey };
  cluster.setupPrimary({ exec: modulePath('api-process'), execArgv: typeScriptExecArgv() });
  // Every process loads its code at once; they start in order: the engines, the workers (whose
  // journal recovery must be done before any instance journals anything), the API instances.
  const enginesChild = stackChild<{ engines: EngineEndpoints }>(
    'the engines',
    forkModule('engine-process', childEnv),
    { onShutdown },
  );
  const workersChild = forkWorkers();
  const instancesForked = Array.from({ length: instances }, (_, i) => forkInstance(i + 1));
  engines = await enginesChild.start({ dataDir });
  watchEngines(engines);
  workers = await startWorkers(workersChild, { recover: true });
  await Promise.all(
    instancesForked.map(async (child, i) => api.set(i + 1, await startInstance(i + 1, child))),
  );
} catch (error) {
  console.error('Governor failed to start:', error instanceof Error ? error.message : error);
  await stopStack(5000);
  process.exit(1);
}

const url = [...api.values()][0]?.ready.url ?? '';
const endpoints = engines.ready.engines;
console.log(`Governor listening on ${url}`);
console.log(`Console: ${consoleUrl(url)}`);
console.log(`Admin key: ${adminKey}`);
console.log(`Data: ${dataDir}`);
console.log(
  `Delivery: ${Object.entries(workers.ready.byChannel)
    .map(([channel, provider]) => `${channel}→${provider}`)
    .join(', ')}`,
);
console.log(`Processes: ${processesLine()}`);
console.log(`SQS: ${endpoints.sqsEndpoint} (DLQ ${endpoints.dlqUrl})`);
// For tools that talk to this stack's engines (local/dlq.ts): where they listen now.
await writeFile(
  join(dataDir, 'endpoints.json'),
  `${JSON.stringify({ url, ...endpoints.env, pid: process.pid }, null, 2)}\n`,
);

// ------------------------------------------------------------------------------------------ processes

function processesLine(): string {
  const pids = [...api]
    .sort(([a], [b]) => a - b)
    .map(([, instance]) => instance.process.pid)
    .join(', ');
  return (
    `engines pid ${engines?.process.pid}, API ${api.size === 1 ? 'instance' : `${api.size} instances`} ` +
    `(pid ${pids}) on one port, workers pid ${workers?.process.pid}`
  );
}

function forkInstance(index: number): StackChild<{ url: string }> {
  return stackChild(`API instance ${index}`, cluster.fork(childEnv).process, { onShutdown });
}

async function startInstance(
  index: number,
  forked = forkInstance(index),
): Promise<StackChild<{ url: string }>> {
  const child = await forked.start({ dataDir, engines: engines?.ready.engines, port, logRequests });
  void child.exited.then((how) => {
    if (stopping || api.get(index) !== child) return;
    api.delete(index);
    if (!mayRestart(`API instance ${index} (pid ${child.process.pid})`, how)) return;
    console.error(
      `Governor: API instance ${index} (pid ${child.process.pid}) ${describe(how)}: replacing it`,
    );
    startInstance(index).then(
      (replacement) => {
        if (stopping) return void replacement.stop();
        api.set(index, replacement);
        console.error(`Governor: API instance ${index} replaced (pid ${replacement.process.pid})`);
      },
      (error: unknown) => fatal(`API instance ${index} could not be replaced: ${(error as Error).message}`),
    );
  });
  return child;
}

function forkWorkers(): StackChild<{ byChannel: Record<string, string> }> {
  return stackChild('the delivery workers', forkModule('workers-process', childEnv), { onShutdown });
}

async function startWorkers(
  forked: StackChild<{ byChannel: Record<string, string> }>,
  { recover }: { recover: boolean },
) {
  const child = await forked.start({ dataDir, engines: engines?.ready.engines, recover });
  void child.exited.then((how) => {
    if (stopping || workers !== child) return;
    workers = undefined;
    if (!mayRestart(`the delivery workers (pid ${child.process.pid})`, how)) return;
    console.error(
      `Governor: the delivery workers (pid ${child.process.pid}) ${describe(how)}: restarting them`,
    );
    // The engines' queue still holds what was queued: nothing to recover, the pollers take it up.
    startWorkers(forkWorkers(), { recover: false }).then(
      (restarted) => {
        if (stopping) return void restarted.stop();
        workers = restarted;
        console.error(`Governor: the delivery workers restarted (pid ${restarted.process.pid})`);
      },
      (error: unknown) => fatal(`the delivery workers could not be restarted: ${(error as Error).message}`),
    );
  });
  return child;
}

function mayRestart(name: string, how: Exit): boolean {
  const now = Date.now();
  restarts.push(now);
  while (restarts.length > 0 && (restarts[0] ?? now) < now - 60_000) restarts.shift();
  if (restarts.length <= MAX_RESTARTS_PER_MINUTE) return true;
  fatal(`${name} ${describe(how)}, the ${restarts.length}th process to die within a minute`);
  return false;
}

function watchEngines(child: StackChild<unknown>): void {
  void child.exited.then((how) => {
    if (stopping) return;
    fatal(
      `the engines process (pid ${child.process.pid}: dynalite and fauxqs) ${describe(how)}. ` +
        'DynamoDB data is on disk; what was queued for delivery is in the journal and is queued again at the next start',
    );
  });
}

/** Something the stack cannot run without is gone: say so, stop the rest quickly, exit non-zero. */
function fatal(message: string): void {
  if (stopping) return;
  console.error(`Governor: ${message}. Stopping.`);
  void stopStack(5000).finally(() => process.exit(1));
}

// ----------------------------------------------------------------------------------------------- stop

/**
 * In order: the API instances (no request is cut short, counts are written, journal segments closed),
 * then the workers (pollers and release timer stop, the journal is swept), then the engines (LevelDB
 * closed). Resolves true when every process stopped cleanly.
 */
async function stopStack(graceMs = 30_000): Promise<boolean> {
  stopping = true;
  let clean = true;
  const stop = async (child: StackChild<unknown> | undefined) => {
    if (!child) return;
    const how = await child.stop(graceMs);
    if (how.code !== 0) {
      clean = false;
      console.error(
        `Governor: ${child.name} (pid ${child.process.pid}) did not stop cleanly (${describe(how)})`,
      );
    }
  };
  await Promise.all([...api.values()].map(stop));
  await stop(workers);
  await stop(engines);
  return clean;
}
