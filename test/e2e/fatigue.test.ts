/**
 * Fatigue over HTTP, as a campaign platform and its provider would call Governor: a customer who stops
 * opening gets fewer marketing messages after N deliveries, the decision says `fatigue` and its rule,
 * the preview shows the engagement score and the caps in force, a click restores, and the same events
 * posted twice count once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

let stack: TestStack;
const N = 3;
const policy = {
  caps: [{ id: 'daily', limit: 10, window: 'P1D', match: {} }],
  relevance: { default: 0, pressureSlope: 0 },
  channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
  fatigue: { threshold: 0.2, minDelivered: 2, capScale: 0.5, unengagedRun: N, runCapScale: 0.2 },
};

beforeAll(async () => {
  stack = await startTestStack({ env: { GOVERNOR_POLICY_TTL_MS: '0' } });
  const put = await stack.request('PUT', '/v1/policy', { body: policy, headers: { 'if-match': '*' } });
  expect(put.status).toBe(200);
});
afterAll(() => stack?.stop());

type Decision = { messageId: string; decision: string; reason?: string; rule?: string };

async function send(customerId: string, messageId: string): Promise<Decision> {
  const response = await stack.request('POST', '/v1/messages', {
    body: { messageId, customerId, channel: 'email', payload: { body: 'x' } },
  });
  expect(response.status).toBe(200);
  return response.json<Decision>();
}

async function events(list: { customerId: string; messageId: string; type: string }[]) {
  const at = new Date().toISOString();
  const response = await stack.request('POST', '/v1/events', {
    body: list.map((e) => ({ ...e, channel: 'email', at })),
  });
  expect(response.status).toBe(202);
  return response.json<{ received: number; applied: number }>();
}

/** Sends `count` messages, posting delivered (and opened, when `opens`) for each accepted one. */
async function campaign(customerId: string, prefix: string, count: number, opens: boolean) {
  const decisions: Decision[] = [];
  for (let i = 0; i < count; i++) {
    const decision = await send(customerId, `${prefix}-${i}`);
    decisions.push(decision);
    if (decision.decision !== 'accepted') continue;
    const messageId = decision.messageId;
    await events([
      { customerId, messageId, type: 'delivered' },
      ...(opens ? [{ customerId, messageId, type: 'opened' }] : []),
    ]);
  }
  return decisions;
}

describe('fatigue', () => {
  it('sends fewer marketing messages to a customer who stopped opening, after N deliveries, saying fatigue', async () => {
    // Act: eight messages each to a customer who opens and one who never does
    const engaged = await campaign('fat-engaged', 'e', 8, true);
    const tired = await campaign('fat-tired', 't', 8, false);
    // Assess: the first N go to both; past them the unengaged customer's daily cap of 10 is scaled to 2
    const accepted = (ds: Decision[]) => ds.filter((d) => d.decision === 'accepted').length;
    expect(accepted(engaged)).toBe(8);
    expect(tired.slice(0, N).every((d) => d.decision === 'accepted')).toBe(true);
    expect(accepted(tired)).toBe(N);
    expect(tired.slice(N)).toEqual(
      tired
        .slice(N)
        .map((d) => ({ ...d, decision: 'suppressed', reason: 'fatigue', rule: 'fatigue.unengagedRun' })),
    );
  });

  it("explains the customer's engagement and the caps in force in a preview", async () => {
    const response = await stack.request('POST', '/v1/decisions/preview', {
      body: {
        messageId: 'fat-preview',
        customerId: 'fat-tired',
        channel: 'email',
        relevance: 0.9,
        payload: {},
      },
    });
    expect(response.status).toBe(200);
    const preview = response.json();
    expect(preview).toMatchObject({ decision: 'suppressed', reason: 'fatigue' });
    expect(preview.explanation.engagement).toEqual({
      score: 0,
      delivered: expect.any(Number),
      run: N,
      fatigue: 'fatigue.unengagedRun',
    });
    expect(preview.explanation.caps).toEqual([
      expect.objectContaining({ id: 'daily', used: N, limit: 10, effectiveLimit: 2 }),
    ]);
  });

  it('counts an event posted twice once', async () => {
    // Prepare: a fresh customer with one delivered message
    const first = await events([{ customerId: 'fat-dup', messageId: 'd-1', type: 'delivered' }]);
    // Act: the provider retries the same delivery, with a new one, and an eventId twice
    const again = await events([
      { customerId: 'fat-dup', messageId: 'd-1', type: 'delivered' },
      { customerId: 'fat-dup', messageId: 'd-2', type: 'delivered' },
    ]);
    const byId = { customerId: 'fat-dup', messageId: 'd-3', type: 'opened', eventId: 'evt-77' };
    const ids = await events([byId, { ...byId, messageId: 'd-4' }]);
    // Assess
    expect([first.applied, again.applied, ids.applied]).toEqual([1, 1, 1]);
    const preview = await stack.request('POST', '/v1/decisions/preview', {
      body: { messageId: 'dup-preview', customerId: 'fat-dup', channel: 'email', payload: {} },
    });
    expect(preview.json().explanation.engagement).toMatchObject({ run: 0, score: expect.closeTo(0.5, 3) });
  });

  it('restores a customer who clicks', async () => {
    // Act
    const clicked = await events([{ customerId: 'fat-tired', messageId: 't-2', type: 'clicked' }]);
    const next = await send('fat-tired', 't-after-click');
    // Assess
    expect(clicked.applied).toBe(1);
    expect(next.decision).toBe('accepted');
  });
});
