/**
 * The embedded engines of local mode: dynalite (DynamoDB API, LevelDB on disk under the data folder, so
 * state survives restarts) and fauxqs (SQS API, in memory). Starts both, creates the table and queues,
 * and hands back the environment a handler process needs to reach them.
 */
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { configSchema } from '#shared/config.ts';
import { ensureQueues, ensureTable } from './resources.ts';

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  maxItemSizeKb?: number;
}
// dynalite is CommonJS without type declarations.
const requireCjs = createRequire(import.meta.url);
const dynalite = requireCjs('dynalite') as (options?: DynaliteOptions) => Server;
/** dynalite's own LevelDB binding, resolved from dynalite so that it is the very version it uses. */
const { Level } = createRequire(requireCjs.resolve('dynalite'))('level') as {
  Level: new (
    location: string,
  ) => {
    open(): Promise<void>;
    close(): Promise<void>;
    compactRange(start: string, end: string): Promise<void>;
  };
};

/**
 * dynalite 4.0.0 reads every Query and Scan through a stream over an abstract-level iterator, and ends
 * it by calling `iterator.return()`, which abstract-level 3's iterators do not have (theirs is
 * `close()`): every Query and Scan left its LevelDB iterator open, held by the database's set of open
 * resources and never collected, each pinning the memtables and tables of its moment. Under a steady
 * load that grew the engines by gigabytes, and stayed when idle. Give the iterators the `return()`
 * dynalite calls (the async-iterator protocol's own name for "stop and free").
 */
function closeIteratorsOnReturn(): void {
  const fromLevel = createRequire(createRequire(requireCjs.resolve('dynalite')).resolve('level'));
  const abstractLevel = createRequire(fromLevel.resolve('classic-level'))('abstract-level') as Record<
    string,
    { prototype: { close(): Promise<void>; return?: () => Promise<IteratorReturnResult<undefined>> } }
  >;
  for (const name of ['AbstractIterator', 'AbstractKeyIterator', 'AbstractValueIterator']) {
    const prototype = abstractLevel[name]?.prototype;
    if (!prototype || prototype.return) continue;
    prototype.return = async function (this: { close(): Promise<void> }) {
      await this.close();
      return { done: true, value: undefined };
    };
  }
}
closeIteratorsOnReturn();

const HOST = '127.0.0.1';
/** Not secrets: the engines accept any credentials, but the SDK refuses to sign without some. */
const DUMMY_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface EnginesOptions {
  /** The data folder; DynamoDB data lives in `<dataDir>/dynamodb`. */
  dataDir: string;
  /** 0 (default) picks a free port. */
  dynamoPort?: number;
  sqsPort?: number;
  /** Default: GOVERNOR_TABLE_NAME from process.env, else `governor`. */
  tableName?: string;
  /** Default: AWS_REGION from process.env, else `us-east-1`. */
  region?: string;
  /**
   * How long to wait for the DynamoDB data to be free when another process holds it (the engines of a
   * stack whose supervisor was just killed close it as they exit). Default 0: fail at once.
   */
  lockWaitMs?: number;
}

export interface Engines {
  dynamoEndpoint: string;
  sqsEndpoint: string;
  dynamoPort: number;
  sqsPort: number;
  tableName: string;
  deliveryQueueUrl: string;
  dlqUrl: string;
  /** The variables a handler process needs to use these engines. */
  env: Record<string, string>;
  /** Closes both engines; dynalite flushes and closes LevelDB. Idempotent. */
  stop(): Promise<void>;
}

/** What another process needs to reach the engines (an `Engines` without its `stop`). */
export type EngineEndpoints = Omit<Engines, 'stop'>;

