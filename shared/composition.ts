/**
 * The composition root: configuration, SDK clients, adapters and application services, built once per
 * process at cold start and reused by every invocation. Lambda functions and the local server build the
 * same root; only the endpoints differ.
 */

import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createFirehoseClient, FirehoseArchiveSink } from './adapters/archive/firehose-sink.ts';
import { LocalArchiveReader, LocalArchiveSink } from './adapters/archive/local.ts';
import { createS3Client, S3ArchiveReader } from './adapters/archive/s3.ts';
import { createSfnClient, StepFunctionsRunner } from './adapters/archive/sfn-runner.ts';
import { WorkerThreadRunner } from './adapters/archive/worker-runner.ts';
import { DynamoAuditStore } from './adapters/dynamodb/audit-store.ts';
import { DynamoCampaignCancelStore } from './adapters/dynamodb/campaign-cancel-store.ts';
import { createDynamoClients } from './adapters/dynamodb/client.ts';
import { DynamoCustomerStore } from './adapters/dynamodb/customer-store.ts';
import { DynamoDeferredStore } from './adapters/dynamodb/deferred-store.ts';
import { DynamoDeliveryLedger } from './adapters/dynamodb/delivery-ledger.ts';
import { DynamoDryRunStore } from './adapters/dynamodb/dry-run-store.ts';
import { DynamoErasureStore } from './adapters/dynamodb/erasure-store.ts';
import { DynamoKeyStore } from './adapters/dynamodb/key-store.ts';
import { DynamoPolicyStore } from './adapters/dynamodb/policy-store.ts';
import { DynamoRateCounter } from './adapters/dynamodb/rate-counter.ts';
import { DynamoReleaseCursor } from './adapters/dynamodb/release-cursor.ts';
import { DynamoTallyStore } from './adapters/dynamodb/tally-store.ts';
import { createProviders } from './adapters/providers/index.ts';
import { providerEventOf } from './adapters/providers/provider-events.ts';
import { DeliveryJournal, JournaledDeliveryQueue } from './adapters/sqs/delivery-journal.ts';
import { createSqsClient, SqsDeliveryQueue } from './adapters/sqs/delivery-queue.ts';
import { SqsQueueInspector } from './adapters/sqs/queue-depths.ts';
import { SqsRedelivery } from './adapters/sqs/redelivery.ts';
import { StaticSite } from './adapters/static-site.ts';
import { Archive } from './app/archive.ts';
import { AuditLog } from './app/audit.ts';
import { type AdminKeySource, createAuthenticator } from './app/auth.ts';
import { TokenBucketLimiter } from './app/channel-rate-limit.ts';
import { DecisionCounter, ErasureCounts } from './app/counting.ts';
import { CustomerLog } from './app/customers.ts';
import type { DispatchDeps } from './app/dispatch.ts';
import { type DryRunStepDeps, finishJob, policiesInForce } from './app/dry-runs.ts';
import { Erasures } from './app/erasure.ts';
import { KeyedHash, type SecretSource } from './app/keyed-hash.ts';
import { ApiKeys } from './app/keys.ts';
import { PolicyCache } from './app/policy-cache.ts';
import { RateLimiter } from './app/rate-limit.ts';
import { type ReleaseDeps, releaseMarginMs } from './app/release.ts';
import { type Config, loadConfig } from './config.ts';
import { UnavailableError } from './errors.ts';
import { type ArchiveReader, type ArchiveSink, type Clock, type DryRunRunner, systemClock } from './ports.ts';

/** The console's built files in `dir`, as the console function serves them. */
export const consoleSite = (dir: string) => new StaticSite(dir);

