/**
 * What makes two messages the same, over HTTP: the messageId (per customer), under a keyed hash that no
 * offline search can collide; and a retry of a messageId must be the same message. Two messageIds whose
 * keys collided under the first scheme (the first 48 bits of an unkeyed SHA-256: found by a birthday
 * search in a minute) are decided apart; a retry naming another channel, kind, category or campaign is a
 * 409 `/problems/idempotency-conflict`, alone in its batch; a retry of the same message (whatever its
 * payload, relevance or times) gets the first answer.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

let stack: TestStack;
let n = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${n++}`;

/** Two ids with the same first 48 bits of SHA-256 (base64url `QGzzpeF-`), found by Pollard's rho. */
const COLLIDING = ['ml4dq4Isl', 'mkHceC6V2'] as const;

const openPolicy = {
  caps: [],
  relevance: { default: 0 },
  channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
};

const aMessage = (overrides: Record<string, unknown> = {}) => ({
  messageId: unique('m'),
  customerId: unique('c'),
  channel: 'email',
  category: 'promotions',
  campaignId: 'spring',
  payload: { subject: 'Hello' },
  ...overrides,
});

async function send(message: Record<string, unknown>) {
  return stack.request('POST', '/v1/messages', { body: message });
}

beforeAll(async () => {
  stack = await startTestStack({ env: { GOVERNOR_POLICY_TTL_MS: '0' } });
  const current = await stack.request('GET', '/v1/policy');
  const put = await stack.request('PUT', '/v1/policy', {
    body: openPolicy,
    headers: { 'if-match': current.headers.get('etag') ?? '*' },
  });
  expect(put.status).toBe(200);
});

afterAll(async () => {
  await stack?.stop();
});

describe('two messages of one customer', () => {
  it('are decided apart when their ids collided under the unkeyed 48-bit hash', async () => {
    // Prepare
    const key = (id: string) => createHash('sha256').update(id).digest('base64url').slice(0, 8);
    expect(key(COLLIDING[0])).toBe(key(COLLIDING[1]));
    const customerId = unique('collide');

    // Act: an e-mail, then an SMS
    const email = await send(aMessage({ customerId, messageId: COLLIDING[0], channel: 'email' }));
    const sms = await send(aMessage({ customerId, messageId: COLLIDING[1], channel: 'sms' }));

    // Assess: each its own decision, on its own channel
    expect(email.json()).toMatchObject({ messageId: COLLIDING[0], decision: 'accepted', channel: 'email' });
    expect(sms.status, sms.text).toBe(200);
    expect(sms.json()).toMatchObject({ messageId: COLLIDING[1], decision: 'accepted', channel: 'sms' });
  });
});

describe('a retry of a messageId', () => {
  it.each([
    ['another channel', { channel: 'sms' }],
    ['another kind', { kind: 'transactional' }],
    ['another category', { category: 'news' }],
    ['another campaign', { campaignId: 'summer' }],
  ])('naming %s is a 409 idempotency conflict, and changes nothing', async (_, other) => {
    // Prepare
    const first = aMessage();
    expect((await send(first)).json()).toMatchObject({ decision: 'accepted', channel: 'email' });

    // Act
    const retry = await send({ ...first, ...other });

    // Assess
    expect(retry.status).toBe(409);
    expect(retry.headers.get('content-type')).toContain('application/problem+json');
    expect(retry.json()).toMatchObject({
      type: '/problems/idempotency-conflict',
      status: 409,
      detail: expect.stringContaining(first.messageId),
    });
    expect((await send(first)).json()).toMatchObject({ decision: 'accepted', channel: 'email' });
  });

  it('with the same facts gets the first answer, whatever its payload, relevance or expiry', async () => {
    // Prepare
    const first = aMessage({ relevance: 0.4 });
    const answer = (await send(first)).json();

    // Act
    const retry = await send({
      ...first,
      relevance: 0.9,
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      payload: { subject: 'Hello again' },
    });

    // Assess
    expect(retry.status).toBe(200);
    expect(retry.json()).toEqual(answer);
  });

  it('that conflicts is a per-item 409 in a batch, beside the others’ decisions', async () => {
    // Prepare
    const first = aMessage();
    await send(first);

    // Act
    const batch = await stack.request('POST', '/v1/messages/batch', {
      body: { messages: [first, { ...first, channel: 'push' }, aMessage()] },
    });

    // Assess
    expect(batch.status).toBe(200);
    const [same, conflict, other] = batch.json().results;
    expect(same).toMatchObject({ messageId: first.messageId, decision: 'accepted' });
    expect(conflict).toMatchObject({
      messageId: first.messageId,
      status: 409,
      error: { type: '/problems/idempotency-conflict', status: 409 },
    });
    expect(other).toMatchObject({ decision: 'accepted' });
  });
});
