/**
 * The archive on AWS: archive records, one JSON line each, into an Amazon Data Firehose stream that
 * writes them to S3 (infra/constructs/decision-archive.ts).
 *
 * Firehose bills ingestion per record rounded up to 5 KB, and an archive line is a few hundred bytes:
 * sent one line a record, the archive would cost some twenty times its size. So lines are packed, whole,
 * into Firehose records of up to MAX_RECORD_BYTES (the stream splits them at the newlines again before it
 * partitions them), and the records into PutRecordBatch calls of at most 500 records and 4 MiB. A call
 * names which of its records Firehose refused (FailedPutCount): those alone are sent again, with a short
 * backoff, up to `maxAttempts` times; a call that fails outright (the SDK's own retries spent) is tried
 * again the same way. What still fails is counted as lost, line by line — never thrown: a failure to
 * archive must not fail a decision.
 */
import {
  FirehoseClient,
  PutRecordBatchCommand,
  type PutRecordBatchCommandOutput,
} from '@aws-sdk/client-firehose';
import { logger } from '../../observability/index.ts';
import type { ArchiveLine, ArchiveSink } from '../../ports.ts';

/** Firehose's limits: a record's data, and a PutRecordBatch call's records and bytes. */
export const FIREHOSE_MAX_RECORD_BYTES = 1_000 * 1024;
export const FIREHOSE_MAX_BATCH_RECORDS = 500;
export const FIREHOSE_MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** What one put did: lines Firehose took, and lines lost after every attempt. */
export interface FirehosePutOutcome {
  archived: number;
  lost: number;
}

export interface FirehoseSinkOptions {
  /** The delivery stream (GOVERNOR_ARCHIVE_STREAM). */
  streamName: string;
  /** Bytes of one Firehose record at most (the lines packed into it); Firehose's limit by default. */
  maxRecordBytes?: number;
  /** Calls for one record, first included (3). */
  maxAttempts?: number;
  /** The wait before attempt `n` (2, 3, …): 50 ms doubling, with jitter, by default. */
  backoffMs?: (attempt: number) => number;
  sleep?: (ms: number) => Promise<void>;
}

export function createFirehoseClient(region: string, endpoint?: string): FirehoseClient {
  return new FirehoseClient({ region, ...(endpoint ? { endpoint } : {}), maxAttempts: 3 });
}

/** Lines packed into one Firehose record. */
interface Packed {
  data: Uint8Array;
  lines: number;
}

/**
 * Packs lines (each ending with a newline) into records of at most `maxBytes`, in order; a line longer
 * than that on its own is left out and counted in `oversized`.
 */
export function packLines(
  lines: readonly string[],
  maxBytes: number,
): { records: Packed[]; oversized: number } {
  const records: Packed[] = [];
  let oversized = 0;
  let parts: Buffer[] = [];
  let bytes = 0;
  const close = () => {
    if (parts.length === 0) return;
    records.push({ data: Buffer.concat(parts, bytes), lines: parts.length });
    parts = [];
    bytes = 0;
  };
  for (const line of lines) {
    const buffer = Buffer.from(line.endsWith('\n') ? line : `${line}\n`, 'utf8');
    if (buffer.length > maxBytes) {
      oversized++;
      continue;
    }
    if (bytes + buffer.length > maxBytes) close();
    parts.push(buffer);
    bytes += buffer.length;
  }
  close();
  return { records, oversized };
}

/** Splits records into PutRecordBatch calls: at most 500 records and 4 MiB each, in order. */
export function batchRecords<T extends { data: Uint8Array }>(records: readonly T[]): T[][] {
  const calls: T[][] = [];
  let call: T[] = [];
  let bytes = 0;
  for (const record of records) {
    if (
      call.length === FIREHOSE_MAX_BATCH_RECORDS ||
      (call.length > 0 && bytes + record.data.length > FIREHOSE_MAX_BATCH_BYTES)
    ) {
      calls.push(call);
      call = [];
      bytes = 0;
    }
    call.push(record);
    bytes += record.data.length;
  }
  if (call.length > 0) calls.push(call);
  return calls;
}

const defaultBackoff = (attempt: number) => 50 * 2 ** (attempt - 2) * (0.5 + Math.random() / 2);
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class FirehoseLineSink {
  private readonly maxRecordBytes: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: (attempt: number) => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly firehose: Pick<FirehoseClient, 'send'>,
    private readonly options: FirehoseSinkOptions,
  ) {
    this.maxRecordBytes = Math.min(
      options.maxRecordBytes ?? FIREHOSE_MAX_RECORD_BYTES,
      FIREHOSE_MAX_RECORD_BYTES,
    );
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.backoffMs = options.backoffMs ?? defaultBackoff;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** Sends the lines; resolves with how many were archived and how many lost. Never rejects. */
  async put(lines: readonly string[]): Promise<FirehosePutOutcome> {
    if (lines.length === 0) return { archived: 0, lost: 0 };
    const { records, oversized } = packLines(lines, this.maxRecordBytes);
    const outcomes = await Promise.all(batchRecords(records).map((call) => this.sendCall(call)));
    const lost = oversized + outcomes.reduce((n, o) => n + o, 0);
    if (oversized > 0) logger.error('archive lines too long for a Firehose record', { lines: oversized });
    return { archived: lines.length - lost, lost };
  }

  /** Sends one call's records, again for those refused; returns the lines still not taken. */
  private async sendCall(call: Packed[]): Promise<number> {
    let pending = call;
    let lastError: string | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await this.sleep(this.backoffMs(attempt));
      let output: PutRecordBatchCommandOutput;
      try {
        output = await this.firehose.send(
          new PutRecordBatchCommand({
            DeliveryStreamName: this.options.streamName,
            Records: pending.map((r) => ({ Data: r.data })),
          }),
        );
      } catch (error) {
        lastError = (error as Error).name;
        continue;
      }
      if (!output.FailedPutCount) return 0;
      const responses = output.RequestResponses ?? [];
      const refused = pending.filter((_, i) => responses[i]?.ErrorCode !== undefined || !responses[i]);
      lastError = responses.find((r) => r.ErrorCode)?.ErrorCode ?? lastError;
      pending = refused;
    }
    const lost = pending.reduce((n, r) => n + r.lines, 0);
    if (lost > 0) logger.error('archive lines lost', { lines: lost, error: lastError });
    return lost;
  }
}

/**
 * The ArchiveSink on Firehose: a batch of lines, packed and sent by a FirehoseLineSink. Resolves, as the
 * port says, with how many lines are still not taken after the retries (those of the Firehose records
 * it refused, not the whole batch); the caller (shared/app/archive.ts) counts them as lost.
 */
export class FirehoseArchiveSink implements ArchiveSink {
  private readonly lines: FirehoseLineSink;

  constructor(firehose: Pick<FirehoseClient, 'send'>, options: FirehoseSinkOptions) {
    this.lines = new FirehoseLineSink(firehose, options);
  }

  async put(lines: ArchiveLine[]): Promise<number> {
    return (await this.lines.put(lines.map((line) => line.json))).lost;
  }
}
