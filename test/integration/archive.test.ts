/**
 * The decision archive on dynalite and the local files: what the send, release, preference, event and
 * erasure paths leave in it, that it adds no DynamoDB call to a decision, that a failing archive fails
 * no decision and loses exactly what it counts, and that an erased customer's pseudonym no longer
 * resolves while nothing in the archive names the customer or the message.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArchiveReader } from '#shared/adapters/archive/local.ts';
import { Archive, pseudonymOf } from '#shared/app/archive.ts';
import { recordEvents } from '#shared/app/events.ts';
import { eraseCustomer, putPreferences } from '#shared/app/preferences.ts';
import { releaseDue } from '#shared/app/release.ts';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import { createDeliveryRoot, type Root } from '#shared/composition.ts';
import { type ArchiveRecord, byLogOrder } from '#shared/domain/archive.ts';
import { messageSchema } from '#shared/domain/schemas.ts';
import type { ArchiveLine } from '#shared/ports.ts';
import { CallMeter } from '../../bench/lib/meter.ts';
import { type EnginesFixture, startEnginesFixture } from '../support/engines-fixture.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-02T09:00:00.000Z');

let fixture: EnginesFixture;
let now = T0;
const clock = { now: () => now };
let root: Root;
let archiveDir: string;

beforeAll(async () => {
  fixture = await startEnginesFixture({
    name: 'archive',
    clock,
    env: (dataDir) => ({ GOVERNOR_ARCHIVE_DIR: join(dataDir, 'archive') }),
    policy: {
      caps: [{ id: 'minute', limit: 1, window: 'PT1M' }],
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    },
  });
  archiveDir = join(fixture.dataDir, 'archive');
  root = fixture.root;
});

afterAll(() => fixture?.stop());

const message = (customerId: string, messageId: string, extra: Record<string, unknown> = {}) =>
  messageSchema.parse({
    messageId,
    customerId,
    channel: 'email',
    campaignId: 'spring',
    expiresAt: new Date(T0 + 60 * MINUTE).toISOString(),
    payload: { address: `${customerId}@example.com` },
    ...extra,
  });

/** What is archived once the records in flight have settled (as a function does before it answers). */
async function archived(): Promise<ArchiveRecord[]> {
  await root.archive?.drain();
  const reader = new LocalArchiveReader(archiveDir);
  const records: ArchiveRecord[] = [];
  for (const shard of await reader.shards(now + 86_400_000)) records.push(...(await reader.read(shard)));
  return records;
}

