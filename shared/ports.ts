/**
 * The small interfaces the application services need from the outside world, all of them here: the
 * clock and timers, the stores (customer logs, policies, deferred messages, erasures, counts, keys, the
 * audit trail, the release cursor, the rate counter), the delivery queue and what dispatch needs of it,
 * the providers. The DynamoDB, SQS and provider adapters implement them in production and locally;
 * tests may use the same adapters on local engines. Nothing here imports an adapter or a use case.
 */
import type { ArchiveRecord } from './domain/archive.ts';
import type { CustomerBase, LogEntry } from './domain/customer-log.ts';
import type { DryRunResult } from './domain/dry-run-result.ts';
import type {
  AuditEntry,
  Channel,
  Kind,
  Message,
  Policy,
  PolicyDocument,
  QueueDepths,
} from './domain/schemas.ts';
import type { DayCounts } from './domain/tally.ts';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Runs `run` once, `ms` from now on the limiter's clock. */
export interface Timers {
  set(run: () => void, ms: number): void;
}

/** Node's timers, which never keep the process alive (a frozen Lambda runs them when it thaws). */
export const systemTimers: Timers = {
  set: (run, ms) => {
    setTimeout(run, ms).unref();
  },
};

/**
 * A customer's log as stored: the base, the entries in order, the write counter, and the life: a random
 * id the record was created with, so that what an erased customer left behind (a deferred message
 * written late, a delivery still queued) is told apart from what a new record of the same id holds.
 */
export interface CustomerRecord {
  base: CustomerBase;
  entries: LogEntry[];
  /** Increments on every write; compaction is conditional on it (and on the life). */
  version: number;
  /** Bytes of the stored item, as DynamoDB sizes it. */
  itemBytes: number;
  /** Undefined for a record written before lives existed (LEGACY_LIFE). */
  life?: string | undefined;
  /** The list elements the log takes (the block, then the raw entries, a long one in several). */
  elements: number;
  /** The archive's pseudonym salt (shared/domain/archive.ts); undefined in a record not appended to since. */
  salt?: string | undefined;
}

/** The life of records, deferred messages and deliveries written before lives existed. */
export const LEGACY_LIFE = '-';

export interface AppendCondition {
  /** Never create the record: append only if it exists (a release of a deferred message)… */
  mustExist?: boolean;
  /** …and has this life. */
  life?: string | undefined;
}

/**
 * An append the store refused: the log has no room for the entries (compact it first), or the record
 * is not there or not of the expected life. `record` is the record as it is, when the store says so.
 */
export class AppendRefusedError extends Error {
  override readonly name = 'AppendRefusedError';
  constructor(readonly record?: CustomerRecord) {
    super('the customer log refused the append');
  }
}

/** What else a customer's partition holds: delivery ledger entries, erasure sweeps. */
export interface PartitionItem {
  sk: string;
  life?: string | undefined;
  /** A delivery ledger entry's message and status. */
  delivery?: { messageId: string; status: DeliveryStatus } | undefined;
}

export interface CustomerStore {
  /**
   * Appends entries atomically if the log has room for them (AppendRefusedError if not, or if the
   * condition fails) and returns the record right after this append.
   */
  append(
    customerId: string,
    entries: LogEntry[],
    now: number,
    condition?: AppendCondition,
  ): Promise<CustomerRecord>;
  /** Whether the entries fit after the record's log without a compaction first. */
  fits(record: CustomerRecord, entries: LogEntry[]): boolean;
  read(customerId: string): Promise<CustomerRecord | undefined>;
  /**
   * Replaces the log with a compacted one, followed by `tail` (entries appended with it), if nobody
   * wrote since `record` was read; returns the record written, undefined when somebody did write.
   */
  replace(
    customerId: string,
    record: CustomerRecord,
    base: CustomerBase,
    entries: LogEntry[],
    now: number,
    tail?: LogEntry[],
  ): Promise<CustomerRecord | undefined>;
  /** The customer's whole partition, read together. */
  partition(
    customerId: string,
  ): Promise<{ record?: CustomerRecord; deferred: DeferredMessage[]; others: PartitionItem[] }>;
  /** Every customer's record, for recovery jobs (a full table scan: never on a request path). */
  scan(): AsyncIterable<{ customerId: string; record: CustomerRecord }>;
  /** Deletes the record if it has this life; returns it as it was when deleted (undefined if not). */
  deleteRecord(customerId: string, life: string): Promise<CustomerRecord | undefined>;
  /** Deletes a deferred message if it is there with its life; whether it was. */
  deleteDeferred(deferred: DeferredMessage): Promise<boolean>;
  /** Deletes other items of the partition by sort key. */
  deleteItems(customerId: string, sks: string[]): Promise<void>;
}

