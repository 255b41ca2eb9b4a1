/**
 * The audit trail and erasure over HTTP: who changed the policy, a customer's preferences (with the
 * consent source) or the keys, and who erased a customer — readable by admins per period, never holding
 * a payload or an erased customer's id. Erasure removes preferences, history and deferred messages
 * (leaving only the schedule of its second sweep), and is idempotent.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#shared/adapters/dynamodb/client.ts';
import { customerRef as refOf } from '#shared/app/audit.ts';
import { loadConfig } from '#shared/config.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

let stack: TestStack;
const DAY = 86_400_000;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);
/** Yesterday to tomorrow: safe around midnight UTC. */
const around = () => `from=${day(Date.now() - DAY)}&to=${day(Date.now() + DAY)}`;
let n = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${n++}`;
const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

const policy = {
  caps: [{ id: 'weekly', limit: 1, window: 'P7D' }],
  relevance: { default: 0 },
  channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
};

interface Entry {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  details?: Record<string, unknown>;
}

async function trail(): Promise<Entry[]> {
  const entries: Entry[] = [];
  let cursor: string | undefined;
  do {
    const query = `${around()}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`;
    const response = await stack.request('GET', `/v1/audit?${query}`);
    expect(response.status, response.text).toBe(200);
    entries.push(...response.json().entries);
    cursor = response.json().nextCursor;
  } while (cursor);
  return entries;
}

async function createKey(scopes: string[]) {
  const response = await stack.request('POST', '/v1/keys', { body: { name: scopes.join('+'), scopes } });
  expect(response.status).toBe(201);
  return response.json() as { id: string; key: string };
}

/** The trail's reference of a customer, under the stack's hash secret. */
let customerRef: (customerId: string) => string;

beforeAll(async () => {
  stack = await startTestStack({ env: { GOVERNOR_POLICY_TTL_MS: '0' } });
  const { getRoot } = await import('#shared/composition.ts');
  const { hashes } = getRoot();
  customerRef = (customerId) => refOf(hashes, customerId);
});

afterAll(async () => {
  await stack?.stop();
});

describe('the audit trail', () => {
  it('records a policy change under the key that made it', async () => {
    const marketer = await createKey(['policy:write', 'policy:read']);
    const response = await stack.request('PUT', '/v1/policy', {
      ...as(marketer.key),
      body: policy,
      headers: { ...as(marketer.key).headers, 'if-match': '*' },
    });
    expect(response.status).toBe(200);
    const version = response.json().version;
    const entry = (await trail()).find(
      (e) => e.action === 'policy.replaced' && e.target === `policy:${version}`,
    );
    expect(entry).toMatchObject({ actor: marketer.id, details: { version, ifMatch: '*' } });
  });

  it('records what a preference change changed, with the consent source, never the customer id', async () => {
    const centre = await createKey(['preferences:write']);
    const customerId = unique('pref-customer');
    const response = await stack.request('PUT', `/v1/customers/${customerId}/preferences`, {
      ...as(centre.key),
      body: {
        channels: { sms: { optIn: false, source: 'preference-centre' }, email: { optIn: true } },
        topics: { promotions: false },
        maxPerWeek: 2,
      },
    });
    expect(response.status, response.text).toBe(200);
    const entries = await trail();
    const entry = entries.find(
      (e) => e.action === 'preferences.changed' && e.target === customerRef(customerId),
    );
    expect(entry).toEqual({
      id: expect.any(String),
      at: expect.any(String),
      actor: centre.id,
      action: 'preferences.changed',
      target: customerRef(customerId),
      details: {
        source: `api:${centre.id}`,
        channels: {
          sms: { optIn: false, source: 'preference-centre', at: expect.any(String) },
          email: { optIn: true, source: `api:${centre.id}`, at: expect.any(String) },
        },
        topics: { promotions: false },
        fields: ['maxPerWeek'],
      },
    });
    expect(JSON.stringify(entries)).not.toContain(customerId);
  });

  it('records key creation and revocation', async () => {
    const key = await createKey(['send']);
    await stack.request('DELETE', `/v1/keys/${key.id}`);
    const entries = (await trail()).filter((e) => e.target === `key:${key.id}`);
    expect(entries.map((e) => [e.action, e.actor])).toEqual([
      ['key.created', 'admin'],
      ['key.revoked', 'admin'],
    ]);
    expect(entries[0]?.details).toEqual({ name: 'send', scopes: ['send'] });
    expect(JSON.stringify(entries)).not.toContain(key.key);
  });

  it('pages through a period with a cursor, in time order, without repeating an entry', async () => {
    for (let i = 0; i < 5; i++) await createKey(['reports:read']);
    const all = await trail();
    const paged: Entry[] = [];
    let cursor: string | undefined;
    do {
      const response = await stack.request(
        'GET',
        `/v1/audit?${around()}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(response.json().entries.length).toBeLessThanOrEqual(2);
      paged.push(...response.json().entries);
      cursor = response.json().nextCursor;
    } while (cursor);
    expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect([...paged.map((e) => e.at)].sort()).toEqual(paged.map((e) => e.at));
  });

  it('is readable with the admin scope only', async () => {
    const reader = await createKey(['reports:read', 'policy:read', 'preferences:read']);
    expect((await stack.request('GET', `/v1/audit?${around()}`, as(reader.key))).status).toBe(403);
  });

  it.each([
    ['no period', ''],
    ['no end', 'from=2026-01-01'],
    ['from after to', 'from=2026-01-02&to=2026-01-01'],
    ['32 days', 'from=2026-01-01&to=2026-02-01'],
    ['a day that does not exist', 'from=2026-02-30&to=2026-03-01'],
    ['a time instead of a day', 'from=2026-01-01T00:00:00Z&to=2026-01-02'],
    ['a limit of 0', 'from=2026-01-01&to=2026-01-02&limit=0'],
    ['a limit over 1000', 'from=2026-01-01&to=2026-01-02&limit=1001'],
    ['a forged cursor', 'from=2026-01-01&to=2026-01-02&cursor=e30'],
    ['an unknown parameter', 'from=2026-01-01&to=2026-01-02&actor=admin'],
  ])('refuses %s with 400 problem+json', async (_, query) => {
    const response = await stack.request('GET', `/v1/audit?${query}`);
    expect(response.status, response.text).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.json().errors.length).toBeGreaterThan(0);
  });

  it('accepts 31 days', async () => {
    expect((await stack.request('GET', '/v1/audit?from=2026-01-01&to=2026-01-31')).status).toBe(200);
  });
});

