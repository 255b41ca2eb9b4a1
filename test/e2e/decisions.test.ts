/**
 * The governor over HTTP, as a campaign platform, a marketer and a preference centre call it: each rule
 * of the decision, idempotency and concurrency on the real local engines.
 */
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

let stack: TestStack;
let n = 0;
const uniqueCustomer = () => `cust-${Date.now().toString(36)}-${n++}`;
const uniqueMessage = () => `msg-${Date.now().toString(36)}-${n++}`;

const anHour = 3600_000;
const iso = (t: number) => new Date(t).toISOString();

function aMessage(overrides: Record<string, unknown> = {}) {
  return {
    messageId: uniqueMessage(),
    customerId: 'c-default',
    channel: 'email',
    category: 'promotions',
    campaignId: 'black-friday',
    relevance: 0.9,
    payload: { subject: 'Hello' },
    ...overrides,
  };
}

const basePolicy = {
  caps: [{ id: 'weekly', limit: 3, window: 'P7D', match: {} }],
  relevance: { default: 0.2, byChannel: { sms: 0.6 }, byCategory: { newsletter: 0.5 }, pressureSlope: 0.3 },
  channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
};

async function putPolicy(document: unknown) {
  const current = await stack.request('GET', '/v1/policy');
  const response = await stack.request('PUT', '/v1/policy', {
    body: document,
    headers: { 'if-match': current.headers.get('etag') ?? '*' },
  });
  expect(response.status).toBe(200);
  return response.json();
}

async function send(message: Record<string, unknown>) {
  const response = await stack.request('POST', '/v1/messages', { body: message });
  expect(response.status, response.text).toBe(200);
  return response.json();
}

beforeAll(async () => {
  stack = await startTestStack({ env: { GOVERNOR_POLICY_TTL_MS: '0' } });
  await putPolicy(basePolicy);
});

afterAll(async () => {
  await stack?.stop();
});

describe('POST /v1/messages under concurrency', () => {
  it('accepts exactly 3 of 200 simultaneous sends to one customer under a cap of 3', async () => {
    const customerId = uniqueCustomer();
    const responses = await Promise.all(Array.from({ length: 200 }, () => send(aMessage({ customerId }))));
    const accepted = responses.filter((r) => r.decision === 'accepted');
    const suppressed = responses.filter((r) => r.decision === 'suppressed');
    expect(accepted).toHaveLength(3);
    expect(suppressed).toHaveLength(197);
    expect(new Set(suppressed.map((r) => r.reason))).toEqual(new Set(['frequency_cap']));
    expect(new Set(suppressed.map((r) => r.rule))).toEqual(new Set(['weekly']));
  });

  it('gives 20 simultaneous retries of one messageId the same decision, counted once', async () => {
    const customerId = uniqueCustomer();
    const message = aMessage({ customerId });
    const responses = await Promise.all(Array.from({ length: 20 }, () => send(message)));
    expect(new Set(responses.map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify(responses[0])]));
    expect(responses[0].decision).toBe('accepted');
    // Counted once: two more distinct messages fit under the cap of 3, the third does not.
    const more = [];
    for (let i = 0; i < 3; i++) more.push((await send(aMessage({ customerId }))).decision);
    expect(more).toEqual(['accepted', 'accepted', 'suppressed']);
  });
});