export async function startEngines(options: EnginesOptions): Promise<Engines> {
  const tableName =
    options.tableName ?? configSchema.shape.GOVERNOR_TABLE_NAME.parse(process.env.GOVERNOR_TABLE_NAME);
  const region = options.region ?? configSchema.shape.AWS_REGION.parse(process.env.AWS_REGION);
  const dynamoDir = join(options.dataDir, 'dynamodb');
  await mkdir(dynamoDir, { recursive: true });
  await assertDatabaseOpens(dynamoDir, options.lockWaitMs ?? 0);

  const dynamoServer = dynalite({ path: dynamoDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let fauxqs: FauxqsServer | undefined;
  const stopAll = async () => {
    const results = await Promise.allSettled([
      closeDynalite(dynamoServer).then(() => compactDatabase(dynamoDir)),
      fauxqs?.stop(),
    ]);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  };

  try {
    const dynamoPort = await listen(dynamoServer, options.dynamoPort ?? 0);
    fauxqs = await startFauxqs({
      port: options.sqsPort ?? 0,
      host: HOST,
      logger: false,
      defaultRegion: region,
    });
    const dynamoEndpoint = `http://${HOST}:${dynamoPort}`;
    const sqsEndpoint = `http://${HOST}:${fauxqs.port}`;

    const dynamo = new DynamoDBClient({ endpoint: dynamoEndpoint, region, credentials: DUMMY_CREDENTIALS });
    const sqs = new SQSClient({ endpoint: sqsEndpoint, region, credentials: DUMMY_CREDENTIALS });
    try {
      await ensureTable(dynamo, tableName);
      const { deliveryQueueUrl, dlqUrl } = await ensureQueues(sqs);
      let stopping: Promise<void> | undefined;
      return {
        dynamoEndpoint,
        sqsEndpoint,
        dynamoPort,
        sqsPort: fauxqs.port,
        tableName,
        deliveryQueueUrl,
        dlqUrl,
        env: {
          GOVERNOR_TABLE_NAME: tableName,
          GOVERNOR_DYNAMODB_ENDPOINT: dynamoEndpoint,
          GOVERNOR_SQS_ENDPOINT: sqsEndpoint,
          GOVERNOR_DELIVERY_QUEUE_URL: deliveryQueueUrl,
          GOVERNOR_DLQ_URL: dlqUrl,
          AWS_REGION: region,
          AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
        },
        stop() {
          stopping ??= stopAll();
          return stopping;
        },
      };
    } finally {
      dynamo.destroy();
      sqs.destroy();
    }
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
}

/**
 * dynalite opens LevelDB lazily and throws from a callback when it cannot (the data folder is in use by
 * another process, or by another stack in this one): an uncaught exception that kills the process at
 * the first request. Open it once beforehand to fail here, with a clear message, instead.
 */
async function assertDatabaseOpens(location: string, lockWaitMs: number): Promise<void> {
  const deadline = Date.now() + lockWaitMs;
  for (;;) {
    const db = new Level(location);
    try {
      await db.open();
      await db.close();
      return;
    } catch (error) {
      const locked = (error as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED';
      if (locked && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      throw new Error(
        `cannot open the DynamoDB data in ${location}: is another Governor using this data folder?`,
        { cause: error },
      );
    }
  }
}

/**
 * LevelDB keeps what was deleted (a released deferred message, its payload included) in its log and
 * tables until a compaction rewrites them. Once dynalite has closed it, a full compaction leaves on disk
 * only what the table still holds: a payload is not kept after its message is gone.
 */
async function compactDatabase(location: string): Promise<void> {
  const db = new Level(location);
  await db.open();
  try {
    // Every key: dynalite's keys are strings ('table~…', 'item-<table>~…').
    await db.compactRange('', '\u{10FFFF}');
  } finally {
    await db.close();
  }
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * dynalite's close() stops the HTTP server, waits for pending operations, then closes LevelDB. The HTTP
 * server only closes once every connection has ended, and SDK clients keep theirs alive: close the idle
 * ones until it is done so that a client we do not own cannot hold the shutdown up. A request arriving
 * on a kept-alive connection meanwhile would reach the closed database, and dynalite throws that error
 * out of a callback (killing the process): answer those with a retryable 503 instead.
 */
function closeDynalite(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  server.removeAllListeners('request');
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailableException',
      message: 'The local DynamoDB engine is stopping',
    });
    res.writeHead(503, { 'content-type': 'application/x-amz-json-1.0', connection: 'close' });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    const sweeper = setInterval(() => server.closeIdleConnections(), 50);
    server.close((error) => {
      clearInterval(sweeper);
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}