describe('DELETE /v1/customers/{customerId}', () => {
  const partition = async (customerId: string) => {
    const db = createDocumentClient(
      loadConfig({ ...process.env, GOVERNOR_DYNAMODB_ENDPOINT: stack.engines.dynamoEndpoint }),
    );
    const out = await db.send(
      new QueryCommand({
        TableName: 'governor',
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `C#${customerId}` },
      }),
    );
    return out.Items ?? [];
  };

  it('removes preferences, history and deferred messages, idempotently, and records the erasure', async () => {
    const current = await stack.request('GET', '/v1/policy');
    await stack.request('PUT', '/v1/policy', {
      body: policy,
      headers: { 'if-match': current.headers.get('etag')! },
    });
    const customerId = unique('erased');
    await stack.request('PUT', `/v1/customers/${customerId}/preferences`, {
      body: { channels: { sms: { optIn: false } } },
    });
    const message = (i: number) => ({
      messageId: unique('m'),
      customerId,
      channel: 'email',
      expiresAt: new Date(Date.now() + 10 * DAY).toISOString(),
      payload: { subject: `secret offer ${i}` },
    });
    expect((await stack.request('POST', '/v1/messages', { body: message(1) })).json().decision).toBe(
      'accepted',
    );
    expect((await stack.request('POST', '/v1/messages', { body: message(2) })).json().decision).toBe(
      'deferred',
    );
    expect((await partition(customerId)).length).toBe(2);

    const erased = await stack.request('DELETE', `/v1/customers/${customerId}`);
    expect(erased.status).toBe(200);
    expect(erased.json()).toEqual({ customerId, erased: true, deferredDropped: 1 });
    // Only the erasure's sweep is left, due in two minutes (see test/integration/erasure.test.ts).
    const left = await partition(customerId);
    expect(left.map((i) => i.sk)).toEqual([expect.stringMatching(/^E#/)]);
    expect(JSON.stringify(left)).not.toContain('secret offer');
    const preferences = await stack.request('GET', `/v1/customers/${customerId}/preferences`);
    expect(preferences.json()).toEqual({ channels: {}, topics: {} });

    const again = await stack.request('DELETE', `/v1/customers/${customerId}`);
    expect(again.json()).toEqual({ customerId, erased: true, deferredDropped: 0 });

    const entries = (await trail()).filter((e) => e.target === customerRef(customerId));
    expect(entries.map((e) => [e.action, e.details?.deferredDropped])).toEqual([
      ['preferences.changed', undefined],
      ['customer.erased', 1],
      ['customer.erased', 0],
    ]);
    const text = JSON.stringify(await trail());
    expect(text).not.toContain(customerId);
    expect(text).not.toContain('secret offer');
  });
});