export interface PolicyVersionSummary {
  version: number;
  createdAt: string;
  author: string;
}

export interface PolicyStore {
  current(): Promise<Policy | undefined>;
  get(version: number): Promise<Policy | undefined>;
  /**
   * Stores a new version if the current one is `expected` (`'*'`: whatever it is; `0`: none yet).
   * Returns undefined when the current version is not the expected one.
   */
  put(
    document: PolicyDocument,
    expected: number | '*',
    author: string,
    now: number,
  ): Promise<Policy | undefined>;
  versions(): Promise<PolicyVersionSummary[]>;
}

/** What the delivery queue carries for one accepted message. */
export interface Delivery {
  messageId: string;
  customerId: string;
  channel: Channel;
  kind: Kind;
  category?: string | undefined;
  campaignId?: string | undefined;
  payload: Record<string, unknown>;
  acceptedAt: string;
  policyVersion: number;
  /** The life of the customer's record it was decided in: not delivered once that life is erased. */
  life?: string | undefined;
}

export interface DeliveryQueue {
  enqueue(deliveries: Delivery[]): Promise<void>;
}

/** A deferred message held until its release time, payload included. */
export interface DeferredMessage {
  message: Message;
  releaseAt: number;
  policyVersion: number;
  /** The life of the customer's record it was deferred in. */
  life?: string | undefined;
  /** The digest it waits in (reason `digest`): released with it, as one delivery. */
  digestId?: string | undefined;
}

export interface DeferredStore {
  /** Holds messages; `now` files one whose release time has passed so the release still finds it. */
  put(items: DeferredMessage[], now?: number): Promise<void>;
  /** Deferred messages whose release minute lies in [from, until], oldest first, at most `limit`. */
  due(from: number, until: number, limit: number): Promise<DeferredMessage[]>;
  remove(items: DeferredMessage[]): Promise<void>;
  /**
   * A page of the messages held for a campaign (its sparse index; never the whole table), in one of
   * CAMPAIGN_SHARDS shards, after `after` (the previous page's `next`); `next` is absent on the last.
   */
  heldFor(campaignId: string, shard: number, after: string | undefined, limit: number): Promise<HeldPage>;
  /** The number of shards `heldFor` reads a campaign's held messages in. */
  readonly campaignShards: number;
  /** Deletes held messages by their ids (their payloads go with them). */
  removeHeld(items: HeldMessage[]): Promise<void>;
}

/** A held message as the campaign index names it. */
export interface HeldMessage {
  customerId: string;
  messageId: string;
}

export interface HeldPage {
  held: HeldMessage[];
  next?: string | undefined;
}

/** A scheduled second pass over an erased customer's partition (see shared/app/erasure.ts). */
export interface Sweep {
  customerId: string;
  /** The life whose erasure scheduled it. */
  life: string;
  /** Every life it removes the leftovers of, and when each was erased (epoch ms). */
  erasedAt: Record<string, number>;
  /** When it is due. */
  at: number;
}

/** Erasure markers and sweeps. */
export interface ErasureStore {
  /** Records that these lives of a customer (named by `ref`) were erased; when each first was. */
  mark(ref: string, lives: string[], now: number): Promise<Record<string, number>>;
  /** When this life of the customer was erased, if it was (and the marker has not expired). */
  erasedAt(ref: string, life: string): Promise<number | undefined>;
  /** Which of these (ref, life) pairs are erased, in order. */
  erased(pairs: { ref: string; life: string }[]): Promise<boolean[]>;
  schedule(sweep: Sweep): Promise<void>;
  /** Sweeps due in [from, until]. */
  due(from: number, until: number): Promise<Sweep[]>;
  done(sweep: Sweep): Promise<void>;
}

// ------------------------------------------------------------------------------------------- counts

/**
 * `forgotten`: how many decisions of a day erased customers' logs had forgotten (past the number a log
 * remembers), one count a day under the group key FORGOTTEN.
 */
export type TallyKind = 'live' | 'archive' | 'correction' | 'forgotten';

