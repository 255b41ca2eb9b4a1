/**
 * Events at the volume they come in, on dynalite: one request costs one write per customer it names,
 * however many deliveries, opens and clicks it holds; an event posted again counts nothing, found in
 * the write that appends it (no read); and a customer with 20 recent sends and their deliveries and
 * opens still fits in one write unit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvents } from '#shared/app/events.ts';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import type { Root } from '#shared/composition.ts';
import { type CustomerEvent, messageSchema } from '#shared/domain/schemas.ts';
import { CallMeter } from '../../bench/lib/meter.ts';
import { CAMPAIGNS, ROOMY_POLICY } from '../../bench/lib/workload.ts';
import { type EnginesFixture, startEnginesFixture } from '../support/engines-fixture.ts';

const HOUR = 3_600_000;
let fixture: EnginesFixture;
let now = Date.parse('2026-11-16T09:00:00.000Z');
let root: Root;
const meter = new CallMeter();

beforeAll(async () => {
  fixture = await startEnginesFixture({
    name: 'events',
    clock: { now: () => now },
    policy: { ...ROOMY_POLICY, fatigue: { threshold: 0.1 } },
  });
  root = fixture.root;
  meter.attach(root.db, 'dynamodb');
});

afterAll(async () => {
  await fixture?.stop();
});

const event = (customerId: string, messageId: string, type: CustomerEvent['type']): CustomerEvent => ({
  customerId,
  messageId,
  type,
  channel: 'email',
  at: new Date(now).toISOString(),
});

describe('recording events', () => {
  it('writes each customer once per request, however many events name them', async () => {
    // Prepare: 500 events over 40 customers: deliveries, opens, clicks and an unsubscribe
    const events: CustomerEvent[] = [];
    for (let i = 0; i < 500; i++) {
      const type = i % 5 === 4 ? 'opened' : i % 50 === 3 ? 'clicked' : 'delivered';
      events.push(event(`w-c${i % 40}`, `w-m${i}`, i === 7 ? 'unsubscribed' : type));
    }
    meter.reset();
    // Act
    const answer = await recordEvents(root, events);
    // Assess
    expect(answer).toEqual({ received: 500, applied: 500 });
    expect(meter.snapshot().calls).toEqual({ UpdateItemCommand: 40 });
  });

  it('counts an event posted again nothing, without reading the customer first', async () => {
    // Prepare
    const events = [event('d-c1', 'd-m1', 'delivered'), event('d-c1', 'd-m1', 'opened')];
    await recordEvents(root, events);
    meter.reset();
    // Act
    const again = await recordEvents(root, [...events, event('d-c1', 'd-m2', 'delivered')]);
    // Assess
    expect(again.applied).toBe(1);
    expect(meter.snapshot().calls).toEqual({ UpdateItemCommand: 1 });
    const replayed = await root.customers.read('d-c1');
    expect(replayed?.state.engagement).toMatchObject({ run: 1 });
    expect(replayed?.state.engagement.delivered).toBeCloseTo(2, 6);
    expect(replayed?.state.engagement.engaged).toBeCloseTo(1, 6);
  });

  it('keeps a customer with 20 recent sends, their deliveries and opens, in one write unit', async () => {
    // Prepare: 20 accepted sends, 8 hours apart, each delivered, every third opened
    const deps: SendDeps = { ...root, counter: undefined };
    const customerId = 'item-events';
    const message = (k: number) =>
      messageSchema.parse({
        messageId: `ie-${k}`,
        customerId,
        channel: 'email',
        campaignId: CAMPAIGNS[k % CAMPAIGNS.length],
        payload: { k },
      });
    for (let k = 0; k < 20; k++) {
      const [answer] = await sendMessages(deps, [message(k)]);
      expect(answer).toMatchObject({ decision: 'accepted' });
      await recordEvents(root, [
        event(customerId, `ie-${k}`, 'delivered'),
        ...(k % 3 === 0 ? [event(customerId, `ie-${k}`, 'opened')] : []),
      ]);
      now += 8 * HOUR;
    }
    meter.reset();
    // Act
    const [next] = await sendMessages(deps, [message(20)]);
    // Assess
    expect(next).toMatchObject({ decision: 'accepted' });
    const written = meter.snapshot();
    console.info(
      `the item with 20 sends and their events, as the next decision wrote it: ${written.itemBytesMax} bytes`,
    );
    expect(written.itemBytesMax).toBeLessThanOrEqual(1024);
  });
});
