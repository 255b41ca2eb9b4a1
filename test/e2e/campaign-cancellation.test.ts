/**
 * Cancelling a campaign on the local stack, as a platform would: 1,000 messages of a campaign held
 * over 1,000 customers (their notBefore a minute away), the campaign cancelled, and then, once the
 * release timer has run past their time (a control campaign held to the same moment is delivered),
 * none of them delivered and finance counting 1,000 suppressed `cancelled`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseSummary } from '#shared/app/release.ts';
import { utcDay } from '../support/calendar.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = 'e2e-campaign-cancel-secret-0123456789';
const HELD = 1000;
const CONTROL = 3;
let stack: TestStack;
let receiver: WebhookReceiver;
const releaseRuns: { startedAt: number; summary: ReleaseSummary }[] = [];
const run = Date.now().toString(36);
/** The day the test starts: its counts fall on it or on a later one (a run across midnight UTC). */
const firstDay = utcDay();

beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
  stack = await startTestStack({
    env: {
      GOVERNOR_WEBHOOK_URL: receiver.url,
      GOVERNOR_WEBHOOK_SECRET: SECRET,
      GOVERNOR_RELEASE_INTERVAL_S: '1',
      GOVERNOR_POLICY_TTL_MS: '0',
    },
    workers: { onRelease: (r) => releaseRuns.push(r) },
  });
  const current = await stack.request('GET', '/v1/policy');
  const put = await stack.request('PUT', '/v1/policy', {
    headers: { 'if-match': current.headers.get('etag') ?? '*' },
    body: {
      caps: [],
      relevance: { default: 0 },
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    },
  });
  expect(put.status, put.text).toBe(200);
});

afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

/** Polls a status the API reports until it holds (bounded: a hang fails, speed is not asserted). */
async function until<T>(what: string, read: () => Promise<T>, done: (t: T) => boolean): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('POST /v1/campaigns/{campaignId}/cancel', () => {
  it('cancels a campaign of 1,000 deferred messages over 1,000 customers: none delivered, 1,000 counted cancelled', async () => {
    // Prepare: 1,000 customers hold a message of the campaign, three a message of a control campaign
    const campaignId = `stop-${run}`;
    const notBefore = Date.now() + 60_000;
    const message = (i: number, campaign: string) => ({
      messageId: `${campaign}-m${i}`,
      customerId: `${run}-c${i}`,
      channel: 'email',
      campaignId: campaign,
      notBefore: new Date(notBefore).toISOString(),
      expiresAt: new Date(notBefore + 3_600_000).toISOString(),
      payload: { offer: i },
    });
    const held = Array.from({ length: HELD }, (_, i) => message(i, campaignId));
    const control = Array.from({ length: CONTROL }, (_, i) => message(i, `go-${run}`));
    for (const batch of [held.slice(0, 500), held.slice(500), control]) {
      const sent = await stack.request('POST', '/v1/messages/batch', { body: { messages: batch } });
      expect(sent.status, sent.text).toBe(200);
      expect(sent.json().results.every((r: { decision: string }) => r.decision === 'deferred')).toBe(true);
    }

    // Act
    const posted = await stack.request('POST', `/v1/campaigns/${campaignId}/cancel`);
    expect(posted.status, posted.text).toBe(202);
    const { id } = posted.json<{ id: string }>();
    expect(posted.json()).toEqual({ id, campaignId, status: 'queued' });
    const location = posted.headers.get('location') ?? '';
    expect(location).toBe(`/v1/campaigns/${campaignId}/cancellations/${id}`);
    const job = await until(
      'the cancellation',
      async () => (await stack.request('GET', location)).json(),
      (j) => j.status === 'done',
    );
    const doneAt = Date.now();
    // The release timer runs past their time: the control campaign arrives.
    await receiver.waitFor(() => control.every((m) => receiver.arrivals.has(m.messageId)), 180_000);
    await until(
      'a release run after their time',
      async () => releaseRuns.at(-1)?.startedAt ?? 0,
      (t) => t > notBefore,
    );

    // Assess: the job finished before their time, all withdrawn; none delivered; finance counts them
    expect(doneAt).toBeLessThan(notBefore);
    expect(job).toMatchObject({ id, campaignId, status: 'done', cancelled: HELD });
    expect(held.filter((m) => receiver.arrivals.has(m.messageId))).toEqual([]);
    const report = await stack.request(
      'GET',
      `/v1/reports/suppressed?from=${firstDay}&to=${utcDay()}&groupBy=reason,campaign`,
    );
    expect(report.status, report.text).toBe(200);
    const rows: { reason?: string; campaignId?: string; count: number }[] = report.json().rows;
    expect(rows.filter((r) => r.campaignId === campaignId)).toEqual([
      expect.objectContaining({ reason: 'cancelled', campaignId, count: HELD }),
    ]);
    const status = await stack.request('GET', `/v1/messages/${held[7]?.messageId}?customerId=${run}-c7`);
    expect(status.json()).toMatchObject({ status: 'suppressed', reason: 'cancelled' });
  }, 300_000);
});