/** What reports count: live counts and corrections. Archives only serve reconciliation. */
export const COUNTED: readonly TallyKind[] = ['live', 'correction'];
export const FORGOTTEN = 'forgotten';

export interface TallyStore {
  /**
   * Writes the counts of one flush (replacing what an earlier attempt of it wrote); with `version`, only
   * if what is there was written with an older or the same version (an erasure's archive, rewritten
   * from a later read of the log).
   */
  put(flushId: string, kind: TallyKind, counts: DayCounts, version?: number): Promise<void>;
  read(days: string[], kinds?: readonly TallyKind[]): Promise<DayCounts>;
}

// ------------------------------------------------------------------------------------------ release

/** Where the release of deferred messages has got to (see shared/app/release.ts). */
export interface CursorState {
  /** The oldest minute (epoch ms, start of minute) that may still hold due messages. */
  minute: number;
  version: number;
}

export interface ReleaseCursor {
  read(): Promise<CursorState | undefined>;
  /** Moves the cursor to `minute` if nobody wrote it since `read`, or if that lowers it; false if not. */
  write(minute: number, read: CursorState | undefined): Promise<boolean>;
}

// ----------------------------------------------------------------------------------------- dispatch

/** What a provider answers for one send. Providers do not throw: every failure is classified. */
export type SendResult =
  | { ok: true; providerMessageId?: string | undefined }
  | {
      ok: false;
      /** A permanent failure will fail again: no retry, straight to the DLQ. */
      permanent: boolean;
      /** Machine-readable and short (`http_503`, `timeout`, `MessageRejected`); never payload data. */
      reason: string;
      /** The provider asked to wait this long (Retry-After). */
      retryAfterMs?: number | undefined;
      /** The provider did not answer within the timeout (it may still have processed the send). */
      timedOut?: boolean | undefined;
      /** With `timedOut`: the timeout it did not answer within (dispatch fills it in). */
      timeoutMs?: number | undefined;
    };

/** A send provider (webhook, outbox file, SES, SNS…): one small port for every channel. */
export interface Provider {
  readonly name: string;
  /** How long one send may take by default (its timeout): dispatch may allow it longer (see ProviderPace). */
  readonly timeoutMs: number;
  /** `timeoutMs`: this send's timeout, when dispatch gives a slow provider more time than its default. */
  send(delivery: Delivery, options?: { timeoutMs?: number }): Promise<SendResult>;
}

export type DeliveryStatus = 'sending' | 'retrying' | 'delivered' | 'dead';

export interface LedgerEntry {
  status: DeliveryStatus;
  /** While `sending`: the lease's end (epoch ms). */
  leaseUntil?: number | undefined;
  attempts: number;
  reason?: string | undefined;
}

export type Claim = { claimed: true; attempts: number } | { claimed: false; entry: LedgerEntry | undefined };

/** One item per delivered message: the idempotency of dispatch. */
export interface DeliveryLedger {
  /**
   * Takes the message for sending until `leaseUntil` unless it is delivered, or being sent by somebody
   * whose lease has not run out.
   */
  claim(delivery: Delivery, provider: string, now: number, leaseUntil: number): Promise<Claim>;
  delivered(delivery: Delivery, now: number, providerMessageId?: string): Promise<void>;
  /** Gives the lease back after a transient failure (a no-op if somebody else took it meanwhile). */
  giveBack(delivery: Delivery, attempts: number, now: number, reason: string): Promise<void>;
  dead(delivery: Delivery, now: number, reason: string): Promise<void>;
  /** The entries of many messages at once (missing ones are absent from the map); key `customerId messageId`. */
  entries(keys: { customerId: string; messageId: string }[]): Promise<Map<string, LedgerEntry>>;
}

export const ledgerKey = (k: { customerId: string; messageId: string }) => `${k.customerId} ${k.messageId}`;

export interface DeadLetter {
  /** The SQS body as received (so that a redrive sends exactly it again). */
  body: string;
  reason: string;
  receiveCount: number;
  messageId?: string | undefined;
  channel?: string | undefined;
}

/** The delivery queue as dispatch sees it: retry a received message later, or dead-letter it. */
export interface Redelivery {
  /** Makes a received message visible again in `seconds` (its receive counts towards the DLQ bound). */
  retryLater(receiptHandle: string, seconds: number): Promise<void>;
  deadLetter(letter: DeadLetter): Promise<void>;
}

