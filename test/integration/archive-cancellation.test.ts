/**
 * Cancellations in the decision archive, on dynalite and the local files: a cancellation frees the
 * slot its message held and so changes the decisions after it; it is archived in the log's order, so
 * that the dry-run, replaying the archive through the real engine, finds what Governor decided (the
 * current policy replays to the decisions taken, the cancellation counted suppressed `cancelled`).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArchiveReader } from '#shared/adapters/archive/local.ts';
import { cancelMessage } from '#shared/app/cancellation.ts';
import { releaseDue } from '#shared/app/release.ts';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import { createDeliveryRoot, type Root } from '#shared/composition.ts';
import { type ArchiveRecord, byLogOrder } from '#shared/domain/archive.ts';
import { replayShard } from '#shared/domain/dry-run.ts';
import { messageSchema, type Policy } from '#shared/domain/schemas.ts';
import { type EnginesFixture, startEnginesFixture } from '../support/engines-fixture.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
let fixture: EnginesFixture;
let archiveDir: string;
let now = T0;
let root: Root;
let policy: Policy;

beforeAll(async () => {
  fixture = await startEnginesFixture({
    name: 'archive-cancel',
    clock: { now: () => now },
    env: (dataDir) => ({ GOVERNOR_ARCHIVE_DIR: join(dataDir, 'archive') }),
    policy: {
      caps: [{ id: 'minute', limit: 1, window: 'PT1M' }],
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    },
  });
  archiveDir = join(fixture.dataDir, 'archive');
  root = fixture.root;
  policy = fixture.policy as Policy;
});

afterAll(() => fixture?.stop());

const customerId = 'archive-cancel-1';
const message = (messageId: string) =>
  messageSchema.parse({
    messageId,
    customerId,
    channel: 'email',
    campaignId: 'spring',
    expiresAt: new Date(T0 + 60 * MINUTE).toISOString(),
    payload: {},
  });

async function archived(): Promise<ArchiveRecord[]> {
  await root.archive?.drain();
  const reader = new LocalArchiveReader(archiveDir);
  const records: ArchiveRecord[] = [];
  for (const shard of await reader.shards(now + 86_400_000)) records.push(...(await reader.read(shard)));
  return records;
}

describe('cancellations in the archive', () => {
  it('replays the current policy to what was decided: the cancelled message suppressed, its slot given to the next', async () => {
    // Prepare: under 1 a minute, a accepted, b deferred a minute; b cancelled; c takes the slot b held
    const deps: SendDeps = { ...root, counter: undefined };
    const decided: string[] = [];
    const answer = (a: { decision: string; reason?: string | undefined }) =>
      `${a.decision} ${a.reason ?? ''}`.trim();
    for (const a of await sendMessages(deps, [message('a'), message('b')]))
      decided.push('decision' in a ? answer(a) : 'error');
    now += 1000;
    decided.push(answer(await cancelMessage(root, customerId, 'b')));
    now += 1000;
    const [c] = await sendMessages(deps, [message('c')]);
    decided.push(c && 'decision' in c ? answer(c) : 'error');
    now = T0 + 3 * MINUTE;
    const released = await releaseDue(createDeliveryRoot(root).release);
    expect(decided).toEqual(['accepted', 'deferred', 'suppressed cancelled', 'deferred']);
    expect(released).toMatchObject({ accepted: 1 });

    // Act: the archive, replayed as the dry-run does
    const records = await archived();
    const result = replayShard(records, { from: T0, to: now + MINUTE, policies: [policy], draft: policy });

    // Assess: the cancellation archived between b and c, and the replay as decided (c released in b's slot)
    expect(records.sort(byLogOrder).map((r) => r.type)).toEqual([
      'decision',
      'decision',
      'cancel',
      'decision',
      'release',
    ]);
    expect(result.current).toMatchObject({
      accepted: 2,
      deferred: 2,
      suppressed: 1,
      byReason: { cancelled: 1 },
      byCampaign: { spring: { accepted: 2, deferred: 2, suppressed: 1 } },
      avoidedCostMicros: 1000,
    });
    expect(result.draft).toEqual(result.current);
  });
});
