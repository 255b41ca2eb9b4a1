/**
 * The local archive: JSON-lines files under `<dir>/day=YYYY-MM-DD/shard=NN/`, one file per process and
 * partition (several processes write at once without sharing a file), appended to a batch at a time.
 * The same record format as the S3 archive, the same partitions.
 */
import { randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type ArchiveRecord, archiveRecordSchema } from '../../domain/archive.ts';
import { logger } from '../../observability/index.ts';
import type { ArchiveLine, ArchiveReader, ArchiveShard, ArchiveSink } from '../../ports.ts';

const partitionOf = (day: string, shard: number) =>
  join(`day=${day}`, `shard=${String(shard).padStart(2, '0')}`);

/**
 * Appends the bytes to the file (opened with O_APPEND), synchronously: a few KB into the page cache take
 * microseconds, where an asynchronous write's round trip through libuv's thread pool cost the answering
 * process ~38 µs of CPU a write (measured), about one write a record under single-message requests.
 * One call writes whole lines, so batches never split each other's lines.
 */
function appendAll(fd: number, bytes: Buffer): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
}

export class LocalArchiveSink implements ArchiveSink {
  /** This process's file name in every partition. */
  private readonly file = `${process.pid}-${randomBytes(4).toString('hex')}.jsonl`;
  /**
   * This process's file in each partition of the latest day, kept open: a batch's records spread over
   * up to 256 shards, and opening and closing a file for each append cost the answering process more
   * than the records themselves. A new day closes the previous day's files.
   */
  private readonly files = new Map<string, Promise<FileHandle>>();
  private day = '';

  constructor(private readonly dir: string) {}

  /** Appends the lines to their partitions' files; resolves with the lines of the partitions that failed. */
  async put(lines: ArchiveLine[]): Promise<number> {
    const byPartition = new Map<string, string[]>();
    for (const line of lines) {
      if (line.day > this.day) this.startDay(line.day);
      const partition = partitionOf(line.day, line.shard);
      const texts = byPartition.get(partition);
      if (texts) texts.push(line.json);
      else byPartition.set(partition, [line.json]);
    }
    let lost = 0;
    for (const [partition, texts] of byPartition) {
      try {
        const file = await this.fileOf(partition);
        appendAll(file.fd, Buffer.from(`${texts.join('\n')}\n`, 'utf8'));
      } catch (error) {
        lost += texts.length;
        logger.error('archive partition not written', { error: error as Error });
      }
    }
    return lost;
  }

  private fileOf(partition: string): Promise<FileHandle> {
    let file = this.files.get(partition);
    if (!file) {
      const folder = join(this.dir, partition);
      file = mkdir(folder, { recursive: true }).then(() => open(join(folder, this.file), 'a'));
      // A failed open is retried by the next batch.
      file.catch(() => this.files.delete(partition));
      this.files.set(partition, file);
    }
    return file;
  }

  private startDay(day: string): void {
    this.day = day;
    for (const [partition, file] of this.files) {
      if (partition.startsWith(`day=${day}`)) continue;
      this.files.delete(partition);
      void file.then((f) => f.close()).catch(() => undefined);
    }
  }
}

export class LocalArchiveReader implements ArchiveReader {
  constructor(private readonly dir: string) {}

  async shards(to: number, only?: number): Promise<ArchiveShard[]> {
    const last = new Date(to - 1).toISOString().slice(0, 10);
    const byShard = new Map<number, ArchiveShard>();
    const days = (await readdir(this.dir).catch(() => [] as string[]))
      .filter((d) => /^day=\d{4}-\d{2}-\d{2}$/.test(d) && d.slice(4) <= last)
      .sort();
    for (const day of days) {
      for (const folder of await readdir(join(this.dir, day))) {
        const match = /^shard=(\d+)$/.exec(folder);
        if (!match) continue;
        const shard = Number(match[1]);
        if (only !== undefined && shard !== only) continue;
        const entry = byShard.get(shard) ?? { shard, parts: [], bytes: 0 };
        for (const file of await readdir(join(this.dir, day, folder))) {
          if (!file.endsWith('.jsonl')) continue;
          const path = join(this.dir, day, folder, file);
          entry.parts.push(path);
          entry.bytes = (entry.bytes ?? 0) + (await stat(path)).size;
        }
        byShard.set(shard, entry);
      }
    }
    return [...byShard.values()].sort((a, b) => a.shard - b.shard);
  }

  async read(shard: ArchiveShard): Promise<ArchiveRecord[]> {
    const records: ArchiveRecord[] = [];
    for (const path of shard.parts) parseArchiveLines(await readFile(path, 'utf8'), records);
    return records;
  }
}

/**
 * The records of JSON lines, appended to `into`: a line that is not a record (half-written by a process
 * killed mid-append, or malformed) is skipped, not fatal. The local and the S3 archive read alike.
 */
export function parseArchiveLines(text: string, into: ArchiveRecord[]): ArchiveRecord[] {
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    const record = archiveRecordSchema.safeParse(parsed);
    if (record.success) into.push(record.data);
  }
  return into;
}
