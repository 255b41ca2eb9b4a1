/**
 * The parts of the local stack a process runs: the environment the handlers read (`localEnvironment`),
 * the HTTP server in front of them (`startApi`: what each API instance of `npm start` runs), and, for
 * tests and tools that want everything in one process, `startLocalStack`: engines, API and the
 * background workers (pollers, timers) plugged in through `onStart`. `npm start` (local/main.ts) runs
 * the same parts in processes of their own.
 */
import { join } from 'node:path';
import { type EngineEndpoints, type Engines, startEngines } from './engines.ts';
import { createHttpServer } from './http-server.ts';
import { ensureLocalSecret } from './secrets.ts';

export interface LocalStack {
  url: string;
  adminKey: string;
  engines: Engines;
  /** Stops the HTTP server, then the workers, then the engines. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a background worker once the engines are up; resolves to the function that stops it. */
export type StartHook = (stack: { engines: EngineEndpoints }) => Promise<() => Promise<void>>;

export interface LocalStackOptions {
  dataDir: string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Extra variables for the handlers; they win over the engines' ones. */
  env?: Record<string, string>;
  onStart?: StartHook[];
  maxBodyBytes?: number;
  logRequests?: boolean;
}

/**
 * Sets the variables the handlers of this process read (they read them once, when first imported): the
 * engines' endpoints, the data folder's outbox and delivery journal, `env`, and the bootstrap admin key
 * (GOVERNOR_ADMIN_KEY, else the one kept in the data folder). Returns the admin key.
 */
export async function localEnvironment(
  dataDir: string,
  engines: Pick<EngineEndpoints, 'env'>,
  env: Record<string, string> = {},
): Promise<string> {
  // Generated once and kept in the data folder, so that they stay valid as long as the data does: the
  // admin key, and the hash secret every stored idempotency key and keyed reference depends on.
  const adminKey =
    env.GOVERNOR_ADMIN_KEY ??
    (process.env.GOVERNOR_ADMIN_KEY || (await ensureLocalSecret(dataDir, 'admin-key')));
  const hashSecret =
    env.GOVERNOR_HASH_SECRET ??
    (process.env.GOVERNOR_HASH_SECRET || (await ensureLocalSecret(dataDir, 'hash-secret')));
  // The data folder holds the outbox file and the journal that makes the in-memory queue durable.
  const local = {
    GOVERNOR_DATA_DIR: dataDir,
    GOVERNOR_DELIVERY_JOURNAL: join(dataDir, 'journal'),
    GOVERNOR_ARCHIVE_DIR: join(dataDir, 'archive'),
    // A local API process keeps running after it answers: its archive records follow the answer,
    // lingering up to 50 ms to share a write with the next answers', and are drained when it stops.
    GOVERNOR_ARCHIVE_SETTLE: 'after-answer',
    GOVERNOR_ARCHIVE_LINGER_MS: process.env.GOVERNOR_ARCHIVE_LINGER_MS ?? '50',
  };
  Object.assign(process.env, engines.env, local, env, {
    GOVERNOR_ADMIN_KEY: adminKey,
    GOVERNOR_HASH_SECRET: hashSecret,
  });
  return adminKey;
}

export interface ApiOptions {
  /** 0 (default) picks a free port; in a cluster worker, the port all instances share. */
  port?: number;
  host?: string;
  maxBodyBytes?: number;
  logRequests?: boolean;
}

export interface Api {
  url: string;
  /** Stops accepting requests, lets in-flight ones finish, writes the decision counts still in memory
   * and closes the journal's live segment. Idempotent. */
  stop(): Promise<void>;
}

/** The HTTP API of this process, on the environment `localEnvironment` set. */
export async function startApi(options: ApiOptions = {}): Promise<Api> {
  const { routes } = await import('./routes.ts');
  const server = createHttpServer({
    routes,
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    ...(options.logRequests !== undefined ? { logRequests: options.logRequests } : {}),
  });
  const { url } = await server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  const { getRoot } = await import('../shared/composition.ts');
  const root = getRoot();
  const countTimer = setInterval(
    () => void root.counter.flushIfDue(),
    Math.max(100, root.config.GOVERNOR_COUNT_FLUSH_MS),
  );
  countTimer.unref();
  let stopping: Promise<void> | undefined;
  const stopAll = async () => {
    const failures: unknown[] = [];
    await server.close().catch((error: unknown) => failures.push(error));
    // The decision counts still in memory, written once no request can add to them.
    clearInterval(countTimer);
    await root.counter.flush().catch((error: unknown) => failures.push(error));
    await root.archive?.drain();
    await root.journal?.close().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw new AggregateError(failures, 'the API did not stop cleanly');
  };
  return {
    url,
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };
}

/**
 * Handler modules read their configuration when they are first imported, and Node imports a module once
 * per process: a second stack in the same process (a restart in a test) must therefore answer on the
 * same engine endpoints as the first, or the already loaded handlers would talk to engines that are gone.
 */
let enginePorts: { dynamoPort: number; sqsPort: number } | undefined;

/** Everything in this process: engines, API, then the `onStart` workers. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { dataDir, env = {}, onStart = [] } = options;
  const engines = await startEngines({
    dataDir,
    ...enginePorts,
    ...(env.GOVERNOR_TABLE_NAME ? { tableName: env.GOVERNOR_TABLE_NAME } : {}),
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
  });
  enginePorts = { dynamoPort: engines.dynamoPort, sqsPort: engines.sqsPort };

  const stoppers: Array<() => Promise<void>> = [];
  let api: Api | undefined;
  const stopAll = async () => {
    const failures: unknown[] = [];
    await api?.stop().catch((error: unknown) => failures.push(error));
    for (const stopper of stoppers.reverse()) await stopper().catch((error: unknown) => failures.push(error));
    await engines.stop().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw new AggregateError(failures, 'the local stack did not stop cleanly');
  };

  try {
    const adminKey = await localEnvironment(dataDir, engines, env);
    api = await startApi({
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
      ...(options.logRequests !== undefined ? { logRequests: options.logRequests } : {}),
    });
    let stopping: Promise<void> | undefined;
    const stack: LocalStack = {
      url: api.url,
      adminKey,
      engines,
      stop() {
        stopping ??= stopAll();
        return stopping;
      },
    };
    for (const start of onStart) stoppers.push(await start(stack));
    return stack;
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
}
