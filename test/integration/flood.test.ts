/**
 * A flooded customer, on dynalite: 12,000 distinct messages to one customer within 72 hours (ids of 20
 * to 128 characters, one campaign and then many, single sends and batches of 500, at once, through two
 * roots as two instances would), while the customer opts out of SMS and a hard bounce comes in, then an
 * erasure. No decision fails (messages past the caps are suppressed as usual), the preference change,
 * the event and the erasure all succeed, and the customer's item stays under its bound throughout.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvents } from '#shared/app/events.ts';
import { mapLimit } from '#shared/app/per-customer.ts';
import { eraseCustomer, getPreferences, putPreferences } from '#shared/app/preferences.ts';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import { createRoot, type Root } from '#shared/composition.ts';
import {
  type DecisionResponse,
  type Message,
  messageSchema,
  policyDocumentSchema,
} from '#shared/domain/schemas.ts';
import { GovernorError } from '#shared/errors.ts';
import { CallMeter } from '../../bench/lib/meter.ts';
import { type EnginesFixture, startEnginesFixture } from '../support/engines-fixture.ts';

/** The bound the README states for a customer's item, whatever it is sent. */
const ITEM_BOUND_BYTES = 192 * 1024;
/** What a flood with ordinary ids (up to 64 characters, 600 campaigns) takes. */
const FLOODED_ITEM_BYTES = 24 * 1024;
const HOUR = 3_600_000;
const MESSAGES = 12_000;
const BATCH = 500;
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const CUSTOMER = 'flooded-customer';

let fixture: EnginesFixture;
let now = T0;
const clock = { now: () => now };
let roots: Root[];
const meter = new CallMeter();

beforeAll(async () => {
  fixture = await startEnginesFixture({ name: 'flood', clock });
  // Two instances: each its own root (clients, caches, counters) on the one table.
  roots = [fixture.root, fixture.newRoot()];
  for (const root of roots) meter.attach(root.db, 'dynamodb');
});

afterAll(() => fixture?.stop());

/** Message i: an id of 20 to 128 characters; one campaign for the first half, then 600 of 64 characters. */
function message(i: number): Message {
  const id = `flood-${String(i).padStart(6, '0')}-`.padEnd(20 + ((i * 37) % 109), 'x');
  const campaignId =
    i < MESSAGES / 2 ? 'black-friday' : `campaign-${String(i % 600).padStart(4, '0')}-`.padEnd(64, 'c');
  return messageSchema.parse({
    messageId: id,
    customerId: CUSTOMER,
    channel: i % 10 === 0 ? 'sms' : 'email',
    category: i % 3 === 0 ? 'promotions' : 'newsletter',
    campaignId,
    // A third may wait, until the deferrals a customer can hold are all taken.
    ...(i % 3 === 0 ? { expiresAt: new Date(T0 + 120 * HOUR).toISOString() } : {}),
    payload: { n: i },
  });
}

