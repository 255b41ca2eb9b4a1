/**
 * The delivery journal of local mode (the in-memory SQS engine's durability): every queued delivery is
 * on disk before the caller hears "accepted", a sweep keeps exactly what the callback keeps, appends
 * that race a sweep land in the next segment, journals never share a segment (two created in the same
 * millisecond included), a sweep leaves a running journal's live segment alone but takes a killed
 * process's, and a line torn by a crash is skipped.
 */
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeliveryJournal, JournaledDeliveryQueue } from '#shared/adapters/sqs/delivery-journal.ts';
import type { Delivery } from '#shared/ports.ts';

let dir: string;
const aDelivery = (i: number): Delivery => ({
  messageId: `m-${i}`,
  customerId: `c-${i % 7}`,
  channel: 'email',
  kind: 'marketing',
  payload: { i },
  acceptedAt: new Date(0).toISOString(),
  policyVersion: 1,
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'governor-journal-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

/** Every distinct delivery the journal's sweep finds (a sweep that keeps everything). */
async function contents(journal: DeliveryJournal): Promise<string[]> {
  const seen: string[] = [];
  await journal.sweep(async (chunk) => {
    seen.push(...chunk.map((d) => d.messageId));
    return chunk;
  });
  return seen.sort();
}

/** Every delivery written in the folder's segments, live ones included, read as a crash would leave them. */
async function onDisk(): Promise<string[]> {
  const ids: string[] = [];
  for (const name of await readdir(dir)) {
    for (const line of (await readFile(join(dir, name), 'utf8')).split('\n'))
      if (line.trim() !== '') ids.push((JSON.parse(line) as Delivery).messageId);
  }
  return ids.sort();
}

/** A process id that no process has any more. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid ?? 0;
}

describe('DeliveryJournal', () => {
  it('journals deliveries before the queue gets them, and a sweep keeps only what it is told to', async () => {
    const journal = new DeliveryJournal(dir);
    const queued: string[] = [];
    const queue = new JournaledDeliveryQueue(
      {
        enqueue: async (ds) => {
          // By the time the queue is called, the deliveries are on disk.
          expect(await onDisk()).toEqual(expect.arrayContaining(ds.map((d) => d.messageId)));
          queued.push(...ds.map((d) => d.messageId));
        },
      },
      journal,
    );
    await queue.enqueue([aDelivery(1), aDelivery(2), aDelivery(3)]);

    const summary = await journal.sweep(async (chunk) => chunk.filter((d) => d.messageId !== 'm-2'));

    expect(queued).toEqual(['m-1', 'm-2', 'm-3']);
    expect(summary).toMatchObject({ entries: 3, kept: 2 });
    expect(await contents(journal)).toEqual(['m-1', 'm-3']);
    expect(await onDisk()).toEqual(['m-1', 'm-3']);
    await journal.close();
  });

  it('loses no append that races a sweep', async () => {
    const journal = new DeliveryJournal(dir);
    const appends = Array.from({ length: 200 }, (_, i) => journal.append([aDelivery(i)]));
    const sweeps = [journal.sweep(async (c) => c), journal.sweep(async (c) => c)];
    await Promise.all([...appends, ...sweeps]);
    await journal.close();

    expect(await contents(new DeliveryJournal(dir))).toHaveLength(200);
  });

  it('gives two journals created in the same millisecond segments of their own', async () => {
    // Prepare: the same clock reading for both (what made their segment names collide).
    vi.spyOn(Date, 'now').mockReturnValue(1_796_000_000_000);
    const api = new DeliveryJournal(dir);
    const sweeper = new DeliveryJournal(dir);
    vi.restoreAllMocks();

    // Act: one appends, the other sweeps everything it may take, the first appends again.
    await api.append([aDelivery(1)]);
    await sweeper.sweep(async (chunk) => chunk);
    await api.append([aDelivery(2)]);
    await api.close();

    // Assess: nothing the first one wrote was taken from under it.
    expect(await onDisk()).toEqual(['m-1', 'm-2']);
    expect(await contents(sweeper)).toEqual(['m-1', 'm-2']);
  });

  it("leaves a running journal's live segment alone and takes the one a killed process left", async () => {
    const running = new DeliveryJournal(dir);
    await running.append([aDelivery(1)]);
    const pid = await deadPid();
    await writeFile(
      join(dir, `deliveries-${pid}-0123456789ab-000000.live.jsonl`),
      `${JSON.stringify(aDelivery(2))}\n`,
    );

    const sweeper = new DeliveryJournal(dir);
    const taken = await contents(sweeper);

    expect(taken).toEqual(['m-2']);
    await running.close();
    expect(await contents(sweeper)).toEqual(['m-1', 'm-2']);
  });

  it('takes every segment, live ones of running processes included, in the recovery sweep on start', async () => {
    const previous = new DeliveryJournal(dir);
    await previous.append([aDelivery(1)]);

    const seen: string[] = [];
    await new DeliveryJournal(dir).sweep(
      async (chunk) => {
        seen.push(...chunk.map((d) => d.messageId));
        return chunk;
      },
      { takeEveryLiveSegment: true },
    );

    expect(seen).toEqual(['m-1']);
  });

  it('closes its live segment shortly after the first append, so that a sweep can take it', async () => {
    const journal = new DeliveryJournal(dir, { closeAfterMs: 20 });
    await journal.append([aDelivery(1)]);
    const sweeper = new DeliveryJournal(dir);
    await vi.waitFor(async () =>
      expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/\.live\./)),
    );

    expect(await contents(sweeper)).toEqual(['m-1']);
  });

  it('reads the segments a killed process left, skipping a torn last line', async () => {
    const before = new DeliveryJournal(dir);
    await before.append([aDelivery(1), aDelivery(2)]);
    await before.close();
    const [segment] = await readdir(dir);
    await appendFile(join(dir, segment ?? ''), '{"messageId":"m-3","custo');

    const after = new DeliveryJournal(dir);
    expect(await contents(after)).toEqual(['m-1', 'm-2']);
  });
});
