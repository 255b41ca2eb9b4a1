import { describe, expect, it } from 'vitest';
import {
  batchRecords,
  FIREHOSE_MAX_BATCH_BYTES,
  FIREHOSE_MAX_BATCH_RECORDS,
  packLines,
} from '#shared/adapters/archive/firehose-sink.ts';

const text = (data: Uint8Array) => Buffer.from(data).toString('utf8');
const line = (i: number, width = 10) => `{"i":${String(i).padStart(width, '0')}}`;

describe('packLines', () => {
  it('packs whole lines, each ending with a newline, into records of at most the given size, in order', () => {
    // Prepare: 10 lines of 17 bytes with their newline; 50 bytes hold 2 of them.
    const lines = Array.from({ length: 10 }, (_, i) => line(i));

    // Act
    const { records, oversized } = packLines(lines, 50);

    // Assess
    expect(oversized).toBe(0);
    expect(records.map((r) => r.lines)).toEqual([2, 2, 2, 2, 2]);
    for (const r of records) expect(r.data.length).toBeLessThanOrEqual(50);
    expect(records.map((r) => text(r.data)).join('')).toBe(`${lines.join('\n')}\n`);
  });

  it('fills a record up to the limit exactly', () => {
    const lines = Array.from({ length: 6 }, (_, i) => line(i));

    const { records } = packLines(lines, 17 * 3);

    expect(records.map((r) => [r.lines, r.data.length])).toEqual([
      [3, 51],
      [3, 51],
    ]);
  });

  it('counts bytes, not characters, and keeps a line that already ends with a newline as it is', () => {
    const { records } = packLines(['"é"\n', '"é"'], 10);

    expect(records.map((r) => text(r.data))).toEqual(['"é"\n"é"\n']);
    expect(records[0]?.data.length).toBe(10);
  });

  it('leaves out a line longer than a record can be, and counts it', () => {
    const { records, oversized } = packLines(['x'.repeat(100), line(1)], 50);

    expect(oversized).toBe(1);
    expect(records.map((r) => text(r.data))).toEqual([`${line(1)}\n`]);
  });
});

describe('batchRecords', () => {
  const record = (bytes: number) => ({ data: new Uint8Array(bytes) });

  it('puts at most 500 records in a call', () => {
    const calls = batchRecords(Array.from({ length: 1201 }, () => record(10)));

    expect(calls.map((c) => c.length)).toEqual([FIREHOSE_MAX_BATCH_RECORDS, 500, 201]);
  });

  it('puts at most 4 MiB in a call, and a record that would pass it in the next call', () => {
    const MiB = 1024 * 1024;
    const calls = batchRecords([record(MiB), record(MiB), record(MiB), record(MiB), record(1), record(MiB)]);

    expect(calls.map((c) => c.map((r) => r.data.length))).toEqual([
      [MiB, MiB, MiB, MiB],
      [1, MiB],
    ]);
    for (const c of calls)
      expect(c.reduce((n, r) => n + r.data.length, 0)).toBeLessThanOrEqual(FIREHOSE_MAX_BATCH_BYTES);
  });

  it('makes no call for no record', () => {
    expect(batchRecords([])).toEqual([]);
  });
});
