/**
 * The cost per million decisions: the bench's measured figures priced with the list in bench/lib/cost.ts.
 */
import { describe, expect, it } from 'vitest';
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
