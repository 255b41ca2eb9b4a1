/**
 * The archive on AWS, read back: the objects Firehose wrote under `archive/day=YYYY-MM-DD/shard=NN/`
 * (infra/constructs/decision-archive.ts), gzip-compressed JSON lines, the layout of the local archive.
 */
import { gunzipSync } from 'node:zlib';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  S3Client,
} from '@aws-sdk/client-s3';
import { ARCHIVE_SHARDS, type ArchiveRecord } from '../../domain/archive.ts';
import type { ArchiveReader, ArchiveShard } from '../../ports.ts';
import { parseArchiveLines } from './local.ts';

/** Where the archive's objects are in the bucket (the stream's prefix). */
export const ARCHIVE_KEY_PREFIX = 'archive/';

export function createS3Client(region: string): S3Client {
  return new S3Client({ region, maxAttempts: 5 });
}

const shardFolder = (shard: number) => `shard=${String(shard).padStart(2, '0')}/`;

export class S3ArchiveReader implements ArchiveReader {
  constructor(
    private readonly s3: Pick<S3Client, 'send'>,
    private readonly bucket: string,
  ) {}

  /** Every page of the listing of `input` (a prefix, a delimiter), following its continuation tokens. */
  private async *pages(input: {
    Prefix: string;
    Delimiter?: string;
  }): AsyncGenerator<ListObjectsV2CommandOutput> {
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          ...input,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** The common prefixes (folders) under `prefix`, every page. */
  private async folders(prefix: string): Promise<string[]> {
    const folders: string[] = [];
    for await (const page of this.pages({ Prefix: prefix, Delimiter: '/' }))
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) folders.push(p.Prefix);
    return folders;
  }

  /** The objects under `prefix` (keys and sizes), every page. */
  private async objects(prefix: string, into: ArchiveShard): Promise<void> {
    for await (const page of this.pages({ Prefix: prefix }))
      for (const o of page.Contents ?? []) {
        if (!o.Key || o.Key.endsWith('/')) continue;
        into.parts.push(o.Key);
        into.bytes = (into.bytes ?? 0) + (o.Size ?? 0);
      }
  }

  async shards(to: number, only?: number): Promise<ArchiveShard[]> {
    const last = new Date(to - 1).toISOString().slice(0, 10);
    const days = (await this.folders(ARCHIVE_KEY_PREFIX))
      .map((folder) => /day=(\d{4}-\d{2}-\d{2})\/$/.exec(folder)?.[1])
      .filter((day): day is string => day !== undefined && day <= last)
      .sort();
    const numbers = only === undefined ? Array.from({ length: ARCHIVE_SHARDS }, (_, i) => i) : [only];
    const shards: ArchiveShard[] = [];
    for (const shard of numbers) {
      const entry: ArchiveShard = { shard, parts: [], bytes: 0 };
      for (const day of days)
        await this.objects(`${ARCHIVE_KEY_PREFIX}day=${day}/${shardFolder(shard)}`, entry);
      if (entry.parts.length > 0) shards.push(entry);
    }
    return shards;
  }

  async read(shard: ArchiveShard): Promise<ArchiveRecord[]> {
    const records: ArchiveRecord[] = [];
    for (const key of shard.parts) {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const bytes = await object.Body?.transformToByteArray();
      if (!bytes) continue;
      const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
      parseArchiveLines((gzipped ? gunzipSync(bytes) : Buffer.from(bytes)).toString('utf8'), records);
    }
    return records;
  }
}
