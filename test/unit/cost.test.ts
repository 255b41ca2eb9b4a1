/**
 * The cost per million decisions: the bench's measured figures priced with the list in bench/lib/cost.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { measureArchive } from '../../bench/lib/archive-bytes.ts';
import { costTable, type Measured, PRICES, sendInvocationMs } from '../../bench/lib/cost.ts';

const measured = (overrides: Partial<Measured> = {}): Measured => ({
  label: 'test',
  writeUnits: 1,
  readUnits: 0,
  sqsRequests: 0.1,
  cpuMs: 1,
  acceptedShare: 0.5,
  archiveDays: 90,
  batchRequestBytes: 100 * 1024,
  batchSize: 500,
  ...overrides,
});
const row = (rows: ReturnType<typeof costTable>, start: string) => {
  const found = rows.find((r) => r.component.startsWith(start));
  if (!found) throw new Error(`no row ${start}`);
  return found;
};

describe('costTable', () => {
  it('prices the measured write units and the count write once per invocation', () => {
    const rows = costTable(measured({ writeUnits: 1.1 }));

    const writes = row(rows, 'DynamoDB write');
    expect(writes.single).toBeCloseTo((1.1 + 1) * PRICES.dynamodb.writeRequestUnit * 1e6, 9);
    expect(writes.batch).toBeCloseTo((1.1 + 1 / 500) * PRICES.dynamodb.writeRequestUnit * 1e6, 9);
  });

  it('spreads a batch request and its invocation over the batch, and bills API requests per 512 KB', () => {
    const rows = costTable(measured({ batchRequestBytes: 600 * 1024 }));

    expect(row(rows, 'API Gateway').single).toBeCloseTo(1.0, 9);
    expect(row(rows, 'API Gateway').batch).toBeCloseTo((2 / 500) * 1.0, 9);
    expect(row(rows, 'Lambda requests').batch).toBeCloseTo(0.2 / 500, 9);
  });

  it('adds the archive rows only when archive bytes were measured, a lone decision billed as 5 KB', () => {
    expect(costTable(measured()).some((r) => r.component.startsWith('Firehose'))).toBe(false);

    const rows = costTable(measured({ archiveBytes: 400, archiveStoredBytes: 80, archiveLines: 1 }));

    const ingestion = row(rows, 'Firehose ingestion');
    expect(ingestion.single).toBeCloseTo(((5 * 1024) / 1024 ** 3) * PRICES.firehose.ingestionGb * 1e6, 9);
    // In a batch of 500 the lines fill records: 400 B a decision, more than 5 KB / 500.
    expect(ingestion.batch).toBeCloseTo((400 / 1024 ** 3) * PRICES.firehose.ingestionGb * 1e6, 9);
    expect(row(rows, 'S3 storage').single).toBeCloseTo(
      (80 / 1024 ** 3) * 3 * PRICES.s3.storageGbMonth * 1e6,
      9,
    );
  });
});

describe('sendInvocationMs', () => {
  it('bills a batch for its CPU time when that exceeds its overlapped DynamoDB waits', () => {
    // 500 decisions of 1 ms CPU: 500 ms of CPU, more than 16 rounds of 6 ms UpdateItems.
    expect(sendInvocationMs(measured(), 500)).toBe(500 + 10 + 6);
  });
});

describe('measureArchive', () => {
  it("measures the archive's lines, their bytes and their gzip bytes per line, in every partition", async () => {
    // Prepare: two partitions of repetitive lines, as a run writes them.
    const dir = await mkdtemp(join(tmpdir(), 'governor-archive-bytes-'));
    const line = (i: number) =>
      `${JSON.stringify({ v: 1, type: 'decision', outcome: 'accepted', write: i })}\n`;
    const lines = (n: number) => Array.from({ length: n }, (_, i) => line(i)).join('');
    try {
      await mkdir(join(dir, 'day=2026-12-01', 'shard=03'), { recursive: true });
      await mkdir(join(dir, 'day=2026-12-02', 'shard=11'), { recursive: true });
      await writeFile(join(dir, 'day=2026-12-01', 'shard=03', 'a.jsonl'), lines(300));
      await writeFile(join(dir, 'day=2026-12-02', 'shard=11', 'b.jsonl'), lines(100));

      // Act
      const measured = await measureArchive(dir);

      // Assess
      expect(measured?.lines).toBe(400);
      expect(measured?.bytesPerLine).toBeCloseTo(
        (Buffer.byteLength(lines(300)) + Buffer.byteLength(lines(100))) / 400,
        9,
      );
      expect(measured?.storedBytesPerLine).toBeLessThan((measured?.bytesPerLine ?? 0) / 2);
      expect(await measureArchive(join(dir, 'nothing-here'))).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
