/**
 * Pre-emption as a platform sees it, on the local stack as `npm start` runs it (release timer every
 * second, the outbox as provider), under a cap of one message a minute: a deferred message of low
 * relevance gives its slot to a more relevant one that arrives later, which is delivered in that slot;
 * the bumped one is delivered at the next slot, or, when its expiry leaves no next slot, reported
 * `preempted` and counted so. And 100 concurrent sends with random relevance leave the reserved slots to
 * the most relevant of them, the same on every read (each a replay of the customer's log).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { putPolicy, startTestStack, type TestStack } from '../support/local-stack.ts';
import { until } from '../support/until.ts';
import { seeded } from '../unit/builders.ts';

const MINUTE = 60_000;
let stack: TestStack;
const run = Date.now().toString(36);
/**
 * The in-process stack's clock (and the test's): noon of a mid-month day, moving at the real pace, so that
 * the decisions, the releases and the report's day are one UTC day, whatever the hour the test runs at.
 */
const NOON = Date.UTC(2026, 5, 15, 12);
const DAY = '2026-06-15';

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'], now: NOON, shouldAdvanceTime: true });
  stack = await startTestStack({
    env: { GOVERNOR_RELEASE_INTERVAL_S: '1', GOVERNOR_POLICY_TTL_MS: '0' },
    workers: true,
  });
  await putPolicy(stack, {
    caps: [{ id: 'per-minute', limit: 1, window: 'PT1M' }],
    relevance: { default: 0 },
    channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  vi.useRealTimers();
});

/** When the outbox provider delivered each message so far (the line's order stands in for time). */
async function deliveredAt(): Promise<Map<string, number>> {
  const text = await readFile(join(stack.dataDir, 'outbox.jsonl'), 'utf8').catch(() => '');
  const out = new Map<string, number>();
  for (const line of text.split('\n').filter(Boolean)) {
    const { messageId, deliveredAt } = JSON.parse(line) as { messageId: string; deliveredAt?: string };
    out.set(messageId, deliveredAt === undefined ? out.size : Date.parse(deliveredAt));
  }
  return out;
}

const send = async (body: Record<string, unknown>) => {
  const response = await stack.request('POST', '/v1/messages', {
    body: { channel: 'email', payload: { n: body.messageId }, ...body },
  });
  expect(response.status, response.text).toBe(200);
  return response.json();
};
const status = async (customerId: string, messageId: string) => {
  const response = await stack.request('GET', `/v1/messages/${messageId}?customerId=${customerId}`);
  expect(response.status, response.text).toBe(200);
  return response.json();
};

