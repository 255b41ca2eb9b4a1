/**
 * The Firehose archive sink against a mocked Firehose client (no local engine of Firehose exists):
 * what it sends, what it sends again, and what it counts as lost — without ever rejecting; and the
 * archive on it, which counts as lost only what Firehose refused.
 */
import {
  FirehoseClient,
  PutRecordBatchCommand,
  type PutRecordBatchCommandInput,
  ServiceUnavailableException,
} from '@aws-sdk/client-firehose';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { FirehoseArchiveSink, FirehoseLineSink } from '#shared/adapters/archive/firehose-sink.ts';
import { Archive, archiveLineOf } from '#shared/app/archive.ts';
import { KeyedHash } from '#shared/app/keyed-hash.ts';
import { type ArchiveRecord, archiveRecordSchema } from '#shared/domain/archive.ts';

const firehose = mockClient(FirehoseClient);
afterEach(() => firehose.reset());

const waits: number[] = [];
const sink = (options: { maxRecordBytes?: number; maxAttempts?: number } = {}) => {
  waits.length = 0;
  return new FirehoseLineSink(new FirehoseClient({ region: 'eu-west-1' }), {
    streamName: 'governor-archive',
    backoffMs: (attempt) => attempt * 10,
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...options,
  });
};

const lines = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ t: i, o: 'accepted' }));
const inputs = () =>
  firehose.commandCalls(PutRecordBatchCommand).map((c) => c.args[0].input as PutRecordBatchCommandInput);
const dataOf = (input: Partial<PutRecordBatchCommandInput>) =>
  (input.Records ?? []).map((r) => Buffer.from(r.Data ?? new Uint8Array()).toString('utf8'));
/** A PutRecordBatch answer refusing the records at `refused` of `count`. */
const answer = (count: number, refused: number[] = []) => ({
  FailedPutCount: refused.length,
  RequestResponses: Array.from({ length: count }, (_, i) =>
    refused.includes(i)
      ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }
      : { RecordId: `r${i}` },
  ),
});

describe('FirehoseLineSink', () => {
  it('sends the lines packed into records of whole JSON lines, to its stream, in one call', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .callsFake((input: PutRecordBatchCommandInput) => answer(input.Records?.length ?? 0));
    const sent = lines(100);

    const outcome = await sink().put(sent);

    expect(outcome).toEqual({ archived: 100, lost: 0 });
    const [input, ...others] = inputs();
    expect(others).toEqual([]);
    expect(input?.DeliveryStreamName).toBe('governor-archive');
    // 100 lines of ~25 bytes fit one record: one 5 KB unit of ingestion instead of a hundred.
    expect(dataOf(input ?? {})).toEqual([`${sent.join('\n')}\n`]);
  });

  it('splits lines into records of at most maxRecordBytes and the records into calls of at most 500', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .callsFake((input: PutRecordBatchCommandInput) => answer(input.Records?.length ?? 0));
    // Lines of 27-28 bytes; records of 30 bytes hold one each: 1,100 records, in calls of 500, 500, 100.
    const sent = lines(1100);

    const outcome = await sink({ maxRecordBytes: 30 }).put(sent);

    expect(outcome).toEqual({ archived: 1100, lost: 0 });
    expect(inputs().map((i) => i.Records?.length)).toEqual([500, 500, 100]);
    expect(inputs().flatMap(dataOf).join('')).toBe(`${sent.join('\n')}\n`);
  });

  it('sends again only the records Firehose refused, after a backoff, until it takes them', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .resolvesOnce(answer(4, [1, 3]))
      .resolvesOnce(answer(2, [1]))
      .resolves(answer(1));
    const sent = lines(4);

    const outcome = await sink({ maxRecordBytes: 30 }).put(sent);

    expect(outcome).toEqual({ archived: 4, lost: 0 });
    expect(inputs().map(dataOf)).toEqual([
      sent.map((l) => `${l}\n`),
      [`${sent[1]}\n`, `${sent[3]}\n`],
      [`${sent[3]}\n`],
    ]);
    expect(waits).toEqual([20, 30]);
  });

  it('counts as lost, line by line, what Firehose still refuses after the last attempt, and resolves', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .callsFake((input: PutRecordBatchCommandInput) => answer(input.Records?.length ?? 0, [0]));
    // 10 lines in records of 2 lines (56 bytes each): the first record is refused every time.
    const outcome = await sink({ maxRecordBytes: 60, maxAttempts: 3 }).put(lines(10));

    expect(outcome).toEqual({ archived: 8, lost: 2 });
    expect(inputs().map((i) => i.Records?.length)).toEqual([5, 1, 1]);
  });

  it('tries a call that fails outright again, and counts its lines as lost when it keeps failing', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .rejects(new ServiceUnavailableException({ message: 'down', $metadata: { httpStatusCode: 503 } }));

    const outcome = await sink({ maxAttempts: 2 }).put(lines(7));

    expect(outcome).toEqual({ archived: 0, lost: 7 });
    expect(inputs()).toHaveLength(2);
  });

  it('recovers from a call that failed outright once', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .rejectsOnce(new ServiceUnavailableException({ message: 'down', $metadata: { httpStatusCode: 503 } }))
      .resolves(answer(1));

    expect(await sink().put(lines(3))).toEqual({ archived: 3, lost: 0 });
  });

  it('makes no call for no line', async () => {
    expect(await sink().put([])).toEqual({ archived: 0, lost: 0 });
    expect(inputs()).toEqual([]);
  });
});