/** Waits, when a channel has a send rate limit, until the next send on it is allowed. */
export interface SendRateLimiter {
  acquire(channel: Channel): Promise<void>;
}

/**
 * Under the delivery queue's 30 s visibility timeout, so that a receive still holds its message when its
 * send ends (and the lease, two of them plus 2 s, stays within a minute).
 */
export const MAX_PACED_TIMEOUT_MS = 25_000;

// ------------------------------------------------------------------------------ keys and the audit trail

/** A key as stored: everything but the key itself. */
export interface StoredKey {
  id: string;
  name: string;
  scopes: string[];
  rateLimit?: number | undefined;
  /** SHA-256 of the key, hex. */
  hash: string;
  createdAt: string;
  createdBy: string;
  revokedAt?: string | undefined;
  revokedBy?: string | undefined;
}

export interface KeyStore {
  /** Stores a new key; false when the id is taken. */
  create(key: StoredKey): Promise<boolean>;
  get(id: string): Promise<StoredKey | undefined>;
  list(): Promise<StoredKey[]>;
  /** Marks the key revoked; 'missing' when there is no such key, 'already' when it was revoked. */
  revoke(id: string, at: string, by: string, expiresAt: number): Promise<'revoked' | 'already' | 'missing'>;
}

/** Where a page of the trail ends: the day and the sort key of its last entry. */
export interface AuditPosition {
  day: string;
  after: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  next?: AuditPosition | undefined;
}

export interface AuditStore {
  put(entry: AuditEntry, expiresAt: number): Promise<void>;
  /** Entries of days [fromDay, toDay] in time order, after `start` if given, at most `limit`. */
  list(fromDay: string, toDay: string, limit: number, start?: AuditPosition): Promise<AuditPage>;
}

// ------------------------------------------------------------------------------------- rate limits

/** The count every instance adds to: shared by the instances of every function, per key. */
export interface RateCounter {
  /**
   * Adds `delta` requests to the key's shared count and returns the count after it, every instance's
   * additions included. A delta of 0 only reads it.
   */
  add(keyId: string, delta: number, now: number): Promise<number>;
}

// -------------------------------------------------------------------------------------- operations

/** The depths of the delivery queue and its DLQ. */
export interface QueueInspector {
  depths(): Promise<QueueDepths>;
}

// ---- The decision archive and the dry-run (see shared/domain/archive.ts, shared/app/dry-runs.ts) ----

/**
 * An archive record serialised once, by the archive, for whichever sink takes it: its JSON text (no
 * newline), that text's UTF-8 size (what Firehose's limits count), and the partition it is filed under.
 */
export interface ArchiveLine {
  json: string;
  bytes: number;
  /** The record's UTC day, `YYYY-MM-DD` (archiveDayOf). */
  day: string;
  /** The record's shard (ArchiveRecord.shard). */
  shard: number;
}

/**
 * Where archive records go, a batch of lines at a time: Firehose PutRecordBatch on AWS (at most 500
 * records and 4 MiB a call), JSON-lines files under `<dataDir>/archive/day=YYYY-MM-DD/shard=NN/` locally.
 * Resolves with how many of the lines were not taken (0: all were), so that a batch partly refused
 * counts only the refused lines as lost; a rejection counts every line of the batch lost. Either way
 * the caller counts them, never failing a decision.
 */
export interface ArchiveSink {
  put(lines: ArchiveLine[]): Promise<number>;
}

/** A part of the archive one worker replays: every record of the pseudonyms of one shard. */
export interface ArchiveShard {
  /** The shard number (ArchiveRecord.shard). */
  shard: number;
  /** Where its records are (local: file paths; S3: object keys), every day up to the period's end. */
  parts: string[];
  /** Bytes, when known (to show progress before counting records). */
  bytes?: number | undefined;
}

export interface ArchiveReader {
  /**
   * The shards holding the records to replay for a period ending at `to` (epoch ms, exclusive): every
   * day partition up to `to`'s day, from the earliest archived (the retention bounds it), so that a
   * customer's state at the period's start (preferences, sends inside the caps' windows, deferrals) is
   * rebuilt by replay. With `only`, that shard's alone (a worker listing its own part).
   */
  shards(to: number, only?: number): Promise<ArchiveShard[]>;
  /** A shard's records (any order: replayShard sorts each pseudonym's by write and index). */
  read(shard: ArchiveShard): Promise<ArchiveRecord[]>;
}