describe('pre-emption of a deferred slot', () => {
  it('gives the slot to the more relevant message, delivers it there, and moves the bumped one to the next slot or reports it preempted', async () => {
    // Prepare: two customers, each with the minute's slot taken and a low-relevance message deferred to
    // the next; the second's expires before a later slot could be released in time.
    const moved = `${run}-moved`;
    const dropped = `${run}-dropped`;
    const t0 = Date.now();
    for (const customerId of [moved, dropped])
      expect(await send({ messageId: `${customerId}-first`, customerId })).toMatchObject({
        decision: 'accepted',
      });
    const lowMoved = await send({
      messageId: `${moved}-low`,
      customerId: moved,
      relevance: 0.3,
      expiresAt: new Date(t0 + 10 * MINUTE).toISOString(),
    });
    // Its slot at about t0 + 1 min, released up to 31 s late: deferred; the slot after it comes too late.
    const lowDropped = await send({
      messageId: `${dropped}-low`,
      customerId: dropped,
      relevance: 0.3,
      expiresAt: new Date(t0 + MINUTE + 50_000).toISOString(),
    });
    expect([lowMoved.decision, lowDropped.decision]).toEqual(['deferred', 'deferred']);

    // Act: a more relevant message arrives later for each
    const high = await Promise.all(
      [moved, dropped].map((customerId) =>
        send({
          messageId: `${customerId}-high`,
          customerId,
          relevance: 0.9,
          expiresAt: new Date(t0 + 10 * MINUTE).toISOString(),
        }),
      ),
    );

    // Assess: each takes the low one's slot
    expect(high.map((h) => h.releaseAt)).toEqual([lowMoved.releaseAt, lowDropped.releaseAt]);
    const bumped = await status(moved, `${moved}-low`);
    expect(bumped).toMatchObject({ status: 'deferred' });
    expect(Date.parse(bumped.releaseAt)).toBe(Date.parse(lowMoved.releaseAt) + MINUTE);
    expect(await status(dropped, `${dropped}-low`)).toMatchObject({
      status: 'suppressed',
      reason: 'preempted',
    });
    // the high ones are delivered in the slot, the moved one a slot later, the dropped one never
    const out = await until(
      'the deliveries',
      deliveredAt,
      (d) => d.has(`${moved}-high`) && d.has(`${dropped}-high`) && d.has(`${moved}-low`),
      4 * MINUTE,
    );
    expect(out.has(`${dropped}-low`)).toBe(false);
    // in the slot it took (before the next one frees), the bumped one at the next
    for (const [i, customerId] of [moved, dropped].entries()) {
      const slot = Date.parse(high[i].releaseAt);
      expect(out.get(`${customerId}-high`)).toBeGreaterThanOrEqual(slot);
      expect(out.get(`${customerId}-high`)).toBeLessThan(slot + MINUTE);
    }
    expect(out.get(`${moved}-low`)).toBeGreaterThanOrEqual(Date.parse(bumped.releaseAt));
    expect(await status(moved, `${moved}-low`)).toMatchObject({ status: 'delivered' });
    expect(await status(dropped, `${dropped}-low`)).toMatchObject({ reason: 'preempted' });
    // and finance counts the preempted one
    const report = await until(
      'the preempted count',
      async () =>
        (await stack.request('GET', `/v1/reports/suppressed?from=${DAY}&to=${DAY}&groupBy=reason`)).json(),
      (r: { rows: { reason: string; count: number }[] }) => r.rows.some((row) => row.reason === 'preempted'),
      30_000,
    );
    expect(report.rows.find((r: { reason: string }) => r.reason === 'preempted')).toMatchObject({ count: 1 });
  }, 360_000);

  it('leaves the reserved slots to the most relevant of 100 concurrent sends, on every replay', async () => {
    // Prepare: 100 messages to one customer with random relevance, valid for ten minutes (a slot now,
    // then one a minute while the release can still come before the expiry)
    const customerId = `${run}-crowd`;
    const random = seeded(18);
    const expiresAt = new Date(Date.now() + 10 * MINUTE).toISOString();
    const messages = Array.from({ length: 100 }, (_, i) => ({
      messageId: `${customerId}-${i}`,
      customerId,
      relevance: Math.round(random.next() * 1000) / 1000,
      expiresAt,
    }));

    // Act: all at once
    const answers = await Promise.all(messages.map((m) => send(m)));

    // Assess: one was accepted at once; of the others, the reserved slots hold the most relevant
    const accepted = answers.filter((a) => a.decision === 'accepted').map((a) => a.messageId);
    expect(accepted).toHaveLength(1);
    const read = async () => {
      const states = await Promise.all(messages.map((m) => status(customerId, m.messageId)));
      return new Map(states.map((s) => [s.messageId as string, s]));
    };
    const first = await read();
    const again = await read();
    const rest = messages.filter((m) => !accepted.includes(m.messageId));
    const holding = rest.filter((m) => first.get(m.messageId)?.status !== 'suppressed');
    expect(holding.length).toBeGreaterThanOrEqual(5);
    const byRelevance = [...rest].sort((a, b) => b.relevance - a.relevance);
    const cutoff = byRelevance[holding.length - 1]?.relevance as number;
    expect(holding.every((m) => m.relevance >= cutoff)).toBe(true);
    expect(rest.filter((m) => m.relevance > cutoff).every((m) => holding.includes(m))).toBe(true);
    // one slot a minute, each to one message
    const slots = holding.map((m) => first.get(m.messageId)?.releaseAt).filter(Boolean);
    expect(new Set(slots).size).toBe(slots.length);
    // every read of the log (a replay) says the same: which hold a slot, and why the others do not (a
    // slot's time may have come between the reads: deferred, then queued or delivered)
    const outcome = (s: { status: string; reason?: string }) =>
      s.status === 'suppressed' ? `suppressed ${s.reason}` : 'holds a slot';
    expect(messages.map((m) => outcome(again.get(m.messageId)))).toEqual(
      messages.map((m) => outcome(first.get(m.messageId))),
    );
    expect(rest.some((m) => first.get(m.messageId)?.reason === 'preempted')).toBe(true);
  }, 240_000);
});
