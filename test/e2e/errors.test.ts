/**
 * Every malformed request gets a 4xx RFC 9457 problem, never a 5xx, and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClients } from '#shared/adapters/dynamodb/client.ts';
import { DynamoCustomerStore } from '#shared/adapters/dynamodb/customer-store.ts';
import { loadConfig } from '#shared/config.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

const good = {
  messageId: 'm-1',
  customerId: 'c-1',
  channel: 'email',
  payload: { subject: 'hi' },
};
const policy = {
  caps: [{ id: 'weekly', limit: 3, window: 'P7D' }],
  relevance: { default: 0.2 },
  channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
};
const json = (value: unknown) => JSON.stringify(value);

type Case = {
  name: string;
  method: string;
  path: string;
  rawBody?: string;
  headers?: Record<string, string>;
  status: number;
};

const cases: Case[] = [
  { name: 'no body', method: 'POST', path: '/v1/messages', status: 400 },
  { name: 'invalid JSON', method: 'POST', path: '/v1/messages', rawBody: '{"messageId":', status: 400 },
  { name: 'JSON array instead of object', method: 'POST', path: '/v1/messages', rawBody: '[]', status: 400 },
  { name: 'JSON null', method: 'POST', path: '/v1/messages', rawBody: 'null', status: 400 },
  {
    name: 'wrong content type',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json(good),
    headers: { 'content-type': 'text/plain' },
    status: 415,
  },
  {
    name: 'missing messageId',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, messageId: undefined }),
    status: 400,
  },
  {
    name: 'empty messageId',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, messageId: '' }),
    status: 400,
  },
  {
    name: 'messageId of 129 characters',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, messageId: 'x'.repeat(129) }),
    status: 400,
  },
  {
    name: 'messageId with a space',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, messageId: 'a b' }),
    status: 400,
  },
  {
    name: 'customerId with a control character',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, customerId: 'a\u0001' }),
    status: 400,
  },
  {
    name: 'customerId a number',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, customerId: 42 }),
    status: 400,
  },
  {
    name: 'unknown channel',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, channel: 'fax' }),
    status: 400,
  },
  {
    name: 'unknown kind',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, kind: 'spam' }),
    status: 400,
  },
  {
    name: 'relevance above 1',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, relevance: 1.5 }),
    status: 400,
  },
  {
    name: 'relevance a string',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, relevance: 'high' }),
    status: 400,
  },
  {
    name: 'expiresAt not a timestamp',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, expiresAt: 'tomorrow' }),
    status: 400,
  },
  {
    name: 'notBefore after expiresAt',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, notBefore: '2030-01-02T00:00:00Z', expiresAt: '2030-01-01T00:00:00Z' }),
    status: 400,
  },
  {
    name: 'alternate channel unknown',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, alternateChannels: ['pigeon'] }),
    status: 400,
  },
  {
    name: 'payload missing',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, payload: undefined }),
    status: 400,
  },
  {
    name: 'payload an array',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, payload: [1] }),
    status: 400,
  },
  {
    name: 'payload over 64 KB',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, payload: { text: 'x'.repeat(70_000) } }),
    status: 400,
  },
  {
    name: 'unknown property',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, priority: 'high' }),
    status: 400,
  },
  {
    name: '__proto__ key',
    method: 'POST',
    path: '/v1/messages',
    rawBody: '{"__proto__":{"admin":true},"messageId":"m","customerId":"c","channel":"email","payload":{}}',
    status: 400,
  },
  {
    name: 'body over 1 MB',
    method: 'POST',
    path: '/v1/messages',
    rawBody: json({ ...good, payload: { text: 'x'.repeat(1_100_000) } }),
    status: 413,
  },
  {
    name: 'invalid UTF-8',
    method: 'POST',
    path: '/v1/messages',
    rawBody: '\uFFFD',
    headers: { 'x-raw-invalid-utf8': '1' },
    status: 400,
  },
  {
    name: 'batch without messages',
    method: 'POST',
    path: '/v1/messages/batch',
    rawBody: json({}),
    status: 400,
  },
  {
    name: 'empty batch',
    method: 'POST',
    path: '/v1/messages/batch',
    rawBody: json({ messages: [] }),
    status: 400,
  },
  {
    name: 'batch of 501',
    method: 'POST',
    path: '/v1/messages/batch',
    rawBody: json({ messages: Array.from({ length: 501 }, () => good) }),
    status: 400,
  },
  {
    name: 'preview with unknown channel',
    method: 'POST',
    path: '/v1/decisions/preview',
    rawBody: json({ ...good, channel: 'fax' }),
    status: 400,
  },
  { name: 'policy without If-Match', method: 'PUT', path: '/v1/policy', rawBody: json(policy), status: 428 },
  {
    name: 'policy with a bad If-Match',
    method: 'PUT',
    path: '/v1/policy',
    rawBody: json(policy),
    headers: { 'if-match': 'yesterday' },
    status: 412,
  },
  {
    name: 'policy with a stale If-Match',
    method: 'PUT',
    path: '/v1/policy',
    rawBody: json(policy),
    headers: { 'if-match': '"999"' },
    status: 412,
  },
  {
    name: 'policy window over 90 days',
    method: 'PUT',
    path: '/v1/policy',
    rawBody: json({ ...policy, caps: [{ id: 'q', limit: 1, window: 'P91D' }] }),
    headers: { 'if-match': '*' },
    status: 400,
  },
  {
    name: 'policy window in months',
    method: 'PUT',
    path: '/v1/policy',
    rawBody: json({ ...policy, caps: [{ id: 'q', limit: 1, window: 'P1M' }] }),
    headers: { 'if-match': '*' },
    status: 400,
  },
  {
    name: 'policy cap limit without window',
    method: 'PUT',
    path: '/v1/policy',
    rawBody: json({ ...policy, caps: [{ id: 'q', limit: 1 }] }),
    headers: { 'if-match': '*' },
    status: 400,
  },
  {
    name: 'policy duplicate cap ids',
    method: 'PUT',
    path: '/v1/policy',
    rawBody: json({ ...policy, caps: [policy.caps[0], policy.caps[0]] }),
    headers: { 'if-match': '*' },
    status: 400,
  },
  {
    name: 'policy negative cost',
    method: 'PUT',
    path: '/v1/policy',
    rawBody: json({ ...policy, channelCosts: { ...policy.channelCosts, sms: -1 } }),
    headers: { 'if-match': '*' },
    status: 400,
  },
  {
    name: 'policy unknown time zone',
    method: 'PUT',
    path: '/v1/policy',
    rawBody: json({
      ...policy,
      quietHours: { start: '21:00', end: '08:00', defaultTimezone: 'Mars/Olympus' },
    }),
    headers: { 'if-match': '*' },
    status: 400,
  },
  {
    name: 'policy quiet hours 25:00',
    method: 'PUT',
    path: '/v1/policy',
    rawBody: json({ ...policy, quietHours: { start: '25:00', end: '08:00' } }),
    headers: { 'if-match': '*' },
    status: 400,
  },
  {
    name: 'preferences with optIn a string',
    method: 'PUT',
    path: '/v1/customers/c-1/preferences',
    rawBody: json({ channels: { sms: { optIn: 'no' } } }),
    status: 400,
  },
  {
    name: 'preferences with an unknown channel',
    method: 'PUT',
    path: '/v1/customers/c-1/preferences',
    rawBody: json({ channels: { fax: { optIn: false } } }),
    status: 400,
  },
  {
    name: 'preferences with negative maxPerWeek',
    method: 'PUT',
    path: '/v1/customers/c-1/preferences',
    rawBody: json({ maxPerWeek: -1 }),
    status: 400,
  },
  {
    name: 'preferences with a bad time zone',
    method: 'PUT',
    path: '/v1/customers/c-1/preferences',
    rawBody: json({ timezone: 'Nowhere' }),
    status: 400,
  },
  {
    name: 'preferences for a customerId over 128',
    method: 'GET',
    path: `/v1/customers/${'c'.repeat(129)}/preferences`,
    status: 400,
  },
  {
    name: 'events not an array',
    method: 'POST',
    path: '/v1/events',
    rawBody: json({ type: 'opened' }),
    status: 400,
  },
  {
    name: 'event of unknown type',
    method: 'POST',
    path: '/v1/events',
    rawBody: json([{ customerId: 'c', channel: 'email', type: 'liked', at: '2026-01-01T00:00:00Z' }]),
    status: 400,
  },
  {
    name: 'event without a time',
    method: 'POST',
    path: '/v1/events',
    rawBody: json([{ customerId: 'c', channel: 'email', type: 'opened' }]),
    status: 400,
  },
  { name: 'no API key', method: 'GET', path: '/v1/policy', headers: { authorization: '' }, status: 401 },
  {
    name: 'a wrong API key',
    method: 'GET',
    path: '/v1/policy',
    headers: { authorization: 'Bearer not-the-key' },
    status: 401,
  },
  {
    name: 'a Basic authorization',
    method: 'GET',
    path: '/v1/policy',
    headers: { authorization: 'Basic YTpi' },
    status: 401,
  },
  { name: 'an unknown route', method: 'GET', path: '/v1/nothing', status: 404 },
  { name: 'a wrong method', method: 'DELETE', path: '/v1/policy', status: 405 },
];

describe('malformed requests', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)(
    'answers $status problem+json to $name',
    async ({ method, path, rawBody, headers, status }) => {
      const options: { rawBody?: string | Buffer; headers?: Record<string, string> } = {
        headers: { ...headers },
      };
      if (headers?.['x-raw-invalid-utf8']) options.rawBody = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
      else if (rawBody !== undefined) options.rawBody = rawBody;
      const response = await stack.request(method, path, options);
      expect(response.status, response.text).toBe(status);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      const problem = JSON.parse(response.text);
      expect(problem).toMatchObject({
        status,
        title: expect.any(String),
        type: expect.any(String),
        detail: expect.any(String),
      });
      if (status === 400 && problem.type === '/problems/validation') {
        expect(problem.errors.length).toBeGreaterThan(0);
        for (const error of problem.errors)
          expect(error).toEqual({ path: expect.any(String), message: expect.any(String) });
      }
    },
  );

  it('changed nothing: the rejected messages left no trace', async () => {
    const store = new DynamoCustomerStore(
      createDynamoClients(
        loadConfig({ ...process.env, GOVERNOR_DYNAMODB_ENDPOINT: stack.engines.dynamoEndpoint }),
      ),
      'governor',
    );
    expect(await store.read('c-1')).toBeUndefined();
    expect(await store.read('c')).toBeUndefined();
    const versions = await (await stack.request('GET', '/v1/policy/versions')).json();
    expect(versions.versions.map((v: { version: number }) => v.version)).toEqual([0]);
  });
});
