/**
 * Digests instead of drops as a platform sees it, on the local stack as `npm start` runs it (release
 * timer every second, a real webhook receiver as the provider): under a cap of one news message per 10
 * seconds, five capped news messages (no expiry: without the digest they would be dropped) are deferred
 * into one digest, visible as such, and arrive as one webhook call under the digest's Idempotency-Key
 * whose payload lists the five in order; finance counts one send and four digested, priced as avoided.
 * Under one briefing a day with a PT1H digest (no slot frees within the hour), five capped briefings
 * arrive as one webhook call at the digest's deadline, an hour after the first, the clock moved there.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { until } from '../support/until.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = 'e2e-digest-webhook-secret-0123456789';
let stack: TestStack;
let receiver: WebhookReceiver;
const run = Date.now().toString(36);
/**
 * The in-process stack's clock (and the test's): noon of a mid-month day, moving at the real pace, so that
 * the decisions, the releases and the report's day are one UTC day, whatever the hour the test runs at.
 */
const NOON = Date.UTC(2026, 5, 15, 12);
const DAY = '2026-06-15';

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'], now: NOON, shouldAdvanceTime: true });
  receiver = await startWebhookReceiver(SECRET);
  stack = await startTestStack({
    env: {
      GOVERNOR_WEBHOOK_URL: receiver.url,
      GOVERNOR_WEBHOOK_SECRET: SECRET,
      GOVERNOR_RELEASE_INTERVAL_S: '1',
      GOVERNOR_POLICY_TTL_MS: '0',
    },
    workers: true,
  });
  const current = await stack.request('GET', '/v1/policy');
  const put = await stack.request('PUT', '/v1/policy', {
    headers: { 'if-match': current.headers.get('etag') ?? '*' },
    body: {
      caps: [
        { id: 'news-burst', limit: 1, window: 'PT10S', match: { category: 'news' } },
        { id: 'briefing-daily', limit: 1, window: 'P1D', match: { category: 'briefing' } },
      ],
      relevance: { default: 0 },
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
      digests: [
        { id: 'news-digest', match: { category: 'news' }, maxItems: 5, maxWait: 'PT5M' },
        { id: 'briefing-digest', match: { category: 'briefing' }, maxItems: 5, maxWait: 'PT1H' },
      ],
    },
  });
  expect(put.status, put.text).toBe(200);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
  vi.useRealTimers();
});

const status = async (customerId: string, messageId: string) => {
  const response = await stack.request('GET', `/v1/messages/${messageId}?customerId=${customerId}`);
  expect(response.status, response.text).toBe(200);
  return response.json();
};

