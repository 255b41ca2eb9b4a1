/**
 * Delivery end to end, as `npm start` runs it: messages accepted over HTTP go through the delivery queue,
 * the SQS pollers and the dispatch handler to a real local webhook receiver — once each, signed; a
 * receiver failing half of the requests delays messages but loses none; deferred messages come out of
 * the release timer at their time, or not at all when the customer opted out meanwhile.
 */
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ReleaseSummary } from '#shared/app/release.ts';
import { getRoot } from '#shared/composition.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { draw, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = 'e2e-webhook-secret-0123456789';
const RELEASE_INTERVAL_S = 1;
let stack: TestStack;
let receiver: WebhookReceiver;
/** Every run of the release timer, as the workers signal it when it has finished. */
interface ReleaseRun {
  startedAt: number;
  summary: ReleaseSummary;
}
const releaseRuns: ReleaseRun[] = [];
let n = 0;
const run = Date.now().toString(36);

function aMessage(overrides: Record<string, unknown> = {}) {
  n++;
  return {
    messageId: `${run}-m${n}`,
    customerId: `${run}-c${n}`,
    channel: 'email',
    relevance: 1,
    payload: { subject: `Message ${n}`, to: `customer${n}@example.com` },
    ...overrides,
  };
}

async function send(message: Record<string, unknown>) {
  const response = await stack.request('POST', '/v1/messages', { body: message });
  expect(response.status, response.text).toBe(200);
  return response.json();
}

async function sendBatch(messages: Record<string, unknown>[]) {
  const response = await stack.request('POST', '/v1/messages/batch', { body: { messages } });
  expect(response.status, response.text).toBe(200);
  return response.json().results as Record<string, unknown>[];
}

beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
  stack = await startTestStack({
    env: {
      GOVERNOR_WEBHOOK_URL: receiver.url,
      GOVERNOR_WEBHOOK_SECRET: SECRET,
      GOVERNOR_RELEASE_INTERVAL_S: String(RELEASE_INTERVAL_S),
      GOVERNOR_POLICY_TTL_MS: '0',
    },
    workers: { onRelease: (r) => releaseRuns.push(r) },
  });
  const current = await stack.request('GET', '/v1/policy');
  const put = await stack.request('PUT', '/v1/policy', {
    headers: { 'if-match': current.headers.get('etag') ?? '*' },
    body: {
      // Only the deferral tests' campaign is capped: one message per 3 seconds.
      caps: [{ id: 'burst', limit: 1, window: 'PT3S', match: { campaignId: 'deferral' } }],
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

beforeEach(() => {
  receiver.respond = () => 200;
});

describe('delivery to the webhook', () => {
  it('delivers each accepted message once, signed, with its idempotency key and payload', async () => {
    const messages = Array.from({ length: 20 }, () => aMessage());
    const results = await sendBatch(messages);
    expect(results.every((r) => r.decision === 'accepted')).toBe(true);

    await receiver.waitFor(() => messages.every((m) => receiver.arrivals.has(m.messageId)), 20_000);

    expect(receiver.badSignatures).toBe(0);
    for (const m of messages) {
      expect(receiver.arrivals.get(m.messageId)?.body).toMatchObject({
        messageId: m.messageId,
        customerId: m.customerId,
        channel: 'email',
        payload: m.payload,
      });
      expect(receiver.replays.get(m.messageId)).toBeUndefined();
    }
  });

  it('delivers all of 200 messages exactly once, each retried until the webhook takes it, while the webhook fails half of the requests', async () => {
    // Each request fails with a 503 or a 500 on a fixed coin toss per (message, attempt).
    let requests = 0;
    receiver.respond = (messageId, attempt) => {
      requests++;
      const coin = draw(`${messageId}#${attempt}`);
      if (coin < 0.25) return 503;
      if (coin < 0.5) return 500;
      return 200;
    };
    const messages = Array.from({ length: 200 }, () => aMessage());
    const failedBefore = receiver.failed;
    const results = await sendBatch(messages);
    expect(results.every((r) => r.decision === 'accepted')).toBe(true);

    // (The wait only bounds a hang; how fast retries come is the backoff's business, not this test's.)
    await receiver.waitFor(() => messages.every((m) => receiver.arrivals.has(m.messageId)), 180_000);

    // None was sent again once the webhook had taken it.
    expect(messages.filter((m) => receiver.replays.has(m.messageId))).toEqual([]);
    const failures = receiver.failed - failedBefore;
    expect(failures / requests).toBeGreaterThan(0.4); // the receiver did fail about half of them
    expect(failures).toBeGreaterThan(100);
  }, 200_000);

  it('dead-letters a message the webhook refuses (4xx) with the reason, without retrying it', async () => {
    const refused = aMessage();
    receiver.respond = (messageId) => (messageId === refused.messageId ? 422 : 200);
    await send(refused);
    const sqs = new SQSClient({ endpoint: stack.engines.sqsEndpoint, region: 'us-east-1' });
    let letter: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !letter; i++) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: stack.engines.dlqUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
        }),
      );
      const found = out.Messages?.find(
        (m) => m.MessageAttributes?.messageId?.StringValue === refused.messageId,
      );
      if (found)
        letter = {
          reason: found.MessageAttributes?.reason?.StringValue,
          body: JSON.parse(found.Body ?? '{}'),
        };
    }
    sqs.destroy();
    expect(letter).toMatchObject({ reason: 'http_422', body: { messageId: refused.messageId } });
    expect(receiver.arrivals.has(refused.messageId)).toBe(false);
  });
});

