/**
 * The small interfaces the application services need from the outside world. The DynamoDB and SQS
 * adapters implement them in production and locally; tests may use the same adapters on local engines.
 */
import type { ArchiveRecord } from './domain/archive.ts';
import type { CustomerBase, LogEntry } from './domain/customer-log.ts';
import type { DryRunResult } from './domain/dry-run-result.ts';
import type { Channel, Kind, Message, Policy, PolicyDocument } from './domain/schemas.ts';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

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
  held(
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
}

export interface DeferredStore {
  /** Holds messages; `now` files one whose release time has passed so the release still finds it. */
  put(items: DeferredMessage[], now?: number): Promise<void>;
  /** Deferred messages whose release minute lies in [from, until], oldest first, at most `limit`. */
  due(from: number, until: number, limit: number): Promise<DeferredMessage[]>;
  remove(items: DeferredMessage[]): Promise<void>;
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

// ---- The decision archive and the dry-run (see shared/domain/archive.ts, shared/app/dry-runs.ts) ----

/**
 * Where archive records go, a batch at a time: Firehose PutRecordBatch on AWS (at most 500 records and
 * 4 MiB a call), JSON-lines files under `<dataDir>/archive/day=YYYY-MM-DD/shard=NN/` locally. Rejects
 * when any record of the batch was not taken; the caller counts those as lost (never failing a decision).
 */
export interface ArchiveSink {
  put(records: ArchiveRecord[]): Promise<void>;
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
   * rebuilt by replay.
   */
  shards(to: number): Promise<ArchiveShard[]>;
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
  result?: DryRunResult | undefined;
  /** Why it failed (no internals). */
  error?: string | undefined;
}

export interface DryRunStore {
  create(job: DryRunJob): Promise<void>;
  get(id: string): Promise<DryRunJob | undefined>;
  /** Marks it running with the number of records to replay. */
  start(id: string, totalEvents: number): Promise<void>;
  /** Adds replayed records to the progress (an atomic ADD: several workers report at once). */
  advance(id: string, events: number): Promise<void>;
  finish(id: string, result: DryRunResult): Promise<void>;
  fail(id: string, error: string): Promise<void>;
}

/**
 * Runs a dry-run job: reads the shards, replays each (replayShard), reports progress to the store,
 * merges (mergeShards) and stores the result. Returns once the job is started (not finished).
 */
export interface DryRunRunner {
  start(job: DryRunJob): Promise<void>;
}
