/**
 * Editing the policy as a marketer does: read it, change it, send it back; read an old version and
 * restore it; and no query parameter that the API would silently ignore.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ env: { GOVERNOR_POLICY_TTL_MS: '0' } });
});

afterAll(async () => {
  await stack?.stop();
});

async function current() {
  const response = await stack.request('GET', '/v1/policy');
  expect(response.status).toBe(200);
  return { policy: response.json(), etag: response.headers.get('etag') ?? '' };
}

describe('PUT /v1/policy', () => {
  it('takes back what GET returned, with a change, ignoring its version, createdAt and author', async () => {
    // Prepare: what a marketer's tool reads
    const { policy, etag } = await current();

    // Act: one change, everything else sent back as read
    const edited = { ...policy, relevance: { ...policy.relevance, default: 0.35 } };
    const put = await stack.request('PUT', '/v1/policy', { body: edited, headers: { 'if-match': etag } });

    // Assess
    expect(put.status, put.text).toBe(200);
    const stored = put.json();
    expect(stored.version).toBe(policy.version + 1);
    expect(stored.author).toBe('admin');
    expect(stored.createdAt).not.toBe(policy.createdAt);
    expect(stored.relevance.default).toBe(0.35);
    expect(put.headers.get('etag')).toBe(`"${stored.version}"`);
  });

  it('still refuses a malformed version, createdAt or author', async () => {
    const { policy, etag } = await current();

    const put = await stack.request('PUT', '/v1/policy', {
      body: { ...policy, version: 'three', createdAt: 'yesterday' },
      headers: { 'if-match': etag },
    });

    expect(put.status).toBe(400);
    expect(
      put
        .json()
        .errors.map((e: { path: string }) => e.path)
        .sort(),
    ).toEqual(['createdAt', 'version']);
  });
});

describe('GET /v1/policy/versions/{version}', () => {
  it("returns a version's whole document, and restores it when PUT with the current ETag", async () => {
    // Prepare: version A, then a different version B in force
    const a = await stack.request('PUT', '/v1/policy', {
      body: { ...(await current()).policy, caps: [{ id: 'weekly', limit: 2, window: 'P7D' }] },
      headers: { 'if-match': '*' },
    });
    const b = await stack.request('PUT', '/v1/policy', {
      body: { ...a.json<Record<string, unknown>>(), caps: [{ id: 'weekly', limit: 5, window: 'P7D' }] },
      headers: { 'if-match': a.headers.get('etag') ?? '' },
    });
    expect(b.status).toBe(200);

    // Act: read A, send it back with B's ETag
    const old = await stack.request('GET', `/v1/policy/versions/${a.json().version}`);
    const restored = await stack.request('PUT', '/v1/policy', {
      body: old.json(),
      headers: { 'if-match': b.headers.get('etag') ?? '' },
    });

    // Assess
    expect(old.status).toBe(200);
    expect(old.json()).toEqual(a.json());
    expect(old.headers.get('etag')).toBe(`"${a.json().version}"`);
    expect(restored.status, restored.text).toBe(200);
    expect(restored.json()).toMatchObject({ version: b.json().version + 1, caps: a.json().caps });
    expect((await current()).policy.caps).toEqual(a.json().caps);
  });

  it('returns the default policy as version 0, and 404 for a version that does not exist', async () => {
    const zero = await stack.request('GET', '/v1/policy/versions/0');
    const missing = await stack.request('GET', '/v1/policy/versions/4242');
    const malformed = await stack.request('GET', '/v1/policy/versions/latest');

    expect(zero.status).toBe(200);
    expect(zero.json()).toMatchObject({ version: 0, author: 'default' });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect(malformed.status).toBe(400);
  });
});

describe('query parameters', () => {
  it('refuses one a route does not take, naming it, instead of ignoring it', async () => {
    const response = await stack.request('GET', '/v1/policy?version=0');

    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({
      type: '/problems/validation',
      errors: [{ path: 'query.version', message: 'unknown query parameter' }],
    });
    expect(response.json().detail).toContain('version');
  });

  it('takes the ones a route declares', async () => {
    const today = new Date().toISOString().slice(0, 10);

    const report = await stack.request('GET', `/v1/reports/suppressed?from=${today}&to=${today}&format=json`);
    const typo = await stack.request(
      'GET',
      `/v1/reports/suppressed?from=${today}&to=${today}&groupby=reason`,
    );

    expect(report.status).toBe(200);
    expect(typo.status).toBe(400);
    expect(typo.json().errors).toEqual([{ path: 'query.groupby', message: 'unknown query parameter' }]);
  });
});

describe('POST /v1/decisions/preview', () => {
  it('says why: the threshold applied, the pressure and how full each cap is', async () => {
    // Prepare: one cap of 2 a week, half used
    await stack.request('PUT', '/v1/policy', {
      body: {
        caps: [{ id: 'weekly', limit: 2, window: 'P7D' }],
        relevance: { default: 0.2, pressureSlope: 0.4 },
        channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
      },
      headers: { 'if-match': '*' },
    });
    const sent = await stack.request('POST', '/v1/messages', {
      body: { messageId: 'p-1', customerId: 'c-why', channel: 'email', payload: {} },
    });
    expect(sent.json().decision).toBe('accepted');

    // Act
    const preview = await stack.request('POST', '/v1/decisions/preview', {
      body: { messageId: 'p-2', customerId: 'c-why', channel: 'email', relevance: 0.3, payload: {} },
    });

    // Assess: 0.2 + 0.4 × 1/2 = 0.4 > 0.3
    expect(preview.status).toBe(200);
    const { explanation, ...decision } = preview.json();
    expect(decision).toMatchObject({ decision: 'suppressed', reason: 'relevance_below_threshold' });
    expect(explanation).toMatchObject({
      channel: 'email',
      pressure: 0.5,
      threshold: { base: 0.2, fromPressure: 0.2, required: 0.4, relevance: 0.3 },
      caps: [{ id: 'weekly', used: 1, limit: 2, window: 'P7D', freesAt: expect.any(String) }],
    });
  });
});
