/**
 * "Deferred" is a promise, end to end as `npm start` runs it (release timer every second, the outbox
 * as provider): a message answered `deferred` is delivered, unless its customer's preferences change
 * meanwhile. Messages whose expiry falls just after the moment their slot frees — sooner than the
 * release could be sure to run — are not answered `deferred` to expire at release: they are suppressed
 * at once. Those whose expiry leaves the release its margin are deferred, and all of them delivered.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const RELEASE_INTERVAL_S = 1;
/**
 * How long after its slot frees a message may expire, in seconds: within the release interval (the
 * slots spread over an interval, so that wherever the timer's ticks fall most of these come too late
 * for a release on time), a little more, and far.
 */
const EXPIRIES_AFTER_SLOT_S = [
  ...Array.from({ length: 16 }, (_, i) => 0.05 + (i % 4) * 0.1),
  1.5,
  2,
  3,
  45,
  60,
  90,
];
const WINDOW_S = 5;
let stack: TestStack;
const run = Date.now().toString(36);

beforeAll(async () => {
  stack = await startTestStack({
    env: { GOVERNOR_RELEASE_INTERVAL_S: String(RELEASE_INTERVAL_S), GOVERNOR_POLICY_TTL_MS: '0' },
    workers: true,
  });
  const current = await stack.request('GET', '/v1/policy');
  const put = await stack.request('PUT', '/v1/policy', {
    headers: { 'if-match': current.headers.get('etag') ?? '*' },
    body: {
      caps: [{ id: 'burst', limit: 1, window: `PT${WINDOW_S}S` }],
      relevance: { default: 0 },
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    },
  });
  expect(put.status, put.text).toBe(200);
});

afterAll(async () => {
  await stack?.stop();
});

/** The messageIds the outbox provider delivered so far. */
async function delivered(): Promise<Set<string>> {
  const text = await readFile(join(stack.dataDir, 'outbox.jsonl'), 'utf8').catch(() => '');
  return new Set(
    text
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { messageId: string }).messageId),
  );
}

describe('a message answered deferred', () => {
  it('is delivered: none expires at its release, whatever its expiry after its slot', async () => {
    // Prepare: for each customer, a first message takes the window's one slot; one after the other, so
    // that the slots free at moments spread over a release interval
    const customers = EXPIRIES_AFTER_SLOT_S.map((_, i) => `${run}-c${i}`);
    const slots: number[] = [];
    const firstSentAt: number[] = [];
    for (const [i, customerId] of customers.entries()) {
      firstSentAt.push(Date.now());
      const first = await stack.request('POST', '/v1/messages', {
        body: { messageId: `${run}-first-${i}`, customerId, channel: 'email', payload: {} },
      });
      expect(first.json()).toMatchObject({ decision: 'accepted' });
      // Decided before the answer came: its slot frees a window later at the latest.
      slots.push(Date.now() + WINDOW_S * 1000);
      await new Promise((resolve) => setTimeout(resolve, 1000 / customers.length));
    }

    // Act: a second message each, expiring at various moments after its slot frees
    const seconds = await Promise.all(
      customers.map(async (customerId, i) => {
        const expiresAt = (slots[i] as number) + (EXPIRIES_AFTER_SLOT_S[i] as number) * 1000;
        const messageId = `${run}-second-${i}`;
        const sentAt = Date.now();
        const response = await stack.request('POST', '/v1/messages', {
          body: {
            messageId,
            customerId,
            channel: 'email',
            expiresAt: new Date(expiresAt).toISOString(),
            payload: {},
          },
        });
        expect(response.status, response.text).toBe(200);
        return { i, messageId, sentAt, answeredAt: Date.now(), expiresAt, answer: response.json() };
      }),
    );
    const deferred = seconds.filter((s) => s.answer.decision === 'deferred');
    const lastRelease = Math.max(...deferred.map((d) => Date.parse(d.answer.releaseAt)));
    // Every deferred one goes out at its time, or never: wait for them all, or well past their time.
    while (Date.now() < lastRelease + 30_000) {
      const out = await delivered();
      if (deferred.every((d) => out.has(d.messageId))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const out = await delivered();

    // Assess: the far expiries were deferred, and every deferred message was delivered
    expect(deferred.length).toBeGreaterThanOrEqual(3);
    expect(deferred.filter((d) => !out.has(d.messageId)).map((d) => d.messageId)).toEqual([]);
    // The others were refused for the cap, or, on a machine slow enough that a message was decided only
    // after its expiry or once its slot had freed, answered as that moment required: expired, accepted.
    for (const s of seconds.filter((s) => s.answer.decision !== 'deferred')) {
      const where = JSON.stringify(s);
      if (s.answer.decision === 'accepted')
        expect(s.answeredAt, where).toBeGreaterThanOrEqual((firstSentAt[s.i] as number) + WINDOW_S * 1000);
      else if (s.answer.reason === 'expired') expect(s.answeredAt, where).toBeGreaterThanOrEqual(s.expiresAt);
      else expect(s.answer, where).toMatchObject({ decision: 'suppressed', reason: 'frequency_cap' });
    }
  });
});
