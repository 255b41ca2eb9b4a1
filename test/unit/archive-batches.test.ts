/**
 * The archive's batches, on a sink that records what it is given: each record serialised once, batches
 * counted in UTF-8 bytes, records that linger sharing a batch across calls and drained on stop, and a
 * sink's partial loss counted record by record (decisions = archived + lost).
 */
import { describe, expect, it } from 'vitest';
import { ARCHIVE_BATCH_BYTES, Archive } from '#shared/app/archive.ts';
import { KeyedHash } from '#shared/app/keyed-hash.ts';
import type { ArchiveRecord } from '#shared/domain/archive.ts';
import type { ArchiveLine, ArchiveSink } from '#shared/ports.ts';

const hashes = new KeyedHash('archive-batches-test-secret-0123456789abcdef');

const aRecord = (write: number, campaignId = 'spring'): ArchiveRecord => ({
  v: 1,
  at: '2026-12-01T10:00:00.123Z',
  pseudonym: 'Qm9uam91ci1sZS1tb25kZQ',
  shard: 7,
  write,
  index: 0,
  type: 'decision',
  ref: `ref-${write}`,
  channel: 'email',
  kind: 'marketing',
  campaignId,
  policyVersion: 2,
  outcome: 'accepted',
  outcomeChannel: 'email',
});

/** A sink that keeps each batch it is given, and loses the lines `loses` names. */
function recordingSink(loses: (line: ArchiveLine) => boolean = () => false) {
  const batches: ArchiveLine[][] = [];
  const sink: ArchiveSink = {
    put: async (lines) => {
      batches.push(lines);
      return lines.filter(loses).length;
    },
  };
  return { sink, batches };
}

/** Lets the group commit's pending turn run. */
const tick = () => new Promise((r) => setImmediate(() => setTimeout(r, 0)));

describe('Archive', () => {
  it('hands the sink each record as its JSON line, with its partition and its size in UTF-8 bytes', async () => {
    const { sink, batches } = recordingSink();
    const archive = new Archive(sink, hashes);
    const record = aRecord(1, 'soldes-d’été');

    await archive.emit([record]);

    const [line] = batches.flat();
    expect(JSON.parse(line?.json ?? '')).toEqual(record);
    expect(line).toMatchObject({ day: '2026-12-01', shard: 7 });
    expect(line?.bytes).toBe(Buffer.byteLength(line?.json ?? ''));
    expect(line?.bytes).toBeGreaterThan(line?.json.length ?? 0);
  });

  it('keeps every batch under 4 MiB counted in bytes, not characters', async () => {
    // Prepare: 30 records of 100,000 two-byte characters: 3 M characters, but 6 MB of UTF-8
    const { sink, batches } = recordingSink();
    const archive = new Archive(sink, hashes);
    const records = Array.from({ length: 30 }, (_, i) => aRecord(i, 'é'.repeat(100_000)));

    // Act
    await archive.emit(records);

    // Assess
    const bytes = batches.map((b) => b.reduce((n, line) => n + Buffer.byteLength(`${line.json}\n`), 0));
    expect(batches.length).toBeGreaterThan(1);
    expect(Math.max(...bytes)).toBeLessThanOrEqual(ARCHIVE_BATCH_BYTES);
    expect(batches.flat()).toHaveLength(30);
  });

  it('lets the records of separate calls that linger share one batch, and drains them on stop', async () => {
    // Prepare: a linger no test waits for
    const { sink, batches } = recordingSink();
    const archive = new Archive(sink, hashes, { lingerMs: 60_000 });

    // Act: three answers' records, in turns of their own
    for (const write of [1, 2, 3]) {
      void archive.emit([aRecord(write)], { lingers: true });
      await tick();
    }
    const beforeDrain = batches.length;
    await archive.drain();

    // Assess: one batch, written on drain, nothing lost
    expect(beforeDrain).toBe(0);
    expect(batches.map((b) => b.map((line) => JSON.parse(line.json).write))).toEqual([[1, 2, 3]]);
    expect({ archived: archive.archived, lost: archive.lost }).toEqual({ archived: 3, lost: 0 });
  });

  it('does not hold back records whose caller waits for them', async () => {
    const { sink, batches } = recordingSink();
    const archive = new Archive(sink, hashes, { lingerMs: 60_000 });

    await archive.emit([aRecord(1)]);

    expect(batches).toHaveLength(1);
  });

  it('counts as lost only the lines a sink did not take, and the rest as archived', async () => {
    const { sink } = recordingSink((line) => line.json.includes('"ref-2"'));
    const archive = new Archive(sink, hashes);

    await archive.emit([aRecord(1), aRecord(2), aRecord(3)]);

    expect({ archived: archive.archived, lost: archive.lost }).toEqual({ archived: 2, lost: 1 });
  });

  it('counts every line of a batch as lost when the sink fails outright', async () => {
    const archive = new Archive({ put: () => Promise.reject(new Error('disk full')) }, hashes);

    await archive.emit([aRecord(1), aRecord(2)]);

    expect({ archived: archive.archived, lost: archive.lost }).toEqual({ archived: 0, lost: 2 });
  });
});