const record = (write: number): ArchiveRecord => ({
  v: 1,
  at: '2026-12-01T10:00:00.123Z',
  pseudonym: 'Qm9uam91ci1sZS1tb25kZQ',
  write,
  index: 0,
  shard: 7,
  type: 'decision',
  ref: `ref-${write}`,
  channel: 'email',
  kind: 'marketing',
  policyVersion: 2,
  outcome: 'accepted',
  outcomeChannel: 'email',
});
const archiveSink = () =>
  new FirehoseArchiveSink(new FirehoseClient({ region: 'eu-west-1' }), {
    streamName: 'governor-archive',
    maxAttempts: 2,
    sleep: async () => {},
  });

describe('FirehoseArchiveSink', () => {
  it('sends the batch as JSON lines that parse back to the same records', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .callsFake((input: PutRecordBatchCommandInput) => answer(input.Records?.length ?? 0));
    const records = [record(1), record(2), record(3)];

    const lost = await archiveSink().put(records.map(archiveLineOf));

    expect(lost).toBe(0);
    const sent = inputs().flatMap(dataOf).join('').split('\n').filter(Boolean);
    expect(sent.map((line) => archiveRecordSchema.parse(JSON.parse(line)))).toEqual(records);
  });

  it('resolves with how many lines were lost when Firehose keeps refusing them', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .rejects(new ServiceUnavailableException({ message: 'down', $metadata: { httpStatusCode: 503 } }));

    const lost = await archiveSink().put([record(1), record(2)].map(archiveLineOf));

    expect(lost).toBe(2);
  });
});

describe('the archive on Firehose', () => {
  it('counts as lost only the records Firehose refused in a batch it partly took', async () => {
    // Prepare: a record of ~230 bytes a Firehose record, and a stream that refuses, at every attempt,
    // the record of write 2
    firehose.on(PutRecordBatchCommand).callsFake((input: PutRecordBatchCommandInput) => {
      const data = dataOf(input);
      return answer(
        data.length,
        data.flatMap((text, i) => (text.includes('"ref-2"') ? [i] : [])),
      );
    });
    const sink = new FirehoseArchiveSink(new FirehoseClient({ region: 'eu-west-1' }), {
      streamName: 'governor-archive',
      maxRecordBytes: 300,
      maxAttempts: 2,
      sleep: async () => {},
    });
    const archive = new Archive(sink, new KeyedHash('firehose-test-hash-secret-0123456789abcdef'));

    // Act
    await archive.emit([record(1), record(2), record(3)]);
    await archive.drain();

    // Assess: decisions = archived + lost, and only the refused one is lost
    expect({ archived: archive.archived, lost: archive.lost }).toEqual({ archived: 2, lost: 1 });
    expect(inputs().map((i) => i.Records?.length)).toEqual([3, 1]);
  });
});
