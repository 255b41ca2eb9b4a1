/**
 * Reconciliation on dynalite rebuilds what happened after a decision too: a pre-emption's `preempted`,
 * a cancellation's `cancelled`, a release's accepted and suppressed are each durable in the customer's
 * log before they are counted, so counts lost between the two (a process dying there) come back from the
 * logs, exactly, on the day they happened, also after the logs were compacted; and a second run changes
 * nothing.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#shared/adapters/dynamodb/client.ts';
import { TALLY_SHARDS, tallyPk } from '#shared/adapters/dynamodb/keys.ts';
import { cancelMessage } from '#shared/app/cancellation.ts';
import { DecisionCounter } from '#shared/app/counting.ts';
import { putPreferences } from '#shared/app/preferences.ts';
import { reconcile } from '#shared/app/reconcile.ts';
import { releaseDue } from '#shared/app/release.ts';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import { createDeliveryRoot } from '#shared/composition.ts';
import { messageSchema } from '#shared/domain/schemas.ts';
import { countedOf, type DayCounts, dayOf, parseGroupKey } from '#shared/domain/tally.ts';
import { type EnginesFixture, startEnginesFixture } from '../support/engines-fixture.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const DAY = dayOf(T0);

let now = T0;
const clock = { now: () => now };
let fixture: EnginesFixture;

beforeAll(async () => {
  fixture = await startEnginesFixture({
    name: 'reconcile',
    clock,
    policy: {
      caps: [{ id: 'minute', limit: 1, window: 'PT1M' }],
      relevance: { default: 0 },
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    },
  });
});

afterAll(() => fixture?.stop());

const message = (customerId: string, messageId: string, relevance: number, expiresInMs = 60 * MINUTE) =>
  messageSchema.parse({
    messageId,
    customerId,
    channel: 'email',
    campaignId: 'spring',
    relevance,
    expiresAt: new Date(now + expiresInMs).toISOString(),
    payload: { n: messageId },
  });

/** The counts of the day, as `stage outcome reason` → n (the other fields are the same throughout). */
async function countsOfDay(): Promise<Record<string, number>> {
  const counts: DayCounts = await fixture.root.tallies.read([DAY]);
  const out: Record<string, number> = {};
  for (const [key, n] of counts.get(DAY) ?? []) {
    const g = parseGroupKey(DAY, key);
    const name = `${g.stage} ${g.outcome} ${g.reason}`.trim();
    out[name] = (out[name] ?? 0) + n;
  }
  return out;
}

/** Removes the live counts of the release stage, as a process dying after its log write would lose them. */
async function loseReleaseCounts(): Promise<number> {
  const db = createDocumentClient(fixture.config);
  let lost = 0;
  for (let shard = 0; shard < TALLY_SHARDS; shard++) {
    const page = await db.send(
      new QueryCommand({
        TableName: fixture.config.GOVERNOR_TABLE_NAME,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': tallyPk(DAY, shard) },
      }),
    );
    for (const item of page.Items ?? []) {
      if (item.k !== 'live') continue;
      const groups = Object.entries(item.g as Record<string, number>);
      const kept = groups.filter(([key]) => parseGroupKey(DAY, key).stage !== 'release');
      if (kept.length === groups.length) continue;
      for (const [key, n] of groups) if (parseGroupKey(DAY, key).stage === 'release') lost += n;
      await db.send(
        new PutCommand({
          TableName: fixture.config.GOVERNOR_TABLE_NAME,
          Item: { ...item, g: Object.fromEntries(kept) },
        }),
      );
    }
  }
  return lost;
}

describe('reconcile', () => {
  it('restores the lost counts of pre-emptions, cancellations and releases exactly, and a second run changes nothing', async () => {
    // Prepare: under 1 per minute, each customer's slot taken, then what comes after a decision
    const counter = new DecisionCounter(fixture.root.tallies, clock, 0);
    const deps: SendDeps = { ...fixture.root, counter };
    const first = (customerId: string) =>
      sendMessages(deps, [message(customerId, `${customerId}-first`, 0.5)]);
    for (const customerId of ['bumped', 'cancelled', 'released', 'optedout']) await first(customerId);
    now += 1000;
    // a held message whose only slot before its expiry a more relevant one takes: `preempted`
    await sendMessages(deps, [message('bumped', 'bumped-low', 0.2, 2 * MINUTE)]);
    const [high] = await sendMessages(deps, [message('bumped', 'bumped-high', 0.9)]);
    expect(high).toMatchObject({ decision: 'deferred' });
    // a held message withdrawn: `cancelled`
    await sendMessages(deps, [message('cancelled', 'cancelled-held', 0.5)]);
    expect(await cancelMessage({ ...fixture.root, counter }, 'cancelled', 'cancelled-held')).toMatchObject({
      reason: 'cancelled',
    });
    // a held message released accepted, another one whose customer opted out before its release
    await sendMessages(deps, [
      message('released', 'released-held', 0.5),
      message('optedout', 'optedout-held', 0.5),
    ]);
    const optOut = { channels: { email: { optIn: false, source: 'preference-centre' } }, topics: {} };
    await putPreferences(fixture.root, 'optedout', optOut, 'test', 'k');
    now = T0 + 5 * MINUTE;
    const release = createDeliveryRoot(fixture.root).release;
    const summary = await releaseDue({
      ...release,
      // counted as the release function counts them
      onReleased: (outcomes) => counter.add(outcomes.map((o) => countedOf(o, 'release'))),
    });
    expect(summary).toMatchObject({ accepted: 2, suppressed: 1 });
    await counter.flush();
    // and enough decisions since for every log to be compacted (what came after a decision kept in it)
    for (let i = 0; i < 20; i++) {
      now += 1000;
      for (const customerId of ['bumped', 'cancelled', 'released', 'optedout'])
        await sendMessages(deps, [message(customerId, `${customerId}-late-${i}`, 0.5, 10_000)]);
    }
    for (const messageId of ['bumped-low', 'cancelled-held', 'released-held', 'optedout-held']) {
      const record = await fixture.root.customerStore.read(messageId.split('-')[0] as string);
      const key = fixture.root.customers.messageKey(messageId);
      const entries = (record?.entries ?? []).filter((e) =>
        e.type === 'message' ? e.facts.key === key : 'key' in e && e.key === key,
      );
      expect(entries).toEqual([expect.objectContaining({ type: 'settled', after: expect.anything() })]);
    }
    const counted = await countsOfDay();
    expect(counted).toMatchObject({
      'release suppressed preempted': 1,
      'release suppressed cancelled': 1,
      'release accepted': 2,
      'release suppressed opted_out': 1,
    });
    const lost = await loseReleaseCounts();
    expect(lost).toBe(5);
    expect(await countsOfDay()).not.toHaveProperty('release suppressed preempted');
    const reconcileDeps = { ...fixture.root, idempotencyMs: 72 * 3600_000 };

    // Act
    const repaired = await reconcile(reconcileDeps, [DAY]);
    const again = await reconcile(reconcileDeps, [DAY]);

    // Assess: the counts as they were, and nothing more the second time
    expect(repaired.corrected).toBe(5);
    expect(await countsOfDay()).toEqual(counted);
    expect(again.corrected).toBe(0);
    expect(await countsOfDay()).toEqual(counted);
  });
});
