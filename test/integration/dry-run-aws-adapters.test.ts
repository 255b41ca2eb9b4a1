/**
 * The dry-run's AWS adapters against mocked clients (no local engine of S3 or Step Functions is among
 * the project's): the S3 archive reader (its partitions up to the period's end, gzip JSON lines, pages)
 * and the Step Functions runner (one execution per job, named after it).
 */
import { gzipSync } from 'node:zlib';
import {
  GetObjectCommand,
  type GetObjectCommandInput,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { S3ArchiveReader } from '#shared/adapters/archive/s3.ts';
import { StepFunctionsRunner } from '#shared/adapters/archive/sfn-runner.ts';
import type { ArchiveRecord } from '#shared/domain/archive.ts';
import type { DryRunJob } from '#shared/ports.ts';

const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
afterEach(() => {
  s3.reset();
  sfn.reset();
});

const record = (at: string, shard: number, write: number): ArchiveRecord => ({
  v: 1,
  type: 'feedback',
  at,
  pseudonym: 'Qm9uam91ci1sZS1tb25kZQ',
  shard,
  write,
  index: 0,
  channel: 'email',
  feedback: 'unsubscribed',
});
const linesOf = (records: ArchiveRecord[]) => `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;

/** A bucket of objects (key → body), answering ListObjectsV2 (with delimiter, pages of `pageSize`) and GetObject. */
function bucket(objects: Record<string, Buffer>, pageSize = 1000) {
  const keys = Object.keys(objects).sort();
  s3.on(ListObjectsV2Command).callsFake((input: ListObjectsV2CommandInput) => {
    const under = keys.filter((k) => k.startsWith(input.Prefix ?? ''));
    if (input.Delimiter) {
      const folders = [
        ...new Set(under.map((k) => k.slice(0, k.indexOf('/', (input.Prefix ?? '').length) + 1))),
      ];
      return { CommonPrefixes: folders.map((Prefix) => ({ Prefix })), IsTruncated: false };
    }
    const start = Number(input.ContinuationToken ?? 0);
    const page = under.slice(start, start + pageSize);
    const more = start + pageSize < under.length;
    return {
      Contents: page.map((Key) => ({ Key, Size: objects[Key]?.length })),
      IsTruncated: more,
      ...(more ? { NextContinuationToken: String(start + pageSize) } : {}),
    };
  });
  // The body as the SDK gives it, through the one method the reader uses.
  s3.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => ({
    Body: { transformToByteArray: async () => new Uint8Array(objects[input.Key ?? ''] ?? Buffer.alloc(0)) },
  }));
}

describe('S3ArchiveReader', () => {
  const day1 = [record('2026-12-01T10:00:00.000Z', 3, 1), record('2026-12-01T11:00:00.000Z', 3, 2)];
  const day2 = [record('2026-12-02T10:00:00.000Z', 3, 3)];
  const other = [record('2026-12-01T10:00:00.000Z', 12, 1)];
  const later = [record('2026-12-03T10:00:00.000Z', 3, 4)];
  const objects = {
    'archive/day=2026-12-01/shard=03/governor-archive-1-a.gz': gzipSync(linesOf(day1)),
    'archive/day=2026-12-02/shard=03/governor-archive-1-b.gz': gzipSync(linesOf(day2)),
    'archive/day=2026-12-01/shard=12/governor-archive-1-c.gz': gzipSync(linesOf(other)),
    'archive/day=2026-12-03/shard=03/governor-archive-1-d.gz': gzipSync(linesOf(later)),
  };
  const reader = () => new S3ArchiveReader(new S3Client({ region: 'eu-west-1' }), 'archive-bucket');

  it("groups every day's partitions up to the period's end by shard, with their bytes", async () => {
    bucket(objects);

    const shards = await reader().shards(Date.parse('2026-12-03T00:00:00.000Z'));

    expect(shards.map((s) => [s.shard, s.parts])).toEqual([
      [
        3,
        [
          'archive/day=2026-12-01/shard=03/governor-archive-1-a.gz',
          'archive/day=2026-12-02/shard=03/governor-archive-1-b.gz',
        ],
      ],
      [12, ['archive/day=2026-12-01/shard=12/governor-archive-1-c.gz']],
    ]);
    expect(shards[0]?.bytes).toBe(
      objects['archive/day=2026-12-01/shard=03/governor-archive-1-a.gz'].length +
        objects['archive/day=2026-12-02/shard=03/governor-archive-1-b.gz'].length,
    );
  });

  it("lists one shard's partitions alone when asked, every page of them", async () => {
    bucket(objects, 1);

    const shards = await reader().shards(Date.parse('2026-12-04T00:00:00.000Z'), 3);

    expect(shards).toHaveLength(1);
    expect(shards[0]?.parts).toHaveLength(3);
    const prefixes = s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.Prefix);
    expect(prefixes.filter((p) => p?.includes('shard=12'))).toEqual([]);
  });

  it('reads the gzip JSON lines of its objects, skipping a line that is not a record', async () => {
    bucket({
      ...objects,
      'archive/day=2026-12-02/shard=03/governor-archive-1-b.gz': gzipSync(`${linesOf(day2)}{"half":`),
    });
    const [shard] = await reader().shards(Date.parse('2026-12-03T00:00:00.000Z'), 3);

    const records = await reader().read(shard ?? { shard: 3, parts: [] });

    expect(records).toEqual([...day1, ...day2]);
  });
});

describe('StepFunctionsRunner', () => {
  it("starts one execution of the state machine per job, named after it, with the job's id as input", async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:execution', startDate: new Date() });
    const job = { id: 'o3C1mBq0yZr5TgXa' } as DryRunJob;

    await new StepFunctionsRunner(new SFNClient({ region: 'eu-west-1' }), 'arn:machine').start(job);

    expect(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { stateMachineArn: 'arn:machine', name: 'o3C1mBq0yZr5TgXa', input: '{"jobId":"o3C1mBq0yZr5TgXa"}' },
    ]);
  });

  it('fails the start when Step Functions refuses it (the API answers the error)', async () => {
    sfn.on(StartExecutionCommand).rejects(new Error('ExecutionAlreadyExists'));

    await expect(
      new StepFunctionsRunner(new SFNClient({ region: 'eu-west-1' }), 'arn:machine').start({
        id: 'x',
      } as DryRunJob),
    ).rejects.toThrow('ExecutionAlreadyExists');
  });
});