describe('a customer sent 12,000 messages within 72 hours', () => {
  it('gets a decision for every one, its preference change, event and erasure applied, its item bounded', {
    timeout: 240_000,
  }, async () => {
    // Prepare: batches of 500, and one message in forty sent alone
    const all = Array.from({ length: MESSAGES }, (_, i) => message(i));
    const singles = all.filter((_, i) => i % 40 === 0);
    const batched = all.filter((_, i) => i % 40 !== 0);
    const batches = Array.from({ length: Math.ceil(batched.length / BATCH) }, (_, i) =>
      batched.slice(i * BATCH, (i + 1) * BATCH),
    );
    const answers: (DecisionResponse | GovernorError)[] = [];
    let sent = 0;
    let decided = 0;
    const deps = (i: number): SendDeps => ({ ...(roots[i % 2] as Root), counter: undefined });
    const decide = async (messages: Message[], i: number) => {
      // The clock moves through 71 hours as the messages are sent.
      now = T0 + Math.floor((71 * HOUR * sent) / MESSAGES);
      sent += messages.length;
      answers.push(...(await sendMessages(deps(i), messages)));
      decided += messages.length;
    };
    const root = roots[0] as Root;

    // Act: the flood, with an opt-out and a hard bounce in the middle of it
    const flood = Promise.all([
      mapLimit(
        singles.map((m, i) => ({ m, i })),
        16,
        ({ m, i }) => decide([m], i),
      ),
      mapLimit(
        batches.map((b, i) => ({ b, i })),
        4,
        ({ b, i }) => decide(b, i),
      ),
    ]);
    const middle = (async () => {
      while (decided < MESSAGES / 2) await new Promise((resolve) => setTimeout(resolve, 20));
      const optOut = putPreferences(
        { ...root, audit: root.audit },
        CUSTOMER,
        { channels: { sms: { optIn: false } }, topics: {} },
        'preference-centre',
        'test',
      );
      const bounce = recordEvents(roots[1] as Root, [
        { customerId: CUSTOMER, channel: 'email', type: 'bounced_hard', at: new Date(now).toISOString() },
      ]);
      return Promise.all([optOut, bounce]);
    })();
    await Promise.all([flood, middle]);
    const preferences = await getPreferences(root, CUSTOMER);
    const after = await sendMessages({ ...root, counter: undefined }, [
      messageSchema.parse({ messageId: 'after-1', customerId: CUSTOMER, channel: 'sms', payload: {} }),
      messageSchema.parse({
        messageId: 'after-2',
        customerId: CUSTOMER,
        channel: 'email',
        kind: 'transactional',
        payload: {},
      }),
    ]);
    const peak = meter.snapshot().itemBytesMax;
    const dropped = await eraseCustomer({ ...root, audit: root.audit }, CUSTOMER, 'test');

    // Assess: a decision for each message, none failed, the caps held
    expect(answers).toHaveLength(MESSAGES);
    const failures = answers.filter((a) => a instanceof GovernorError);
    expect(failures.map((f) => (f as GovernorError).message).slice(0, 3)).toEqual([]);
    const decisions = answers as DecisionResponse[];
    const outcomes = (d: string) => decisions.filter((a) => a.decision === d).length;
    expect(outcomes('accepted')).toBeLessThanOrEqual(3);
    expect(outcomes('deferred')).toBeGreaterThan(0);
    expect(outcomes('deferred')).toBeLessThanOrEqual(50);
    expect(outcomes('suppressed')).toBeGreaterThan(MESSAGES - 60);
    // the opt-out and the bounce are applied (the preferences put replaces the bounce's opt-out, not its
    // hard suppression)
    expect(preferences.channels).toMatchObject({ sms: { optIn: false, source: 'preference-centre' } });
    expect(after).toMatchObject([
      { decision: 'suppressed', reason: 'opted_out' },
      { decision: 'suppressed', reason: 'hard_bounce' },
    ]);
    // the item stayed under its bound, and the erasure removed it
    expect(peak).toBeGreaterThan(8 * 1024);
    expect(peak).toBeLessThanOrEqual(FLOODED_ITEM_BYTES);
    expect(dropped).toBe(outcomes('deferred'));
    const { Item } = await root.db.send(
      new GetCommand({ TableName: fixture.engines.tableName, Key: { pk: `C#${CUSTOMER}`, sk: 'S' } }),
    );
    expect(Item).toBeUndefined();
    console.log(`flood: item peak ${peak} B, outcomes`, {
      accepted: outcomes('accepted'),
      deferred: outcomes('deferred'),
      suppressed: outcomes('suppressed'),
    });
  });

  it('stays under its bound with every id as long as allowed, all different, and its log as full as it gets', {
    timeout: 240_000,
  }, async () => {
    // Prepare: room for 100 sends, then 50 deferrals, then refusals; every category and campaign a
    // different 128-character id of characters the log escapes; a hundred topics of 128 characters
    const root = createRoot({ ...fixture.config, GOVERNOR_POLICY_TTL_MS: 0 }, clock);
    meter.attach(root.db, 'dynamodb');
    const customerId = 'worst-case-customer';
    const version = (
      await root.policyStore.put(
        policyDocumentSchema.parse({
          caps: [{ id: 'lots', limit: 100, window: 'P90D' }],
          channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
        }),
        '*',
        'test',
        now,
      )
    )?.version;
    expect(version).toBeGreaterThan(0);
    const long = (what: string, i: number) => `${'|'.repeat(120)}${what}${String(i).padStart(7, '0')}`;
    const topics = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [`${'"'.repeat(120)}${String(i).padStart(8, '0')}`, true]),
    );
    await putPreferences(
      { ...root, audit: root.audit },
      customerId,
      { channels: {}, topics },
      'test',
      'test',
    );
    const aMessage = (i: number, expiresAt?: number) =>
      messageSchema.parse({
        messageId: long('m', i),
        customerId,
        channel: 'email',
        category: long('c', i),
        campaignId: long('k', i),
        relevance: 0.123456789012345,
        ...(expiresAt
          ? { expiresAt: new Date(expiresAt).toISOString(), notBefore: new Date(now).toISOString() }
          : {}),
        alternateChannels: ['push', 'sms', 'whatsapp'],
        payload: {},
      });
    meter.reset();

    // Act
    const answers: (DecisionResponse | GovernorError)[] = [];
    const sendSome = async (from: number, to: number, expiresAt?: number) => {
      // Sixteen messages a request: one write each, as a batch naming the customer sixteen times.
      for (let i = from; i < to; i += 16) {
        const messages = Array.from({ length: Math.min(16, to - i) }, (_, j) => aMessage(i + j, expiresAt));
        answers.push(...(await sendMessages({ ...root, counter: undefined }, messages)));
        now += 1000;
      }
    };
    await sendSome(0, 100);
    await sendSome(100, 160, now + 300 * 24 * HOUR);
    await sendSome(160, 420);
    // The raw entries at their largest: preference changes of a kilobyte an element.
    for (let i = 0; i < 4; i++)
      await putPreferences(
        { ...root, audit: root.audit },
        customerId,
        { channels: {}, topics },
        'test',
        'test',
      );
    await sendSome(420, 440);

    // Assess
    const outcomes = (d: string) => answers.filter((a) => 'decision' in a && a.decision === d).length;
    expect(answers.filter((a) => a instanceof GovernorError)).toEqual([]);
    expect([outcomes('accepted'), outcomes('deferred')]).toEqual([100, 50]);
    const peak = meter.snapshot().itemBytesMax;
    console.log(`worst case: item peak ${peak} B`);
    expect(peak).toBeLessThanOrEqual(ITEM_BOUND_BYTES);
  });
});
