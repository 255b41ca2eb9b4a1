/**
 * The delivery journal of local mode (the in-memory SQS engine's durability): every queued delivery is
 * on disk before the caller hears "accepted", a sweep keeps exactly what the callback keeps, appends
 * that race a sweep land in the next segment, and a line torn by a crash is skipped.
 */
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
  await rm(dir, { recursive: true, force: true });
});

/** Every distinct delivery the journal holds (a sweep that keeps everything). */
async function contents(journal: DeliveryJournal): Promise<string[]> {
  const seen: string[] = [];
  await journal.sweep(async (chunk) => {
    seen.push(...chunk.map((d) => d.messageId));
    return chunk;
  });
  return seen.sort();
}

describe('DeliveryJournal', () => {
  it('journals deliveries before the queue gets them, and a sweep keeps only what it is told to', async () => {
    const journal = new DeliveryJournal(dir);
    const queued: string[] = [];
    const queue = new JournaledDeliveryQueue(
      {
        enqueue: async (ds) => {
          // By the time the queue is called, the journal has the deliveries.
          expect(await contents(new DeliveryJournal(dir))).toEqual(
            expect.arrayContaining(ds.map((d) => d.messageId)),
          );
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
