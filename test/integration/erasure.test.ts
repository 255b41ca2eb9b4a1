/**
 * Erasure racing the rest, on one dynalite, through two roots (two instances): instance B defers a
 * message for a customer while instance A erases that customer, B's deferred write landing before or
 * after A's delete; then the release runs when the message was due (before the erasure's sweep), and
 * again once the sweep is due. Afterwards nothing in the table names any of the customers, no release
 * recreated a record, and every dropped message is counted once, as suppressed `erased`.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseCustomer } from '#shared/app/preferences.ts';
import { releaseDue } from '#shared/app/release.ts';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import { createDeliveryRoot, type Root } from '#shared/composition.ts';
import { messageSchema } from '#shared/domain/schemas.ts';
import { dayOf, parseGroupKey } from '#shared/domain/tally.ts';
import type { DeferredStore } from '#shared/ports.ts';
import { type EnginesFixture, startEnginesFixture } from '../support/engines-fixture.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const TRIALS = 40;
/**
 * When B's deferred write lands, trial after trial: after A's erasure has finished, before A's erasure
 * starts, or while it runs (a few milliseconds into it, either side of its delete).
 */
const ORDERS = ['after', 'before', 'during'] as const;
const DELAYS_MS = [0, 1, 2, 4, 8, 15];

let fixture: EnginesFixture;
let now = T0;
const clock = { now: () => now };
let a: Root;
let b: Root;

beforeAll(async () => {
  fixture = await startEnginesFixture({
    name: 'erasure',
    clock,
    policy: {
      // A second message a minute later waits for the first one's slot: a minute, sooner than the sweep.
      caps: [{ id: 'minute', limit: 1, window: 'PT1M' }],
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    },
  });
  a = fixture.root;
  b = fixture.newRoot();
});

afterAll(async () => {
  await fixture?.stop();
});

const message = (customerId: string, messageId: string) =>
  messageSchema.parse({
    messageId,
    customerId,
    channel: 'email',
    expiresAt: new Date(T0 + 60 * MINUTE).toISOString(),
    payload: { address: `${customerId}@example.com` },
  });

/** B's deferred store, whose writes wait for `before()` to settle after they start. */
function gatedDeferred(real: DeferredStore, before: () => Promise<unknown>): DeferredStore {
  return {
    put: async (items, at) => {
      await before();
      return real.put(items, at);
    },
    due: (from, until, limit) => real.due(from, until, limit),
    remove: (items) => real.remove(items),
    heldFor: (campaignId, shard, after, limit) => real.heldFor(campaignId, shard, after, limit),
    campaignShards: real.campaignShards,
    removeHeld: (items) => real.removeHeld(items),
  };
}

async function scan(): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await a.db.send(
      new ScanCommand({ TableName: fixture.engines.tableName, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

describe('an erasure on one instance while another defers a message', () => {
  it('leaves nothing of the customer, whatever lands after it, and counts each dropped message once', async () => {
    // Prepare: each customer has the minute's one message sent
    const customers = Array.from({ length: TRIALS }, (_, t) => `race-customer-${t}`);
    for (const customerId of customers) {
      const [first] = await sendMessages({ ...a, counter: undefined }, [
        message(customerId, `${customerId}-m0`),
      ]);
      expect(first).toMatchObject({ decision: 'accepted' });
    }
    now = T0 + 1000;

    // Act: B defers a second message each, and A erases the customer as B writes the deferred message
    const answers = [];
    for (const [t, customerId] of customers.entries()) {
      const order = ORDERS[t % ORDERS.length];
      const erase = () => eraseCustomer({ ...a, audit: a.audit }, customerId, 'test');
      let erasing: Promise<number> | undefined;
      const deps: SendDeps = {
        ...b,
        counter: undefined,
        deferred: gatedDeferred(b.deferred, async () => {
          if (order === 'after') {
            erasing = erase();
            await erasing;
          }
          if (order === 'during') {
            erasing = erase();
            await new Promise((resolve) => setTimeout(resolve, DELAYS_MS[t % DELAYS_MS.length]));
          }
        }),
      };
      const [answer] = await sendMessages(deps, [message(customerId, `${customerId}-m1`)]);
      await (erasing ?? erase());
      answers.push(answer);
    }
    // Some of B's writes landed after A's delete: their payloads are still there, for now.
    const late = (await scan()).filter((item) => String(item.sk).startsWith('D#race-customer-'));
    // The release when the messages were due (the erasures' sweeps are not due yet), then once they are.
    const release = { ...createDeliveryRoot(a).release };
    now = T0 + 1000 + MINUTE + 5000;
    await releaseDue(release);
    now = T0 + 10 * MINUTE;
    const swept = await releaseDue(release);

    // Assess: every second message was deferred, the race went both ways; nothing names a customer any more
    expect(answers.every((x) => (x as { decision?: string }).decision === 'deferred')).toBe(true);
    const after = customers.filter((_, t) => ORDERS[t % ORDERS.length] === 'after');
    expect(late.map((item) => String(item.pk).slice(2))).toEqual(expect.arrayContaining(after));
    expect(late.length).toBeLessThan(TRIALS);
    const left = (await scan()).filter((item) => JSON.stringify(item).includes('race-customer-'));
    expect(left.map((item) => `${item.pk} ${item.sk}`)).toEqual([]);
    expect(swept.swept).toBe(TRIALS);
    // each deferred message counted once as erased, none as released
    const counts = await a.tallies.read([dayOf(T0)]);
    let erased = 0;
    let released = 0;
    for (const [day, groups] of counts)
      for (const [key, n] of groups) {
        const group = parseGroupKey(day, key);
        if (group.reason === 'erased') erased += n;
        if (group.stage === 'release') released += n;
      }
    expect({ erased, released }).toEqual({ erased: TRIALS, released: 0 });
  });
});