describe('deferred messages', () => {
  /** The first release run that started at or after `t`, once it has finished. */
  const firstReleaseFrom = (t: number) =>
    receiver
      .waitFor(() => releaseRuns.some((r) => r.startedAt >= t), 30_000)
      .then(() => releaseRuns.find((r) => r.startedAt >= t) as ReleaseRun);

  /** The deferred items the customer still holds (durable: their partition in the table). */
  async function heldFor(customerId: string): Promise<number> {
    const { db, config } = getRoot();
    const out = await db.send(
      new QueryCommand({
        TableName: config.GOVERNOR_TABLE_NAME,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :d)',
        ExpressionAttributeValues: { ':pk': `C#${customerId}`, ':d': 'D#' },
      }),
    );
    return out.Items?.length ?? 0;
  }

  it('releases a deferred message (cap window full, later expiresAt) in the first release run after its releaseAt, and delivers it', async () => {
    const customerId = `${run}-deferred`;
    const first = await send(aMessage({ customerId, campaignId: 'deferral' }));
    expect(first.decision).toBe('accepted');
    const later = aMessage({
      customerId,
      campaignId: 'deferral',
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    const deferred = await send(later);
    expect(deferred).toMatchObject({ decision: 'deferred', rule: 'burst' });
    const releaseAt = Date.parse(deferred.releaseAt);

    // The run that starts once it is due releases it (no run before kept it back or sent it early)...
    const released = await firstReleaseFrom(releaseAt);
    expect(released.summary.accepted).toBeGreaterThanOrEqual(1);
    expect(await heldFor(customerId)).toBe(0);

    // ...and the delivery queue takes it to the provider, never before its time.
    await receiver.waitFor(() => receiver.arrivals.has(later.messageId), 20_000);
    expect(receiver.arrivals.get(later.messageId)?.at).toBeGreaterThanOrEqual(releaseAt);
  });

  it('suppresses, and never delivers, a deferred message whose customer opted out meanwhile', async () => {
    const customerId = `${run}-opted-out`;
    await send(aMessage({ customerId, campaignId: 'deferral' }));
    const later = aMessage({
      customerId,
      campaignId: 'deferral',
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    const deferred = await send(later);
    expect(deferred.decision).toBe('deferred');
    const optOut = await stack.request('PUT', `/v1/customers/${customerId}/preferences`, {
      body: { channels: { email: { optIn: false, source: 'preference-centre' } } },
    });
    expect(optOut.status, optOut.text).toBe(200);

    // The release run that would have delivered it suppressed it and queued nothing...
    const released = await firstReleaseFrom(Date.parse(deferred.releaseAt));
    expect(released.summary).toMatchObject({ accepted: 0, suppressed: 1 });
    // ...and the customer holds no deferred item any later run could deliver.
    expect(await heldFor(customerId)).toBe(0);
    expect(receiver.arrivals.has(later.messageId)).toBe(false);
  });
});