describe('the decision archive', () => {
  it("records a customer's decisions, releases and changes in the log's order, naming neither customer nor message", async () => {
    // Prepare
    const customerId = 'archive-customer-1';
    const deps: SendDeps = { ...root, counter: undefined };

    // Act: accepted, deferred (the minute's cap), a retry, a preference change, an unsubscribe, the release
    await sendMessages(deps, [message(customerId, 'msg-a'), message(customerId, 'msg-b')]);
    await sendMessages(deps, [message(customerId, 'msg-a')]);
    now += 1000;
    await putPreferences(
      { ...root, audit: root.audit },
      customerId,
      { channels: {}, topics: { news: false } },
      'test',
      'k',
    );
    await recordEvents(root, [
      { customerId, channel: 'sms', type: 'unsubscribed', at: new Date(now).toISOString() },
    ]);
    now = T0 + 2 * MINUTE + 5000;
    await releaseDue(createDeliveryRoot(root).release);

    // Assess
    const pseudonym = await pseudonymOf(
      { archive: root.archive as Archive, store: root.customerStore },
      customerId,
    );
    const mine = (await archived()).filter((r) => r.pseudonym === pseudonym).sort(byLogOrder);
    expect(mine.map((r) => [r.type, 'outcome' in r ? r.outcome : undefined])).toEqual([
      ['decision', 'accepted'],
      ['decision', 'deferred'],
      ['preferences', undefined],
      ['feedback', undefined],
      ['release', 'accepted'],
    ]);
    const [, deferred, , , release] = mine;
    expect(deferred?.type === 'decision' && release?.type === 'release' && deferred.ref === release.ref).toBe(
      true,
    );
    const text = await Promise.all(
      (await new LocalArchiveReader(archiveDir).shards(now + 1))
        .flatMap((s) => s.parts)
        .map((p) => readFile(p, 'utf8')),
    );
    expect(text.join('')).not.toContain(customerId);
    expect(text.join('')).not.toContain('msg-a');
    expect(text.join('')).not.toContain(root.customers.messageKey('msg-a'));
  });

  it('adds no DynamoDB call to a decision', async () => {
    // Prepare
    const deps: SendDeps = { ...root, counter: undefined };
    await sendMessages(deps, [message('archive-meter', 'meter-0')]);
    await root.policies.current();
    const meter = new CallMeter();
    meter.attach(root.db, 'dynamodb');

    // Act
    now += 2 * MINUTE;
    const before = (await archived()).length;
    await sendMessages(deps, [message('archive-meter', 'meter-1')]);

    // Assess: the one UpdateItem, and the decision archived
    expect(meter.snapshot().calls).toEqual({ UpdateItemCommand: 1 });
    expect((await archived()).length).toBe(before + 1);
  });

  it('fails no decision when the archive fails, and counts every record it lost', async () => {
    // Prepare: an archive whose sink refuses every batch
    const failing = new Archive({ put: () => Promise.reject(new Error('stream unavailable')) }, root.hashes);
    const deps: SendDeps = { ...root, counter: undefined, archive: failing };
    const messages = Array.from({ length: 30 }, (_, i) => message(`archive-lost-${i % 10}`, `lost-${i}`));

    // Act
    const answers = await sendMessages(deps, messages);
    await sendMessages(deps, messages.slice(0, 5)); // retries: no new decision, nothing to archive

    await failing.drain();

    // Assess: conservation, decisions = archived + lost
    expect(answers.every((a) => 'decision' in a)).toBe(true);
    expect({ archived: failing.archived, lost: failing.lost }).toEqual({ archived: 0, lost: 30 });
  });

  it('answers before the records have left, and settles them on drain', async () => {
    // Prepare: an archive whose sink takes its batches only when the test lets it
    const taken: ArchiveLine[] = [];
    let letThrough = () => {};
    const gate = new Promise<void>((resolve) => {
      letThrough = resolve;
    });
    const gated = new Archive(
      {
        put: async (lines) => {
          await gate;
          taken.push(...lines);
          return 0;
        },
      },
      root.hashes,
    );
    const deps: SendDeps = { ...root, counter: undefined, archive: gated };
    now += 5 * MINUTE;

    // Act: the answers come while the sink still holds the batch
    const answers = await sendMessages(deps, [
      message('archive-gated', 'gated-a'),
      message('archive-gated', 'gated-b'),
    ]);
    const beforeDrain = { taken: taken.length, archived: gated.archived };
    letThrough();
    await gated.drain();

    // Assess
    expect(answers.map((a) => ('decision' in a ? a.decision : a))).toEqual(['accepted', 'deferred']);
    expect(beforeDrain).toEqual({ taken: 0, archived: 0 });
    expect({ taken: taken.length, archived: gated.archived, lost: gated.lost }).toEqual({
      taken: 2,
      archived: 2,
      lost: 0,
    });
  });

  it("leaves an erased customer's events unlinkable: the pseudonym no longer resolves", async () => {
    // Prepare
    const customerId = 'archive-erased';
    const deps: SendDeps = { ...root, counter: undefined };
    now += 5 * MINUTE;
    await sendMessages(deps, [message(customerId, 'erased-a'), message(customerId, 'erased-b')]);
    const lookup = { archive: root.archive as Archive, store: root.customerStore };
    const pseudonym = await pseudonymOf(lookup, customerId);
    const before = (await archived()).filter((r) => r.pseudonym === pseudonym);

    // Act
    await eraseCustomer({ ...root, audit: root.audit }, customerId, 'test');

    // Assess: its events are still archived (with the erasure), and nothing finds them from the id
    expect(pseudonym).toBeDefined();
    expect(before.map((r) => r.type)).toEqual(['decision', 'decision']);
    const after = (await archived()).filter((r) => r.pseudonym === pseudonym);
    expect(after.map((r) => r.type).sort()).toEqual(['decision', 'decision', 'erasure']);
    expect(await pseudonymOf(lookup, customerId)).toBeUndefined();
    // A new record of the same id is a new customer with a new pseudonym.
    await sendMessages(deps, [message(customerId, 'erased-c')]);
    const renewed = await pseudonymOf(lookup, customerId);
    expect(renewed).toBeDefined();
    expect(renewed).not.toBe(pseudonym);
  });
});