export type DryRunStatus = 'queued' | 'running' | 'done' | 'failed';

/** A dry-run job as the store keeps it. */
export interface DryRunJob {
  id: string;
  status: DryRunStatus;
  /** The period, epoch ms, [from, to). */
  from: number;
  to: number;
  /** The draft policy, validated (a whole document with a version number of its own, DRAFT_VERSION). */
  draft: Policy;
  createdAt: number;
  author: string;
  progress: { events: number; totalEvents: number };
  /** The archive's bytes to replay and those read so far, where records are counted as read (AWS). */
  bytes?: { total: number; read: number } | undefined;
  result?: DryRunResult | undefined;
  /** Why it failed (no internals). */
  error?: string | undefined;
  /**
   * The runner's lease on the job, taken as the job is created (DryRunRunner.leaseMs): `updatedAt` (epoch
   * ms) plus `leaseMs`. The local runner heartbeats it; the state machine's covers its whole execution. A
   * job not finished whose lease has run out has lost its runner.
   */
  updatedAt?: number | undefined;
  leaseMs?: number | undefined;
}

export interface DryRunStore {
  create(job: DryRunJob): Promise<void>;
  get(id: string): Promise<DryRunJob | undefined>;
  /**
   * Marks it running with the number of records to replay; or, with `bytes`, with the archive's bytes to
   * replay, its records yet uncounted (on AWS: each worker counts its own shard's, `count`).
   */
  start(id: string, totalEvents: number, bytes?: number): Promise<void>;
  /** Adds replayed records to the progress (an atomic ADD: several workers report at once). */
  advance(id: string, events: number): Promise<void>;
  /**
   * Adds a shard's records, counted as it was read and replayed, to the progress and to the total at
   * once, and its bytes to those read (one atomic ADD: on AWS each worker counts its own shard's).
   */
  count(id: string, events: number, bytes: number): Promise<void>;
  /** The runner holds the job's lease for `leaseMs` more from `at` (epoch ms). */
  heartbeat(id: string, at: number, leaseMs: number): Promise<void>;
  finish(id: string, result: DryRunResult): Promise<void>;
  fail(id: string, error: string): Promise<void>;
}

export type CampaignCancelStatus = 'queued' | 'running' | 'done';

/** A campaign's cancellation: every message held for it withdrawn, page by page, by the release runs. */
export interface CampaignCancelJob {
  id: string;
  campaignId: string;
  status: CampaignCancelStatus;
  createdAt: number;
  author: string;
  /** Messages it withdrew so far. */
  cancelled: number;
  /** Where the next page starts: a shard of the campaign index, and the position in it. */
  cursor: { shard: number; after?: string | undefined };
  /** Until when (epoch ms, the holder's clock) a runner holds the job; absent before the first. */
  leaseUntil?: number | undefined;
  finishedAt?: number | undefined;
}

export interface CampaignCancelStore {
  create(job: CampaignCancelJob): Promise<void>;
  get(id: string): Promise<CampaignCancelJob | undefined>;
  /** The jobs not done yet (few: cancelling a campaign is rare). */
  open(): Promise<CampaignCancelJob[]>;
  /**
   * Takes the job's lease as `owner` until `until`, if it is not done and nobody holds it at `now`
   * (a lease that ran out before `now`); whether it took it.
   */
  claim(id: string, owner: string, now: number, until: number): Promise<boolean>;
  /**
   * Records a page done while `owner` holds the lease: adds `cancelled`, moves the cursor, extends the
   * lease; false when the lease was lost (another runner took the job over).
   */
  advance(
    id: string,
    owner: string,
    page: { cancelled: number; cursor: CampaignCancelJob['cursor']; leaseUntil: number },
  ): Promise<boolean>;
  /** Marks it done (while `owner` holds it), adding the last page's count. */
  finish(id: string, owner: string, cancelled: number, at: number): Promise<boolean>;
}

/**
 * Runs a dry-run job: reads the shards, replays each (replayShard), reports progress to the store,
 * merges (mergeShards) and stores the result. Returns once the job is started (not finished).
 */
export interface DryRunRunner {
  /**
   * The job's lease as the runner starts it: a job not finished whose `updatedAt` is older than this has
   * lost its runner (a runner that heartbeats renews it; one whose engine bounds the run's time covers it).
   */
  readonly leaseMs: number;
  start(job: DryRunJob): Promise<void>;
}