export function createRoot(config: Config, clock: Clock = systemClock) {
  const dynamo = createDynamoClients(config);
  const { db } = dynamo;
  const sqs = createSqsClient(config);
  const table = config.GOVERNOR_TABLE_NAME;
  const policyStore = new DynamoPolicyStore(db, table);
  const policies = new PolicyCache(policyStore, clock, config.GOVERNOR_POLICY_TTL_MS);
  const customerStore = new DynamoCustomerStore(dynamo, table);
  const audit = new AuditLog(new DynamoAuditStore(db, table), clock);
  const keys = new ApiKeys({
    store: new DynamoKeyStore(db, table),
    clock,
    audit,
    cacheTtlMs: config.GOVERNOR_KEY_CACHE_TTL_MS,
    defaultRateLimit: config.GOVERNOR_DEFAULT_RATE_LIMIT,
  });
  const tallies = new DynamoTallyStore(db, table);
  // Ready at once with GOVERNOR_HASH_SECRET; with the ARN, the functions that use it await `ready()`.
  const hashes = new KeyedHash(hashSecretOf(config));
  const archiveSink = archiveSinkOf(config);
  const archive = archiveSink
    ? new Archive(archiveSink, hashes, { lingerMs: config.GOVERNOR_ARCHIVE_LINGER_MS })
    : undefined;
  const customers = new CustomerLog({
    store: customerStore,
    policies,
    clock,
    hashes,
    idempotencyMs: config.GOVERNOR_IDEMPOTENCY_HOURS * 3600_000,
    releaseMarginMs: releaseMarginMs(config.GOVERNOR_RELEASE_INTERVAL_S),
  });
  const erasures = new Erasures({
    customers,
    store: customerStore,
    erasures: new DynamoErasureStore(db, table),
    counts: new ErasureCounts(tallies),
    hashes,
    clock,
    archive,
  });
  const sqsQueue = new SqsDeliveryQueue(sqs, config.GOVERNOR_DELIVERY_QUEUE_URL);
  // Local mode: the in-memory queue is backed by a journal in the data folder (see delivery-journal.ts).
  const journal = config.GOVERNOR_DELIVERY_JOURNAL
    ? new DeliveryJournal(config.GOVERNOR_DELIVERY_JOURNAL)
    : undefined;
  return {
    config,
    clock,
    db,
    sqs,
    policyStore,
    policies,
    customerStore,
    hashes,
    customers,
    erasures,
    /** The decision archive (undefined when none is configured) and what reads it back. */
    archive,
    archiveReader: archiveReaderOf(config),
    /**
     * What an invocation waits for before it answers: the archive records its decisions left in flight
     * (GOVERNOR_ARCHIVE_SETTLE). Never rejects: a record that failed is counted lost.
     */
    settle: (): Promise<void> =>
      archive && config.GOVERNOR_ARCHIVE_SETTLE === 'before-answer' ? archive.drain() : Promise.resolve(),
    queue: journal ? new JournaledDeliveryQueue(sqsQueue, journal) : sqsQueue,
    /** The queue itself, without the local journal: for re-enqueueing what the journal already holds. */
    sqsQueue,
    journal,
    queueInspector: new SqsQueueInspector(sqs, config.GOVERNOR_DELIVERY_QUEUE_URL, config.GOVERNOR_DLQ_URL),
    deferred: new DynamoDeferredStore(db, table),
    /** Campaign cancellation jobs (shared/app/campaign-cancellation.ts), carried out by the release runs. */
    campaignCancels: new DynamoCampaignCancelStore(db, table),
    tallies,
    counter: new DecisionCounter(tallies, clock, config.GOVERNOR_COUNT_FLUSH_MS),
    audit,
    keys,
    authenticate: createAuthenticator(adminKeyOf(config), keys),
    /** Per-key rate limits, counted with every other instance (every function's) in the table. */
    rateLimiter: new RateLimiter(clock, { counter: new DynamoRateCounter(db, table) }),
    /** The event an SES or SMS event record names (the events function's queue). */
    readEvent: providerEventOf,
  };
}
export type Root = ReturnType<typeof createRoot>;

/**
 * Where archive records go: the local folder (GOVERNOR_ARCHIVE_DIR), else the Firehose stream on AWS
 * (GOVERNOR_ARCHIVE_STREAM), else nowhere (nothing is archived).
 */
export function archiveSinkOf(config: Config): ArchiveSink | undefined {
  if (config.GOVERNOR_ARCHIVE_DIR) return new LocalArchiveSink(config.GOVERNOR_ARCHIVE_DIR);
  const streamName = config.GOVERNOR_ARCHIVE_STREAM;
  if (!streamName) return undefined;
  return new FirehoseArchiveSink(createFirehoseClient(config.AWS_REGION), { streamName });
}

/** What reads the archive back: the local folder, else the S3 bucket on AWS, else nothing. */
export function archiveReaderOf(config: Config): ArchiveReader | undefined {
  if (config.GOVERNOR_ARCHIVE_DIR) return new LocalArchiveReader(config.GOVERNOR_ARCHIVE_DIR);
  const bucket = config.GOVERNOR_ARCHIVE_BUCKET;
  return bucket ? new S3ArchiveReader(createS3Client(config.AWS_REGION), bucket) : undefined;
}

