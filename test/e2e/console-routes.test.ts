/**
 * The routes the console reads, over HTTP as a browser calls them: the presented key's own scopes, one
 * UTC day's figures, the delivery queue's and DLQ's depths, and any policy version's whole document.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

let stack: TestStack;
/**
 * The in-process stack's clock (and the test's): noon of a mid-month day, moving at the real pace, so that
 * no run crosses midnight UTC or a month's end, whatever the day it runs on.
 */
const NOON = Date.UTC(2026, 5, 15, 12);
const today = () => new Date().toISOString().slice(0, 10);

async function keyWith(scopes: string[], rateLimit?: number): Promise<{ id: string; key: string }> {
  const response = await stack.request('POST', '/v1/keys', {
    body: { name: `console ${scopes.join(' ')}`, scopes, ...(rateLimit ? { rateLimit } : {}) },
  });
  expect(response.status).toBe(201);
  return response.json();
}

const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'], now: NOON, shouldAdvanceTime: true });
  stack = await startTestStack({ env: { GOVERNOR_COUNT_FLUSH_MS: '0' } });
});

afterAll(async () => {
  await stack?.stop();
  vi.useRealTimers();
});

describe('GET /v1/me', () => {
  it('answers any valid key with its own id, scopes and rate limit, whatever the scopes', async () => {
    const { id, key } = await keyWith(['reports:read'], 25);

    const response = await stack.request('GET', '/v1/me', as(key));

    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ keyId: id, scopes: ['reports:read'], rateLimit: 25 });
  });

  it('names every scope of the bootstrap admin key, which has no rate limit', async () => {
    const response = await stack.request('GET', '/v1/me');

    expect(response.json()).toEqual({
      keyId: 'admin',
      scopes: [
        'send',
        'policy:read',
        'policy:write',
        'preferences:read',
        'preferences:write',
        'events:write',
        'reports:read',
        'admin',
      ],
    });
  });

  it('is 401 without a valid key', async () => {
    const response = await stack.request('GET', '/v1/me', as('gov_0000000000000000_nope'));

    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('GET /v1/reports/summary?day=', () => {
  it("counts one UTC day's decisions as the monthly summary counts a month", async () => {
    // Prepare: a daily cap of 1, three e-mails to one customer: 1 accepted, 2 suppressed.
    const put = await stack.request('PUT', '/v1/policy', {
      body: {
        caps: [{ id: 'daily', limit: 1, window: 'P1D' }],
        channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
      },
      headers: { 'if-match': '*' },
    });
    expect(put.status).toBe(200);
    const before = (await stack.request('GET', `/v1/reports/summary?day=${today()}`)).json();
    for (let i = 0; i < 3; i++) {
      await stack.request('POST', '/v1/messages', {
        body: { messageId: `day-${i}`, customerId: 'day-summary', channel: 'email', payload: {} },
      });
    }

    // Act
    expect(today()).toBe('2026-06-15');
    const day = (await stack.request('GET', `/v1/reports/summary?day=${today()}`)).json();
    const month = (await stack.request('GET', `/v1/reports/summary?month=${today().slice(0, 7)}`)).json();

    // Assess
    expect(day.day).toBe(today());
    expect(day.accepted - before.accepted).toBe(1);
    expect(day.suppressed - before.suppressed).toBe(2);
    expect((day.suppressedByReason.frequency_cap ?? 0) - (before.suppressedByReason.frequency_cap ?? 0)).toBe(
      2,
    );
    expect(day.avoidedCost - before.avoidedCost).toBeCloseTo(0.002, 9);
    // Every decision of the test is today's (the clock's noon), so today holds the whole month's.
    expect({ ...day, day: undefined }).toEqual({
      ...month,
      month: undefined,
      previousMonth: undefined,
      change: undefined,
    });
  });

  it('refuses a query with both a month and a day, or neither, naming what it takes', async () => {
    for (const query of [`month=2026-11&day=${today()}`, '']) {
      const response = await stack.request('GET', `/v1/reports/summary?${query}`);

      expect(response.status).toBe(400);
      expect(response.json().errors).toEqual([
        { path: 'month', message: 'give either month (YYYY-MM) or day (YYYY-MM-DD)' },
      ]);
    }
  });
});

describe('GET /v1/operations/queues', () => {
  it('answers the depths of the delivery queue and the DLQ to a reports key, and 403 to a send key', async () => {
    const reports = await keyWith(['reports:read']);
    const send = await keyWith(['send']);

    const allowed = await stack.request('GET', '/v1/operations/queues', as(reports.key));
    const refused = await stack.request('GET', '/v1/operations/queues', as(send.key));

    expect(allowed.status).toBe(200);
    expect(allowed.json()).toEqual({
      delivery: { visible: expect.any(Number), inFlight: 0, delayed: 0 },
      deadLetter: { visible: 0 },
    });
    expect(refused.status).toBe(403);
  });
});

describe('GET /v1/policy/versions/{version}', () => {
  it('answers any version whole, the default included, and 404 for one that does not exist', async () => {
    const current = (await stack.request('GET', '/v1/policy')).json();

    const mine = await stack.request('GET', `/v1/policy/versions/${current.version}`);
    const first = await stack.request('GET', '/v1/policy/versions/0');
    const missing = await stack.request('GET', '/v1/policy/versions/999999');

    expect(mine.json()).toEqual(current);
    expect(mine.headers.get('etag')).toBe(`"${current.version}"`);
    expect(first.json()).toMatchObject({ version: 0, author: 'default' });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
  });
});
