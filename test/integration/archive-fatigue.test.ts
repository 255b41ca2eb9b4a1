/**
 * Fatigue in the decision archive, on dynalite and the local files: the engagement that counted is
 * archived in the log's order, so that the dry-run, replaying the archive through the real engine,
 * finds the decisions fatigue took (the current policy replays to what was decided).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArchiveReader } from '#shared/adapters/archive/local.ts';
import { recordEvents } from '#shared/app/events.ts';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import type { Root } from '#shared/composition.ts';
import { type ArchiveRecord, byLogOrder } from '#shared/domain/archive.ts';
import { replayShard } from '#shared/domain/dry-run.ts';
import { type CustomerEvent, messageSchema, type Policy } from '#shared/domain/schemas.ts';
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
    name: 'archive-fatigue',
    clock: { now: () => now },
    env: (dataDir) => ({ GOVERNOR_ARCHIVE_DIR: join(dataDir, 'archive') }),
    policy: {
      caps: [{ id: 'daily', limit: 8, window: 'P1D' }],
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
      fatigue: { threshold: 0.2, minDelivered: 2, unengagedRun: 3, runCapScale: 0.25 },
    },
  });
  archiveDir = join(fixture.dataDir, 'archive');
  root = fixture.root;
  policy = fixture.policy as Policy;
});

afterAll(() => fixture?.stop());

const customerId = 'archive-fatigue-1';
const event = (messageId: string, type: CustomerEvent['type']): CustomerEvent => ({
  customerId,
  messageId,
  type,
  channel: 'email',
  at: new Date(now).toISOString(),
});

describe('fatigue in the archive', () => {
  it('replays to the decisions fatigue took, engagement included', async () => {
    // Prepare: three messages delivered and never opened, two more, a click, one more
    const deps: SendDeps = { ...root, counter: undefined };
    const decided: string[] = [];
    const send = async (messageId: string) => {
      now += MINUTE;
      const [answer] = await sendMessages(deps, [
        messageSchema.parse({ messageId, customerId, channel: 'email', payload: {} }),
      ]);
      decided.push(
        answer && 'decision' in answer ? `${answer.decision} ${answer.reason ?? ''}`.trim() : 'error',
      );
    };
    for (const id of ['a', 'b', 'c']) {
      await send(id);
      await recordEvents(root, [event(id, 'delivered'), event(id, 'delivered')]);
    }
    await send('d');
    await send('e');
    await recordEvents(root, [event('c', 'clicked')]);
    await send('f');
    await root.archive?.drain();
    expect(decided).toEqual([
      'accepted',
      'accepted',
      'accepted',
      'suppressed fatigue',
      'suppressed fatigue',
      'accepted',
    ]);

    // Act: the archive, replayed as the dry-run does
    const reader = new LocalArchiveReader(archiveDir);
    const records: ArchiveRecord[] = [];
    for (const shard of await reader.shards(now + 86_400_000)) records.push(...(await reader.read(shard)));
    const result = replayShard(records, { from: T0, to: now + MINUTE, policies: [policy], draft: policy });

    // Assess
    const engagement = records.filter((r) => r.type === 'engagement').sort(byLogOrder);
    expect(engagement.map((r) => r.type === 'engagement' && r.events)).toEqual([
      ['delivered'],
      ['delivered'],
      ['delivered'],
      ['clicked'],
    ]);
    expect(result.current).toMatchObject({ accepted: 4, suppressed: 2, byReason: { fatigue: 2 } });
    expect(result.draft).toEqual(result.current);
  });
});