/** A Secrets Manager secret's value, fetched when first asked for (the client built then too). */
function secretValue(config: Config, arn: string): () => Promise<string | undefined> {
  return async () => {
    const client = new SecretsManagerClient({ region: config.AWS_REGION });
    try {
      return (await client.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString;
    } finally {
      client.destroy();
    }
  };
}

/** The bootstrap admin key: GOVERNOR_ADMIN_KEY, else the secret GOVERNOR_ADMIN_KEY_SECRET_ARN names. */
function adminKeyOf(config: Config): AdminKeySource {
  const arn = config.GOVERNOR_ADMIN_KEY_SECRET_ARN;
  if (config.GOVERNOR_ADMIN_KEY !== undefined || arn === undefined) return config.GOVERNOR_ADMIN_KEY;
  return secretValue(config, arn);
}

/** The keyed hashes' secret: GOVERNOR_HASH_SECRET, else the secret GOVERNOR_HASH_SECRET_ARN names. */
function hashSecretOf(config: Config): SecretSource {
  const arn = config.GOVERNOR_HASH_SECRET_ARN;
  if (config.GOVERNOR_HASH_SECRET !== undefined || arn === undefined) return config.GOVERNOR_HASH_SECRET;
  return secretValue(config, arn);
}

let root: Root | undefined;

/** The process's root, built from the environment on first use. */
export function getRoot(): Root {
  root ??= createRoot(loadConfig());
  return root;
}

/**
 * What the delivery functions (dispatch, release) add to the root: providers per channel, the delivery
 * ledger, the queue's retry and dead-letter operations, the release cursor. Built on first use so that
 * the HTTP functions never construct (nor, once bundled, carry) the provider clients.
 */
export function createDeliveryRoot(base: Root) {
  const { config, clock, db, sqs } = base;
  const table = config.GOVERNOR_TABLE_NAME;
  const providers = createProviders(config, clock);
  const ledger = new DynamoDeliveryLedger(db, table);
  const redelivery = new SqsRedelivery(
    sqs,
    config.GOVERNOR_DELIVERY_QUEUE_URL,
    config.GOVERNOR_DLQ_URL,
    clock,
  );
  const rateLimits = config.GOVERNOR_RATE_LIMITS;
  const dispatch: DispatchDeps = {
    providerFor: providers.providerFor,
    ledger,
    redelivery,
    rateLimiter: Object.keys(rateLimits).length > 0 ? new TokenBucketLimiter(rateLimits, clock) : undefined,
    retry: {
      maxReceives: config.GOVERNOR_DELIVERY_MAX_RECEIVES,
      baseMs: config.GOVERNOR_RETRY_BASE_MS,
      maxMs: config.GOVERNOR_RETRY_MAX_S * 1000,
    },
    clock,
  };
  const release: ReleaseDeps = {
    customers: base.customers,
    policies: base.policies,
    deferred: base.deferred,
    queue: base.queue,
    cursor: new DynamoReleaseCursor(db, table),
    erasures: base.erasures,
    clock,
    archive: base.archive,
    customerStore: base.customerStore,
  };
  return { providers, ledger, redelivery, dispatch, release };
}
export type DeliveryRoot = ReturnType<typeof createDeliveryRoot>;

let deliveryRoot: DeliveryRoot | undefined;

export function getDeliveryRoot(): DeliveryRoot {
  deliveryRoot ??= createDeliveryRoot(getRoot());
  return deliveryRoot;
}

/**
 * What the dry-run function adds to the root: the job store and the runner (locally, worker threads
 * over the archive's files; on AWS the Step Functions runner, GOVERNOR_DRY_RUN_STATE_MACHINE).
 */
export function createDryRunRoot(base: Root, runner?: DryRunRunner) {
  const { config, clock, db } = base;
  const store = new DynamoDryRunStore(db, config.GOVERNOR_TABLE_NAME);
  const dir = config.GOVERNOR_ARCHIVE_DIR;
  const reader = base.archiveReader;
  const machine = config.GOVERNOR_DRY_RUN_STATE_MACHINE;
  const chosen =
    runner ??
    (dir !== undefined && reader !== undefined
      ? new WorkerThreadRunner({
          dir,
          reader,
          store,
          clock,
          policies: () => policiesInForce(base.policyStore),
          finish: (job, input, results) => finishJob(store, job, input, results),
        })
      : machine !== undefined
        ? new StepFunctionsRunner(createSfnClient(config.AWS_REGION), machine)
        : undefined);
  if (!chosen) {
    throw new UnavailableError(
      'no dry-run runner is configured (GOVERNOR_ARCHIVE_DIR locally, GOVERNOR_DRY_RUN_STATE_MACHINE on AWS)',
    );
  }
  return { store, runner: chosen, clock, reader };
}
export type DryRunRoot = ReturnType<typeof createDryRunRoot>;

let dryRunRoot: DryRunRoot | undefined;

export function getDryRunRoot(): DryRunRoot {
  dryRunRoot ??= createDryRunRoot(getRoot());
  return dryRunRoot;
}

/** What a dry-run worker of the state machine needs: the job store, the archive reader, the policies. */
export function createDryRunWorkerRoot(base: Root): DryRunStepDeps {
  const reader = base.archiveReader;
  if (!reader) throw new UnavailableError('no archive to read (GOVERNOR_ARCHIVE_BUCKET on AWS)');
  const store = new DynamoDryRunStore(base.db, base.config.GOVERNOR_TABLE_NAME);
  return { store, reader, policies: base.policyStore };
}
