/**
 * A message Governor holds, as a platform sees it on the local stack (`npm start`'s workers, the release
 * timer every second, the outbox as provider): its status, and its cancellation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putPolicy, startTestStack, type TestStack } from '../support/local-stack.ts';

let stack: TestStack;
const run = Date.now().toString(36);
const inADay = () => new Date(Date.now() + 86_400_000).toISOString();

beforeAll(async () => {
  stack = await startTestStack({
    env: { GOVERNOR_RELEASE_INTERVAL_S: '1', GOVERNOR_POLICY_TTL_MS: '0' },
    workers: true,
  });
  await putPolicy(stack, {
    caps: [{ id: 'per-minute', limit: 1, window: 'PT1M' }],
    relevance: { default: 0 },
    channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
  });
});

afterAll(async () => {
  await stack?.stop();
});

const send = (body: Record<string, unknown>) =>
  stack.request('POST', '/v1/messages', { body: { channel: 'email', payload: {}, ...body } });
const status = (customerId: string, messageId: string) =>
  stack.request('GET', `/v1/messages/${messageId}?customerId=${customerId}`);
const cancel = (customerId: string, messageId: string) =>
  stack.request('DELETE', `/v1/messages/${messageId}?customerId=${customerId}`);

describe('a message Governor holds', () => {
  it('shows its status, is cancelled once (idempotently), and a queued one cannot be', async () => {
    const customerId = `${run}-cancel`;
    const first = await send({ messageId: `${run}-a`, customerId, expiresAt: inADay() });
    expect(first.json()).toMatchObject({ decision: 'accepted' });
    const held = await send({ messageId: `${run}-b`, customerId, expiresAt: inADay() });
    expect(held.json()).toMatchObject({ decision: 'deferred' });

    const before = await status(customerId, `${run}-b`);
    expect(before.status, before.text).toBe(200);
    expect(before.json()).toMatchObject({ status: 'deferred', releaseAt: held.json().releaseAt });

    const cancelled = await cancel(customerId, `${run}-b`);
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.json()).toMatchObject({ decision: 'suppressed', reason: 'cancelled' });
    const again = await cancel(customerId, `${run}-b`);
    expect(again.json()).toEqual(cancelled.json());
    expect((await status(customerId, `${run}-b`)).json()).toMatchObject({
      status: 'suppressed',
      reason: 'cancelled',
    });
    // Its payload is gone from the partition: the customer holds no deferred message any more.
    const customer = await stack.request('GET', `/v1/customers/${customerId}`);
    expect(customer.json().deferred).toEqual([]);

    // The accepted message is queued or delivered: a 409, and unknown ids a 404.
    expect((await cancel(customerId, `${run}-a`)).status).toBe(409);
    expect(['queued', 'delivered']).toContain((await status(customerId, `${run}-a`)).json().status);
    expect((await status(customerId, `${run}-nope`)).status).toBe(404);
    expect((await cancel(`${run}-nobody`, `${run}-a`)).status).toBe(404);
    // Its slot is free again: the next message gets the slot b had.
    const next = await send({ messageId: `${run}-c`, customerId, expiresAt: inADay() });
    expect(next.json().releaseAt).toBe(held.json().releaseAt);
  });
});
