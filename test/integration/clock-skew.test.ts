/**
 * Writers whose clocks differ, on one dynalite: two roots (two instances), one whose clock runs
 * `skew` behind the other's. Under a cap of 1 a week, instance A sends, and a week later compacts the
 * customer's log at a moment swept around the 7-day horizon; instance B, behind, sends again. No
 * rolling week by the writers' own timestamps may hold two sends, whatever the skew (up to 5 s) and
 * wherever the compaction falls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendMessages } from '#shared/app/send.ts';
import type { Root } from '#shared/composition.ts';
import type { LogEntry } from '#shared/domain/customer-log.ts';
import { messageSchema } from '#shared/domain/schemas.ts';
import { type EnginesFixture, startEnginesFixture } from '../support/engines-fixture.ts';

const SECOND = 1000;
const WEEK = 7 * 24 * 3600 * SECOND;
const T0 = Date.parse('2026-03-02T10:00:00.000Z');

let fixture: EnginesFixture;
/** Instance A's clock; B's is `skew` behind it. */
let nowA = T0;
let skew = 0;
let a: Root;
let b: Root;

beforeAll(async () => {
  fixture = await startEnginesFixture({
    name: 'skew',
    clock: { now: () => nowA },
    policy: {
      caps: [{ id: 'weekly', limit: 1, window: 'P7D' }],
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    },
  });
  a = fixture.root;
  b = fixture.newRoot({ now: () => nowA - skew });
});

afterAll(async () => {
  await fixture?.stop();
});

const message = (customerId: string, messageId: string) =>
  messageSchema.parse({ messageId, customerId, channel: 'email', payload: {} });

/** Sixteen preference changes that change nothing: enough raw entries for the next write to compact. */
const unchanged = (at: number): LogEntry[] =>
  Array.from({ length: 16 }, () => ({ type: 'preferences', at, preferences: { channels: {}, topics: {} } }));

const skews = [0, 1, 2, 3, 4, 5].map((s) => s * SECOND);
/** When A compacts, from the horizon of its first send (T0 + 7 days). */
const moments = [-2000, -1, 0, 1, 1000, 2000, 3000, 4000, 5000, 6000];

describe('a rolling window across writers whose clocks differ', () => {
  it('never holds more sends than its limit, by the writers’ timestamps, when a compaction falls at the horizon', async () => {
    const overshoots: string[] = [];
    let compacted = 0;
    for (const s of skews) {
      for (const moment of moments) {
        // Prepare: A sends the week's one message, and a week later compacts the log
        const customerId = `skew-${s}-${moment}`;
        skew = s;
        nowA = T0;
        const [first] = await sendMessages({ ...a, counter: undefined }, [message(customerId, 'm1')]);
        expect(first).toMatchObject({ decision: 'accepted' });
        nowA = T0 + WEEK + moment;
        await a.customers.append(customerId, unchanged(nowA), nowA);
        const record = await a.customerStore.read(customerId);
        if (record && !record.entries.some((e) => e.type === 'preferences')) compacted++;

        // Act: B, behind, sends the next one
        const sentAt = nowA - skew;
        const [second] = await sendMessages({ ...b, counter: undefined }, [message(customerId, 'm2')]);

        // Assess: accepted only if a full week passed since the first, by both writers' clocks
        const accepted = (second as { decision?: string }).decision === 'accepted';
        if (accepted && sentAt - T0 < WEEK)
          overshoots.push(`skew ${s} ms, compaction ${moment} ms after the horizon: 2 sends in 7 days`);
      }
    }
    expect(compacted).toBe(skews.length * moments.length);
    expect(overshoots).toEqual([]);
  });
});
