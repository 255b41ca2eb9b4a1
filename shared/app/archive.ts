/**
 * The decision archive's emission: every decision taken for the first time, every release outcome and
 * every change that alters later decisions becomes an anonymous record (shared/domain/archive.ts) that
 * leaves in batches shared by concurrent decisions (group-commit.ts) — never a DynamoDB call, never on
 * the decision's write. A failure to archive never fails a decision: its records are counted as lost
 * (`lost`, and the metric ArchiveRecordsLost), so that decisions = archived + lost always holds.
 *
 * The erasure guarantee: a record names its customer by a pseudonym, HMAC(secret, customer id + salt),
 * and its message by a reference, HMAC(secret, salt + message key), where the salt is a random value
 * kept only in the customer's item. Erasing the customer deletes the item, so the salt is gone: the
 * pseudonym can no longer be computed from the customer id (`pseudonymOf` finds nothing), nor a
 * reference from a message id, and nothing that survives an erasure (the `ERASED#` markers keep the
 * record's life, another random value; anonymous counts) derives the salt. The salt has 48 bits (what
 * the ordinary customer's item can spare under 1 KB): linking an erased customer's events back needs
 * the deployment secret and about 2^47 HMACs per customer id tried; without the secret, nothing does.
 */

import { type ArchiveRecord, recordOf, shardOf } from '../domain/archive.ts';
import type { LogEntry } from '../domain/customer-log.ts';
import type { ArmOf, Verdict } from '../domain/decision.ts';
import { GroupCommit } from '../group-commit.ts';
import { countArchiveLost, logger } from '../observability/index.ts';
import type { ArchiveSink, CustomerStore } from '../ports.ts';
import type { KeyedHash } from './keyed-hash.ts';

/** One entry of a customer's log to archive, as it was written and decided. */
export interface Archivable {
  customerId: string;
  entry: LogEntry;
  position: { write: number; index: number; salt: string | undefined };
  /** The message's idempotency key (messages and releases). */
  key?: string | undefined;
  /** Its decision (messages and releases). */
  verdict?: Verdict | undefined;
  /** The experiment and arm it was decided in. */
  experiment?: ArmOf | undefined;
}

/** Firehose PutRecordBatch: 500 records, 4 MiB a call. */
export const ARCHIVE_BATCH_RECORDS = 500;
export const ARCHIVE_BATCH_BYTES = 4 * 1024 * 1024;

export class Archive {
  private readonly commit: GroupCommit<ArchiveRecord>;
  /** Records handed to the sink and taken, and those lost with a failed batch, since start. */
  archived = 0;
  lost = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    sink: ArchiveSink,
    private readonly hashes: KeyedHash,
  ) {
    this.commit = new GroupCommit<ArchiveRecord>({
      send: (records) => sink.put(records),
      maxItems: ARCHIVE_BATCH_RECORDS,
      maxBytes: ARCHIVE_BATCH_BYTES,
      sizeOf: (record) => JSON.stringify(record).length + 1,
    });
  }

  pseudonym(customerId: string, salt: string): string {
    return this.hashes.of('pseudonym', `${customerId}\0${salt}`);
  }

  /** The message's reference in its customer's stream. */
  ref(salt: string, key: string): string {
    return this.hashes.of('archive-ref', `${salt}\0${key}`, 16);
  }

  /** The records of these entries (those of a record without a salt are not archived). */
  recordsOf(items: readonly Archivable[]): ArchiveRecord[] {
    const records: ArchiveRecord[] = [];
    for (const item of items) {
      const { salt, write, index } = item.position;
      if (salt === undefined) continue;
      const pseudonym = this.pseudonym(item.customerId, salt);
      const ref = item.key === undefined ? undefined : this.ref(salt, item.key);
      const record = recordOf(
        item.entry,
        { pseudonym, shard: shardOf(pseudonym), write, index },
        ref,
        item.verdict,
        item.experiment,
      );
      if (record) records.push(record);
    }
    return records;
  }

  /** The record of an erasure: after every record of the erased life, whatever was written last. */
  erasureRecord(customerId: string, salt: string, at: number): ArchiveRecord {
    const pseudonym = this.pseudonym(customerId, salt);
    return {
      v: 1,
      type: 'erasure',
      at: new Date(at).toISOString(),
      pseudonym,
      shard: shardOf(pseudonym),
      write: Number.MAX_SAFE_INTEGER,
      index: 0,
    };
  }

  /** Archives the entries; resolves when their batches have left or failed (never rejects). */
  add(items: readonly Archivable[]): Promise<void> {
    return this.emit(this.recordsOf(items));
  }

  /** Emits records; resolves when their batches have left or failed (never rejects). */
  emit(records: ArchiveRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const sent = this.commit.submit(records).then(
      () => {
        this.archived += records.length;
      },
      (error: unknown) => {
        this.lost += records.length;
        countArchiveLost(records.length);
        logger.error('archive records lost', { error: error as Error, records: records.length });
      },
    );
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
    return sent;
  }

  /** Waits for every batch in flight (a process stopping). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}

/**
 * A support lookup: the pseudonym of a customer's archived events, while the customer's record (and
 * its salt) exists; undefined once the customer is erased.
 */
export async function pseudonymOf(
  deps: { archive: Archive; store: CustomerStore },
  customerId: string,
): Promise<string | undefined> {
  const record = await deps.store.read(customerId);
  return record?.salt === undefined ? undefined : deps.archive.pseudonym(customerId, record.salt);
}
