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
 *
 * Each record is serialised once, here (the sinks take its JSON line and its size in UTF-8 bytes, what
 * Firehose's limits count). Where the answer does not wait for its records (`after-answer`), they may
 * linger a few milliseconds (`lingerMs`) to share a batch with the next decisions' records: one write
 * for many requests of one message each, rather than one each. `drain` sends what lingers at once.
 */

import { type ArchiveRecord, archiveDayOf, recordOf, shardOf } from '../domain/archive.ts';
import type { LogEntry } from '../domain/customer-log.ts';
import type { ArmOf, Verdict } from '../domain/decision.ts';
import { GroupCommit } from '../group-commit.ts';
import { countArchiveLost, logger } from '../observability/index.ts';
import type { ArchiveLine, ArchiveSink, CustomerStore } from '../ports.ts';
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

/** A record serialised once, as every sink takes it. */
export function archiveLineOf(record: ArchiveRecord): ArchiveLine {
  const json = JSON.stringify(record);
  return { json, bytes: Buffer.byteLength(json, 'utf8'), day: archiveDayOf(record), shard: record.shard };
}

export interface ArchiveOptions {
  /**
   * How long a batch that is not full waits for more records (GOVERNOR_ARCHIVE_LINGER_MS; 0: none).
   * Only records added with `lingers` (nobody waits for them) do; `drain` sends them at once.
   */
  lingerMs?: number;
}

export class Archive {
  private readonly commit: GroupCommit<ArchiveLine>;
  /** Records the sink took, and those it did not (a failed or partly refused batch), since start. */
  archived = 0;
  lost = 0;

  constructor(
    private readonly sink: ArchiveSink,
    private readonly hashes: KeyedHash,
    options: ArchiveOptions = {},
  ) {
    this.commit = new GroupCommit<ArchiveLine>({
      send: (lines) => this.put(lines),
      maxItems: ARCHIVE_BATCH_RECORDS,
      maxBytes: ARCHIVE_BATCH_BYTES,
      // The line and its newline, in bytes.
      sizeOf: (line) => line.bytes + 1,
      lingerMs: options.lingerMs ?? 0,
    });
  }

  /** Puts one batch; counts what the sink took and what it lost. Never rejects. */
  private async put(lines: ArchiveLine[]): Promise<void> {
    let lost: number;
    let error: unknown;
    try {
      lost = Math.min(lines.length, Math.max(0, await this.sink.put(lines)));
    } catch (failure) {
      lost = lines.length;
      error = failure;
    }
    this.archived += lines.length - lost;
    if (lost === 0) return;
    this.lost += lost;
    countArchiveLost(lost);
    logger.error('archive records lost', {
      ...(error === undefined ? {} : { error: error as Error }),
      records: lost,
      batch: lines.length,
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

  /**
   * Archives the entries; resolves when their batches have left or failed (never rejects). `lingers`:
   * the caller does not wait for them (the send path's answer), so they may wait `lingerMs` to share a
   * batch with the next records.
   */
  add(items: readonly Archivable[], options: { lingers?: boolean } = {}): Promise<void> {
    return this.emit(this.recordsOf(items), options);
  }

  /** Emits records; resolves when their batches have left or failed (never rejects). */
  emit(records: ArchiveRecord[], { lingers = false }: { lingers?: boolean } = {}): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.commit.submit(records.map(archiveLineOf), { linger: lingers });
  }

  /** Sends what lingers now and waits for every batch in flight (an answer on Lambda, a process stopping). */
  drain(): Promise<void> {
    return this.commit.flush();
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