describe('POST /v1/messages rules', () => {
  it('queues an accepted message for delivery with its payload', async () => {
    const customerId = uniqueCustomer();
    const message = aMessage({ customerId, payload: { subject: 'Queued' } });
    const decision = await send(message);
    expect(decision).toMatchObject({ messageId: message.messageId, decision: 'accepted', channel: 'email' });
    const sqs = new SQSClient({
      endpoint: stack.engines.sqsEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const bodies: Record<string, unknown>[] = [];
    for (let i = 0; i < 20 && !bodies.some((b) => b.messageId === message.messageId); i++) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: stack.engines.deliveryQueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
        }),
      );
      for (const m of out.Messages ?? []) bodies.push(JSON.parse(m.Body ?? '{}'));
    }
    expect(bodies.find((b) => b.messageId === message.messageId)).toMatchObject({
      customerId,
      channel: 'email',
      payload: { subject: 'Queued' },
    });
  });

  it('suppresses a message below the relevance threshold of its channel', async () => {
    const decision = await send(aMessage({ customerId: uniqueCustomer(), channel: 'sms', relevance: 0.5 }));
    expect(decision).toMatchObject({ decision: 'suppressed', reason: 'relevance_below_threshold' });
  });

  it('raises the relevance a message needs as the customer fills the cap', async () => {
    const customerId = uniqueCustomer();
    await send(aMessage({ customerId, relevance: 1 }));
    await send(aMessage({ customerId, relevance: 1 }));
    // 2 of 3 used: threshold 0.2 + 0.3 × 2/3 = 0.4.
    const low = await send(aMessage({ customerId, relevance: 0.35 }));
    const high = await send(aMessage({ customerId, relevance: 0.45 }));
    expect([low.decision, low.reason, high.decision]).toEqual([
      'suppressed',
      'relevance_below_threshold',
      'accepted',
    ]);
  });

  it('defers a message to the moment a slot frees when its expiry allows, else suppresses it', async () => {
    const customerId = uniqueCustomer();
    for (let i = 0; i < 3; i++) expect((await send(aMessage({ customerId }))).decision).toBe('accepted');
    const now = Date.now();
    const deferred = await send(aMessage({ customerId, expiresAt: iso(now + 8 * 24 * anHour) }));
    expect(deferred).toMatchObject({ decision: 'deferred', rule: 'weekly' });
    const releaseAt = Date.parse(deferred.releaseAt);
    expect(releaseAt).toBeGreaterThan(now + 7 * 24 * anHour - 60_000);
    expect(releaseAt).toBeLessThan(now + 7 * 24 * anHour + 60_000);
    const tooLate = await send(aMessage({ customerId, expiresAt: iso(now + 2 * 24 * anHour) }));
    expect(tooLate).toMatchObject({ decision: 'suppressed', reason: 'frequency_cap' });
  });

  it('lets transactional messages through full caps and opt-outs but not a hard bounce', async () => {
    const customerId = uniqueCustomer();
    for (let i = 0; i < 3; i++) await send(aMessage({ customerId }));
    const receipt = await send(aMessage({ customerId, kind: 'transactional', relevance: 0 }));
    expect(receipt.decision).toBe('accepted');
    const events = await stack.request('POST', '/v1/events', {
      body: [{ customerId, channel: 'email', type: 'bounced_hard', at: iso(Date.now()) }],
    });
    expect(events.status).toBe(202);
    const after = await send(aMessage({ customerId, kind: 'transactional' }));
    expect(after).toMatchObject({ decision: 'suppressed', reason: 'hard_bounce' });
  });

  it('honours channel and topic opt-outs and a pause from the preference centre', async () => {
    const customerId = uniqueCustomer();
    const put = await stack.request('PUT', `/v1/customers/${customerId}/preferences`, {
      body: {
        channels: { sms: { optIn: false, source: 'preference-centre' } },
        topics: { promotions: false },
      },
    });
    expect(put.status).toBe(200);
    expect((await send(aMessage({ customerId, channel: 'sms', category: 'news' }))).reason).toBe('opted_out');
    expect((await send(aMessage({ customerId, category: 'promotions' }))).reason).toBe('topic_opted_out');
    const paused = uniqueCustomer();
    await stack.request('PUT', `/v1/customers/${paused}/preferences`, {
      body: { pausedUntil: iso(Date.now() + 24 * anHour) },
    });
    expect((await send(aMessage({ customerId: paused }))).reason).toBe('paused');
  });

  it('falls back to an alternate channel the customer allows', async () => {
    const customerId = uniqueCustomer();
    await stack.request('PUT', `/v1/customers/${customerId}/preferences`, {
      body: { channels: { email: { optIn: false } } },
    });
    const decision = await send(aMessage({ customerId, alternateChannels: ['push'] }));
    expect(decision).toMatchObject({ decision: 'accepted', channel: 'push' });
  });

  it('defers a marketing message to the end of the customer quiet hours, or suppresses it if it expires first', async () => {
    const customerId = uniqueCustomer();
    const now = Date.now();
    // Quiet hours around the current time in UTC, from an hour ago to an hour from now.
    const hhmm = (t: number) => iso(t).slice(11, 16);
    await stack.request('PUT', `/v1/customers/${customerId}/preferences`, {
      body: { timezone: 'UTC', quietHours: { start: hhmm(now - anHour), end: hhmm(now + anHour) } },
    });
    const deferred = await send(aMessage({ customerId }));
    expect(deferred).toMatchObject({ decision: 'deferred', rule: 'quietHours' });
    expect(Math.abs(Date.parse(deferred.releaseAt) - (now + anHour))).toBeLessThan(2 * 60_000);
    const expiring = await send(aMessage({ customerId, expiresAt: iso(now + 10 * 60_000) }));
    expect(expiring).toMatchObject({ decision: 'suppressed', reason: 'quiet_hours_expired' });
  });

  it('suppresses an expired message and defers one whose notBefore is ahead', async () => {
    const customerId = uniqueCustomer();
    const now = Date.now();
    expect((await send(aMessage({ customerId, expiresAt: iso(now - 1000) }))).reason).toBe('expired');
    const later = await send(aMessage({ customerId, notBefore: iso(now + 3 * anHour) }));
    expect(later).toMatchObject({
      decision: 'deferred',
      releaseAt: iso(now + 3 * anHour),
      rule: 'notBefore',
    });
  });

  it('answers a batch in order, with a bad item as a per-item error', async () => {
    const customerId = uniqueCustomer();
    const response = await stack.request('POST', '/v1/messages/batch', {
      body: {
        messages: [
          aMessage({ customerId }),
          { messageId: 'bad', channel: 'fax' },
          aMessage({ customerId, channel: 'push' }),
        ],
      },
    });
    expect(response.status).toBe(200);
    const { results } = await response.json();
    expect(results).toHaveLength(3);
    expect(results[0]).toMatchObject({ decision: 'accepted', channel: 'email' });
    expect(results[1]).toMatchObject({ messageId: 'bad', status: 400, error: { status: 400 } });
    expect(results[1].error.errors.map((e: { path: string }) => e.path)).toEqual(
      expect.arrayContaining(['channel', 'customerId', 'payload']),
    );
    expect(results[2]).toMatchObject({ decision: 'accepted', channel: 'push' });
  });

  it('previews a decision without consuming a slot', async () => {
    const customerId = uniqueCustomer();
    for (let i = 0; i < 2; i++) await send(aMessage({ customerId }));
    for (let i = 0; i < 3; i++) {
      const preview = await stack.request('POST', '/v1/decisions/preview', {
        body: aMessage({ customerId }),
      });
      expect((await preview.json()).decision).toBe('accepted');
    }
    expect((await send(aMessage({ customerId }))).decision).toBe('accepted');
    expect((await send(aMessage({ customerId }))).decision).toBe('suppressed');
  });
});