describe('a digest instead of drops', () => {
  it('delivers five capped news messages as one webhook call listing the five, counted as one send and four digested', async () => {
    // Prepare: the 10 seconds' news slot taken
    const customerId = `${run}-reader`;
    const first = await stack.request('POST', '/v1/messages', {
      body: {
        messageId: `${customerId}-0`,
        customerId,
        channel: 'email',
        category: 'news',
        payload: { n: 0 },
      },
    });
    expect(first.json()).toMatchObject({ decision: 'accepted' });

    // Act: five more news messages, one after the other
    const items = [1, 2, 3, 4, 5].map((n) => ({
      messageId: `${customerId}-${n}`,
      customerId,
      channel: 'email',
      category: 'news',
      payload: { headline: `story ${n}` },
    }));
    const answers = [];
    for (const body of items) {
      const response = await stack.request('POST', '/v1/messages', { body });
      expect(response.status, response.text).toBe(200);
      answers.push(response.json());
    }

    // Assess: all five deferred into one digest, at one time, each visible as its item
    const digestId = answers[0].digestId as string;
    expect(digestId).toMatch(/^dg_/);
    for (const answer of answers)
      expect(answer).toMatchObject({
        decision: 'deferred',
        reason: 'digest',
        rule: 'news-digest',
        digestId,
        releaseAt: answers[0].releaseAt,
      });
    expect(await status(customerId, items[2]?.messageId as string)).toMatchObject({
      status: 'deferred',
      reason: 'digest',
      digestId,
      releaseAt: answers[0].releaseAt,
    });
    // one webhook call, under the digest's Idempotency-Key, the five payloads in order
    await receiver.waitFor(() => receiver.arrivals.has(digestId), 120_000);
    const arrival = receiver.arrivals.get(digestId);
    expect(arrival?.body).toMatchObject({
      messageId: digestId,
      customerId,
      channel: 'email',
      category: 'news',
      payload: { digestId, items: items.map((i) => i.payload) },
    });
    expect(arrival?.at).toBeGreaterThanOrEqual(Date.parse(answers[0].releaseAt));
    expect(items.filter((i) => receiver.arrivals.has(i.messageId))).toEqual([]);
    expect(receiver.badSignatures).toBe(0);
    // each item delivered with the digest
    const delivered = await until(
      'the items delivered',
      () => status(customerId, items[4]?.messageId as string),
      (s) => s.status === 'delivered',
      30_000,
    );
    expect(delivered).toMatchObject({ status: 'delivered', digestId });
    // finance: five deferred decisions, resolved as one send and four digested (four sends avoided)
    const summary = await until(
      'the digest counted',
      async () => (await stack.request('GET', `/v1/reports/summary?day=${DAY}`)).json(),
      (s) => s.released?.accepted + s.digested === 5,
      30_000,
    );
    expect(summary).toMatchObject({
      requested: 6,
      accepted: 1,
      deferred: 5,
      suppressed: 0,
      released: { accepted: 1, suppressed: 0, digested: 4 },
      digested: 4,
      avoidedCost: 0.004,
    });
  }, 240_000);
  it('lets the platform cancel one item (the digest goes without it) and a campaign withdraw its items', async () => {
    // Prepare: the slot taken, then three capped news items: two of the spring campaign
    const customerId = `${run}-canceller`;
    const post = async (n: number, campaignId?: string) => {
      const response = await stack.request('POST', '/v1/messages', {
        body: {
          messageId: `${customerId}-${n}`,
          customerId,
          channel: 'email',
          category: 'news',
          ...(campaignId ? { campaignId } : {}),
          payload: { n },
        },
      });
      expect(response.status, response.text).toBe(200);
      return response.json();
    };
    expect(await post(0)).toMatchObject({ decision: 'accepted' });
    const campaignId = `${run}-spring`;
    const [one, two, three] = [await post(1, campaignId), await post(2, campaignId), await post(3)];
    const { digestId } = one;
    expect([two.digestId, three.digestId]).toEqual([digestId, digestId]);

    // Act: cancel item 3, then the campaign (items 1 and 2)
    const cancelled = await stack.request('DELETE', `/v1/messages/${customerId}-3?customerId=${customerId}`);
    const posted = await stack.request('POST', `/v1/campaigns/${campaignId}/cancel`);
    expect(posted.status, posted.text).toBe(202);
    const job = await until(
      'the campaign cancellation',
      async () => (await stack.request('GET', posted.headers.get('location') ?? '')).json(),
      (j) => j.status === 'done',
      60_000,
    );

    // Assess: each withdrawn, cancelled; the digest's slot free again, so the next capped item opens
    // a new digest rather than joining the old one
    expect(cancelled.json()).toMatchObject({ decision: 'suppressed', reason: 'cancelled' });
    expect(job).toMatchObject({ status: 'done', cancelled: 2 });
    for (const n of [1, 2, 3])
      expect(await status(customerId, `${customerId}-${n}`)).toMatchObject({
        status: 'suppressed',
        reason: 'cancelled',
      });
    const next = await post(4);
    expect(next).toMatchObject({ decision: 'deferred', reason: 'digest' });
    expect(next.digestId).not.toBe(digestId);
    expect(next.releaseAt).toBe(one.releaseAt);
    await receiver.waitFor(() => receiver.arrivals.has(next.digestId), 120_000);
    expect(receiver.arrivals.get(next.digestId)?.body).toMatchObject({
      payload: { digestId: next.digestId, items: [{ n: 4 }] },
    });
    expect(receiver.arrivals.has(digestId)).toBe(false);
  }, 240_000);

  it('delivers five capped messages under 1/P1D with a PT1H digest as one webhook call at the deadline, listing the five', async () => {
    // Prepare: the day's briefing sent
    const customerId = `${run}-briefed`;
    const post = async (n: number) => {
      const response = await stack.request('POST', '/v1/messages', {
        body: {
          messageId: `${customerId}-${n}`,
          customerId,
          channel: 'email',
          category: 'briefing',
          payload: { briefing: n },
        },
      });
      expect(response.status, response.text).toBe(200);
      return response.json();
    };
    expect(await post(0)).toMatchObject({ decision: 'accepted' });
    const asked = Date.now();
    const answers = [await post(1)];
    const answered = Date.now();
    for (const n of [2, 3, 4, 5]) answers.push(await post(n));
    const before = (await stack.request('GET', `/v1/reports/summary?day=${DAY}`)).json();

    // Act: an hour goes by
    const deadline = Date.parse(answers[0].releaseAt);
    vi.setSystemTime(deadline + 1000);

    // Assess: held in one digest due an hour after the first capped one (no slot frees before), then
    // delivered then as one call listing the five, counted as one send and four digested
    const { digestId } = answers[0];
    for (const answer of answers)
      expect(answer).toMatchObject({
        decision: 'deferred',
        reason: 'digest',
        rule: 'briefing-digest',
        digestId,
      });
    expect(new Set(answers.map((a) => a.releaseAt))).toEqual(new Set([answers[0].releaseAt]));
    expect(deadline - 60 * 60_000).toBeGreaterThanOrEqual(asked);
    expect(deadline - 60 * 60_000).toBeLessThanOrEqual(answered);
    await receiver.waitFor(() => receiver.arrivals.has(digestId), 120_000);
    const arrival = receiver.arrivals.get(digestId);
    expect(arrival?.body).toMatchObject({
      messageId: digestId,
      customerId,
      category: 'briefing',
      payload: { digestId, items: [1, 2, 3, 4, 5].map((n) => ({ briefing: n })) },
    });
    expect(arrival?.at).toBeGreaterThanOrEqual(deadline);
    const itemIds = [1, 2, 3, 4, 5].map((n) => `${customerId}-${n}`);
    expect(itemIds.filter((id) => receiver.arrivals.has(id))).toEqual([]);
    const summary = await until(
      'the forced digest counted',
      async () => (await stack.request('GET', `/v1/reports/summary?day=${DAY}`)).json(),
      (s) => s.digested === (before.digested ?? 0) + 4,
      30_000,
    );
    expect(summary.released).toMatchObject({
      accepted: (before.released?.accepted ?? 0) + 1,
      digested: (before.released?.digested ?? 0) + 4,
    });
  }, 240_000);
});
