/**
 * The whole local stack: engines, the environment the handlers read, the HTTP server in front of the
 * handlers, and the background workers (pollers, timers) plugged in through `onStart`.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type Engines, startEngines } from './engines.ts';
import { createHttpServer } from './http-server.ts';
import { ensureLocalSecret } from './secrets.ts';

export interface LocalStack {
  url: string;
  adminKey: string;
  engines: Engines;
  /** Stops the workers, then the HTTP server, then the engines. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a background worker once the stack is up; resolves to the function that stops it. */
export type StartHook = (stack: LocalStack) => Promise<() => Promise<void>>;

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
 * Handler modules read their configuration when they are first imported, and Node imports a module once
 * per process: a second stack in the same process (a restart in a test) must therefore answer on the
 * same engine endpoints as the first, or the already loaded handlers would talk to engines that are gone.
 */
let enginePorts: { dynamoPort: number; sqsPort: number } | undefined;

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { dataDir, port = 0, host = '127.0.0.1', env = {}, onStart = [] } = options;
  const engines = await startEngines({
    dataDir,
    ...enginePorts,
    ...(env.GOVERNOR_TABLE_NAME ? { tableName: env.GOVERNOR_TABLE_NAME } : {}),
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
  });
  enginePorts = { dynamoPort: engines.dynamoPort, sqsPort: engines.sqsPort };

  const stoppers: Array<() => Promise<void>> = [];
  let server: ReturnType<typeof createHttpServer> | undefined;
  let flushCounts: (() => Promise<void>) | undefined;
  let countTimer: NodeJS.Timeout | undefined;
  const stopAll = async () => {
    const failures: unknown[] = [];
    for (const stopper of stoppers.reverse()) await stopper().catch((error: unknown) => failures.push(error));
    await server?.close().catch((error: unknown) => failures.push(error));
    // The decision counts still in memory, written once no request can add to them.
    clearInterval(countTimer);
    await flushCounts?.().catch((error: unknown) => failures.push(error));
    await engines.stop().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw new AggregateError(failures, 'the local stack did not stop cleanly');
  };

  try {
    const adminKey =
      env.GOVERNOR_ADMIN_KEY ?? process.env.GOVERNOR_ADMIN_KEY ?? randomBytes(32).toString('base64url');
    // Generated once and kept in the data folder: the keys and references already stored depend on it.
    const hashSecret =
      env.GOVERNOR_HASH_SECRET ??
      process.env.GOVERNOR_HASH_SECRET ??
      (await ensureLocalSecret(dataDir, 'hash-secret'));
    // The data folder holds the outbox file and the journal that makes the in-memory queue durable.
    const local = { GOVERNOR_DATA_DIR: dataDir, GOVERNOR_DELIVERY_JOURNAL: join(dataDir, 'journal') };
    Object.assign(process.env, engines.env, local, env, {
      GOVERNOR_ADMIN_KEY: adminKey,
      GOVERNOR_HASH_SECRET: hashSecret,
    });

    const { routes } = await import('./routes.ts');
    server = createHttpServer({
      routes,
      ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
      ...(options.logRequests !== undefined ? { logRequests: options.logRequests } : {}),
    });
    const { url } = await server.listen(port, host);
    const { getRoot } = await import('../shared/composition.ts');
    const root = getRoot();
    flushCounts = () => root.counter.flush();
    countTimer = setInterval(
      () => void root.counter.flushIfDue(),
      Math.max(100, root.config.GOVERNOR_COUNT_FLUSH_MS),
    );
    countTimer.unref();

    let stopping: Promise<void> | undefined;
    const stack: LocalStack = {
      url,
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
