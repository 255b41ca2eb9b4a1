/**
 * API keys over HTTP, as an operator manages them: created with scopes and shown once, stored only as a
 * hash, listed without secrets, revoked (and then refused), rate limited per key; and the deployed path:
 * the Lambda authorizer's verdict handed to a function.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayRequestAuthorizerEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDocumentClient } from '#shared/adapters/dynamodb/client.ts';
import { rateCounterKey } from '#shared/adapters/dynamodb/keys.ts';
import { DynamoRateCounter } from '#shared/adapters/dynamodb/rate-counter.ts';
import { loadConfig } from '#shared/config.ts';
import { SECURITY_HEADERS } from '#shared/security-headers.ts';
import { startTestStack, type TestResponse, type TestStack } from '../support/local-stack.ts';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

async function createKey(body: Record<string, unknown>) {
  const response = await stack.request('POST', '/v1/keys', { body });
  expect(response.status, response.text).toBe(201);
  return response.json() as { id: string; key: string; name: string; scopes: string[] };
}

const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

describe('POST /v1/keys', () => {
  it('returns the key once, in the gov_<id>_<secret> format, with its id and scopes', async () => {
    const created = await createKey({ name: 'CRM sender', scopes: ['send', 'policy:read'] });
    expect(created).toMatchObject({
      name: 'CRM sender',
      scopes: ['send', 'policy:read'],
      createdBy: 'admin',
    });
    expect(created.key).toMatch(new RegExp(`^gov_${created.id}_[A-Za-z0-9_-]{43}$`));
    expect((await stack.request('GET', '/v1/policy', as(created.key))).status).toBe(200);
  });

  it('stores only the SHA-256 of the key', async () => {
    const created = await createKey({ name: 'hash check', scopes: ['send'] });
    const db = createDocumentClient(
      loadConfig({ ...process.env, GOVERNOR_DYNAMODB_ENDPOINT: stack.engines.dynamoEndpoint }),
    );
    const { Item } = await db.send(
      new GetCommand({ TableName: 'governor', Key: { pk: 'APIKEY', sk: `K#${created.id}` } }),
    );
    const secret = created.key.slice(`gov_${created.id}_`.length);
    expect(JSON.stringify(Item)).not.toContain(secret);
    expect(Item?.h).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['no scopes', { name: 'x', scopes: [] }],
    ['an unknown scope', { name: 'x', scopes: ['root'] }],
    ['a repeated scope', { name: 'x', scopes: ['send', 'send'] }],
    ['no name', { scopes: ['send'] }],
    ['a name of 65 characters', { name: 'n'.repeat(65), scopes: ['send'] }],
    ['a name with a control character', { name: 'a\u0007', scopes: ['send'] }],
    ['a rate limit of 0', { name: 'x', scopes: ['send'], rateLimit: 0 }],
    ['a fractional rate limit', { name: 'x', scopes: ['send'], rateLimit: 1.5 }],
    ['an unknown field', { name: 'x', scopes: ['send'], owner: 'me' }],
    ['a chosen key', { name: 'x', scopes: ['send'], key: 'gov_mine' }],
  ])('refuses %s with 400 problem+json', async (_, body) => {
    const response = await stack.request('POST', '/v1/keys', { body });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.json().errors.length).toBeGreaterThan(0);
  });
});

describe('GET /v1/keys', () => {
  it('lists the keys without their secret or hash', async () => {
    const created = await createKey({ name: 'listed', scopes: ['reports:read'], rateLimit: 5 });
    const response = await stack.request('GET', '/v1/keys');
    expect(response.status).toBe(200);
    const listed = response.json().keys.find((k: { id: string }) => k.id === created.id);
    expect(listed).toEqual({
      id: created.id,
      name: 'listed',
      scopes: ['reports:read'],
      rateLimit: 5,
      createdAt: expect.any(String),
      createdBy: 'admin',
    });
    expect(response.text).not.toContain(created.key);
    expect(response.text).not.toMatch(/"h"|"hash"/);
  });
});

describe('DELETE /v1/keys/{id}', () => {
  it('revokes a key: it stops working, and stays listed as revoked', async () => {
    const created = await createKey({ name: 'to revoke', scopes: ['policy:read'] });
    expect((await stack.request('GET', '/v1/policy', as(created.key))).status).toBe(200);
    const revoked = await stack.request('DELETE', `/v1/keys/${created.id}`);
    expect(revoked.status).toBe(204);
    const after = await stack.request('GET', '/v1/policy', as(created.key));
    expect(after.status).toBe(401);
    expect(after.headers.get('content-type')).toBe('application/problem+json');
    const listed = (await stack.request('GET', '/v1/keys'))
      .json()
      .keys.find((k: { id: string }) => k.id === created.id);
    expect(listed).toMatchObject({ revokedAt: expect.any(String), revokedBy: 'admin' });
  });

  it('is idempotent', async () => {
    const created = await createKey({ name: 'twice', scopes: ['send'] });
    expect((await stack.request('DELETE', `/v1/keys/${created.id}`)).status).toBe(204);
    expect((await stack.request('DELETE', `/v1/keys/${created.id}`)).status).toBe(204);
  });

  it('answers 404 for an unknown key and 400 for something that is not a key id', async () => {
    expect((await stack.request('DELETE', '/v1/keys/0123456789abcdef')).status).toBe(404);
    expect((await stack.request('DELETE', '/v1/keys/not-an-id')).status).toBe(400);
  });

  it('lets a key with the admin scope manage keys, and no other', async () => {
    const admin = await createKey({ name: 'second admin', scopes: ['admin'] });
    const created = await stack.request('POST', '/v1/keys', {
      ...as(admin.key),
      body: { name: 'made by a key', scopes: ['send'] },
    });
    expect(created.status).toBe(201);
    expect(created.json().createdBy).toBe(admin.id);
    const sender = await createKey({ name: 'sender', scopes: ['send'] });
    const refused = await stack.request('POST', '/v1/keys', {
      ...as(sender.key),
      body: { name: 'x', scopes: ['admin'] },
    });
    expect(refused.status).toBe(403);
  });
});

describe('the per-key rate limit', () => {
  it('answers 429 problem+json with Retry-After past the burst, to that key only', async () => {
    const slow = await createKey({ name: 'runaway tool', scopes: ['policy:read'], rateLimit: 1 });
    const other = await createKey({ name: 'well-behaved tool', scopes: ['policy:read'], rateLimit: 1 });
    // Six at once against a rate of 1/s, on a clock that stands still while they are served (the
    // in-process stack's): the burst of 2 passes, the bucket refills nothing, the other 4 wait.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => stack.request('GET', '/v1/policy', as(slow.key))),
    ).finally(() => vi.useRealTimers());
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 429, 429, 429, 429]);
    const limited = responses.find((r) => r.status === 429)!;
    expect(limited).toBeDefined();
    expect(limited.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.json()).toMatchObject({ status: 429, type: '/problems/rate-limited' });
    for (const [name, value] of Object.entries(SECURITY_HEADERS))
      expect(limited.headers.get(name)).toBe(value);
    expect((await stack.request('GET', '/v1/policy', as(other.key))).status).toBe(200);
  });

  it("counts the key's requests with the other instances': their requests hold this one back", async () => {
    const tool = await createKey({ name: 'busy elsewhere', scopes: ['policy:read'], rateLimit: 1 });
    const db = createDocumentClient(
      loadConfig({ ...process.env, GOVERNOR_DYNAMODB_ENDPOINT: stack.engines.dynamoEndpoint }),
    );
    const shared = new DynamoRateCounter(db, 'governor');
    const count = async () =>
      (await db.send(new GetCommand({ TableName: 'governor', Key: rateCounterKey(tool.id) }))).Item?.c;
    expect((await stack.request('GET', '/v1/policy', as(tool.key))).status).toBe(200);
    await until(async () => (await count()) === 1);

    // Other instances admit 100 requests of the key: a hundred seconds of its rate.
    await shared.add(tool.id, 100, Date.now());

    // Once this instance syncs (a second after its last sync), the key waits for the others' requests.
    let refused: TestResponse | undefined;
    await until(async () => {
      const response = await stack.request('GET', '/v1/policy', as(tool.key));
      if (response.status === 429 && Number(response.headers.get('retry-after')) > 60) refused = response;
      return refused !== undefined;
    });
    expect(refused?.json()).toMatchObject({ status: 429, type: '/problems/rate-limited' });
  });
});

/** Asks `done` every 100 ms until it holds; fails after 20 s. */
async function until(done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('gave up waiting');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('behind the Lambda authorizer (the deployed path)', () => {
  const context = {} as Context;
  const authorizerEvent = (authorization: string | undefined) =>
    ({
      version: '2.0',
      type: 'REQUEST',
      routeArn: 'arn:aws:execute-api:us-east-1:000000000000:api/$default/GET/v1/policy',
      identitySource: authorization ? [authorization] : [],
      routeKey: 'GET /v1/policy',
      rawPath: '/v1/policy',
      rawQueryString: '',
      headers: authorization ? { authorization } : {},
      requestContext: {},
    }) as unknown as APIGatewayRequestAuthorizerEventV2;
  const functionEvent = (lambda: Record<string, string>, routeKey = 'GET /v1/policy') =>
    ({
      version: '2.0',
      routeKey,
      rawPath: '/v1/policy',
      rawQueryString: '',
      // No Authorization header: the function must trust the authorizer's verdict, not re-read the key.
      headers: {},
      requestContext: { authorizer: { lambda }, http: { method: 'GET' } },
      isBase64Encoded: false,
    }) as unknown as APIGatewayProxyEventV2;

  it('vouches for a valid key; the function then honours its scopes', async () => {
    const { handler: authorize } = await import('#functions/authorizer/handler.ts');
    const { handler: policy } = await import('#functions/policy/handler.ts');
    const reader = await createKey({ name: 'reader', scopes: ['policy:read'] });
    const verdict = await authorize(authorizerEvent(`Bearer ${reader.key}`));
    expect(verdict).toEqual({
      isAuthorized: true,
      context: { keyId: reader.id, scopes: 'policy:read', rateLimit: '100', denied: '' },
    });
    expect((await policy(functionEvent(verdict.context!), context)).statusCode).toBe(200);
    const write = await policy(functionEvent(verdict.context!, 'PUT /v1/policy'), context);
    expect(write.statusCode).toBe(403);
  });

  it('hands a refused key to the function, which answers the 401 problem+json', async () => {
    const { handler: authorize } = await import('#functions/authorizer/handler.ts');
    const { handler: policy } = await import('#functions/policy/handler.ts');
    const revoked = await createKey({ name: 'revoked', scopes: ['policy:read'] });
    await stack.request('DELETE', `/v1/keys/${revoked.id}`);
    for (const authorization of [`Bearer ${revoked.key}`, 'Bearer nonsense', undefined]) {
      const verdict = await authorize(authorizerEvent(authorization));
      expect(verdict.context?.denied).not.toBe('');
      const response = await policy(functionEvent(verdict.context!), context);
      expect(response.statusCode).toBe(401);
      expect(response.headers?.['content-type']).toBe('application/problem+json');
    }
  });
});