describe('policy', () => {
  beforeEach(async () => {
    await putPolicy(basePolicy);
  });

  it('versions each change, with ETag and If-Match', async () => {
    const current = await stack.request('GET', '/v1/policy');
    const etag = current.headers.get('etag');
    expect(etag).toMatch(/^"\d+"$/);
    const missing = await stack.request('PUT', '/v1/policy', { body: basePolicy });
    expect(missing.status).toBe(428);
    const changed = await stack.request('PUT', '/v1/policy', {
      body: basePolicy,
      headers: { 'if-match': etag ?? '' },
    });
    expect(changed.status).toBe(200);
    const stale = await stack.request('PUT', '/v1/policy', {
      body: basePolicy,
      headers: { 'if-match': etag ?? '' },
    });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('content-type')).toBe('application/problem+json');
    const versions = await (await stack.request('GET', '/v1/policy/versions')).json();
    const newest = versions.versions[0];
    expect(newest.version).toBe(Number(etag?.replaceAll('"', '')) + 1);
    expect(newest.author).toBe('admin');
  });

  it('applies a policy change to the next decision', async () => {
    const customerId = uniqueCustomer();
    await putPolicy({ ...basePolicy, caps: [{ id: 'one-a-week', limit: 1, window: 'P7D', match: {} }] });
    expect((await send(aMessage({ customerId }))).decision).toBe('accepted');
    const second = await send(aMessage({ customerId }));
    expect(second).toMatchObject({ decision: 'suppressed', rule: 'one-a-week' });
  });
});

describe('customers', () => {
  beforeEach(async () => {
    await putPolicy(basePolicy);
  });

  it('keeps consent source and time, and erases everything on DELETE', async () => {
    const customerId = uniqueCustomer();
    await stack.request('PUT', `/v1/customers/${customerId}/preferences`, {
      body: { channels: { sms: { optIn: false, source: 'preference-centre' } }, maxPerWeek: 2 },
    });
    const read = await (await stack.request('GET', `/v1/customers/${customerId}/preferences`)).json();
    expect(read.channels.sms).toMatchObject({ optIn: false, source: 'preference-centre' });
    expect(Date.parse(read.channels.sms.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(read.maxPerWeek).toBe(2);
    const erased = await stack.request('DELETE', `/v1/customers/${customerId}`);
    expect(erased.status).toBe(200);
    const after = await (await stack.request('GET', `/v1/customers/${customerId}/preferences`)).json();
    expect(after).toEqual({ channels: {}, topics: {} });
    expect((await stack.request('DELETE', `/v1/customers/${customerId}`)).status).toBe(200);
  });

  it('applies the stricter of the customer maxPerWeek and the policy cap', async () => {
    const customerId = uniqueCustomer();
    await stack.request('PUT', `/v1/customers/${customerId}/preferences`, { body: { maxPerWeek: 1 } });
    expect((await send(aMessage({ customerId }))).decision).toBe('accepted');
    expect(await send(aMessage({ customerId }))).toMatchObject({
      decision: 'suppressed',
      rule: 'customer.maxPerWeek',
    });
  });

  it('opts a customer out of a channel on an unsubscribe event', async () => {
    const customerId = uniqueCustomer();
    await stack.request('POST', '/v1/events', {
      body: [{ customerId, channel: 'email', type: 'unsubscribed', at: iso(Date.now()) }],
    });
    expect((await send(aMessage({ customerId }))).reason).toBe('opted_out');
  });
});
