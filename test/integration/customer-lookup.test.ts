/**
 * What support sees of a customer (GET /v1/customers/{id}), on dynalite: the consents with their sources
 * and times, a hard bounce, a deferred message with its release time, the recent decisions with their
 * reasons, a release's outcome, and "what became of this message?" by its messageId — from one read of
 * the customer's partition. After an erasure nothing is left to show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookUpCustomer } from '#shared/app/customer-lookup.ts';
import { recordEvents } from '#shared/app/events.ts';
import { eraseCustomer, putPreferences } from '#shared/app/preferences.ts';
import { releaseDue } from '#shared/app/release.ts';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import { createDeliveryRoot, type Root } from '#shared/composition.ts';
import { type MessageInput, messageSchema } from '#shared/domain/schemas.ts';
import { CallMeter } from '../../bench/lib/meter.ts';
import { type EnginesFixture, startEnginesFixture } from '../support/engines-fixture.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-27T09:00:00.000Z');
let now = T0;
let fixture: EnginesFixture;
let root: Root;
let deps: SendDeps;

beforeAll(async () => {
  fixture = await startEnginesFixture({
    name: 'lookup',
    clock: { now: () => now },
    policy: {
      caps: [
        { id: 'email-weekly', limit: 2, window: 'P7D', match: { channel: 'email' } },
        { id: 'push-gap', minGap: 'PT4H', match: { channel: 'push' } },
      ],
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    },
  });
  root = fixture.root;
  deps = { ...root, counter: undefined };
});

afterAll(async () => {
  await fixture?.stop();
});

const send = async (message: Omit<MessageInput, 'payload'>) => {
  const [answer] = await sendMessages(deps, [messageSchema.parse({ payload: { to: 'x' }, ...message })]);
  return answer;
};

describe('looking up a customer', () => {
  it("shows the consents' sources, a hard bounce, the deferred message and the decisions with their reasons", async () => {
    // Prepare: an SMS opt-out from the preference centre, a hard bounce on WhatsApp, then the traffic
    const customerId = 'cus-lookup-1';
    await putPreferences(
      { ...root, audit: root.audit },
      customerId,
      { channels: { sms: { optIn: false, source: 'preference-centre' } }, topics: { promotions: false } },
      'api:test',
      'test',
    );
    await recordEvents(root, [
      { customerId, channel: 'whatsapp', type: 'bounced_hard', at: new Date(T0).toISOString() },
    ]);
    now += 1000;
    for (const n of [1, 2, 3])
      await send({ messageId: `bf-${n}`, customerId, channel: 'email', campaignId: 'black-friday' });
    await send({ messageId: 'sms-1', customerId, channel: 'sms', campaignId: 'black-friday' });
    await send({ messageId: 'push-1', customerId, channel: 'push', category: 'news' });
    const deferred = await send({
      messageId: 'push-2',
      customerId,
      channel: 'push',
      category: 'news',
      expiresAt: new Date(now + 24 * HOUR).toISOString(),
    });
    expect(deferred).toMatchObject({ decision: 'deferred', rule: 'push-gap' });
    await root.policies.current();
    const meter = new CallMeter();
    meter.attach(root.db, 'dynamodb');

    // Act
    const seen = await lookUpCustomer(root, customerId, { messageId: 'bf-3' });

    // Assess: one query of the partition, and everything support needs
    expect(meter.snapshot().calls).toEqual({ QueryCommand: 1 });
    expect(seen.known).toBe(true);
    expect(seen.preferences.channels.sms).toEqual({
      optIn: false,
      source: 'preference-centre',
      at: new Date(T0).toISOString(),
    });
    expect(seen.preferences.channels.whatsapp).toMatchObject({ optIn: false, source: 'bounced_hard' });
    expect(seen.preferences.topics).toEqual({ promotions: false });
    expect(seen.suppressions).toEqual([{ channel: 'whatsapp', reason: 'hard_bounce' }]);
    const releaseAt = new Date(now + 4 * HOUR).toISOString();
    expect(seen.deferred).toEqual([
      {
        messageId: 'push-2',
        channel: 'push',
        kind: 'marketing',
        category: 'news',
        releaseAt,
        expiresAt: new Date(now + 24 * HOUR).toISOString(),
        policyVersion: 1,
        rule: 'push-gap',
      },
    ]);
    expect(seen.message).toEqual({ messageId: 'bf-3', found: true });
    const summary = seen.decisions.map((d) => [d.messageId, d.channel, d.outcome, d.reason, d.rule]);
    expect(summary).toEqual([
      ['push-2', 'push', 'deferred', undefined, 'push-gap'],
      [undefined, 'push', 'accepted', undefined, undefined],
      [undefined, 'sms', 'suppressed', 'opted_out', 'preferences'],
      ['bf-3', 'email', 'suppressed', 'frequency_cap', 'email-weekly'],
      [undefined, 'email', 'accepted', undefined, undefined],
      [undefined, 'email', 'accepted', undefined, undefined],
    ]);
    expect(seen.decisions[0]).toMatchObject({ releaseAt, pending: true, category: 'news', policyVersion: 1 });
    expect(seen.decisions[3]).toMatchObject({
      at: new Date(now).toISOString(),
      campaignId: 'black-friday',
      kind: 'marketing',
      requestedChannel: 'email',
      pending: false,
    });
  });

  it('answers found: false for a messageId the log does not hold', async () => {
    const seen = await lookUpCustomer(root, 'cus-lookup-1', { messageId: 'never-sent' });

    expect(seen.message).toEqual({ messageId: 'never-sent', found: false });
    expect(seen.decisions.some((d) => d.messageId === 'never-sent')).toBe(false);
  });

  it('shows what the release of a deferred message decided', async () => {
    // Prepare: the deferred push comes due
    now += 4 * HOUR + 2 * 60_000;

    // Act
    await releaseDue(createDeliveryRoot(root).release);
    const seen = await lookUpCustomer(root, 'cus-lookup-1', { messageId: 'push-2' });

    // Assess
    expect(seen.deferred).toEqual([]);
    const push2 = seen.decisions.find((d) => d.messageId === 'push-2');
    expect(push2).toMatchObject({ outcome: 'deferred', pending: false, release: { outcome: 'accepted' } });
  });

  it('holds nothing of an erased customer', async () => {
    await eraseCustomer({ ...root, audit: root.audit }, 'cus-lookup-1', 'test');

    const seen = await lookUpCustomer(root, 'cus-lookup-1', {});

    expect(seen).toEqual({
      customerId: 'cus-lookup-1',
      known: false,
      preferences: { channels: {}, topics: {} },
      suppressions: [],
      deferred: [],
      decisions: [],
    });
  });
});
