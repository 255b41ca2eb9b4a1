/**
 * The contract: the OpenAPI document the server serves is what the server does. Every operation's
 * documented examples are sent through Prism, a third-party validating proxy, to a fresh local stack, and
 * Prism's verdict on each request and response must be clean. Then each documented error status is
 * provoked once, and the answers must conform too (the requests are wrong on purpose, so only the
 * responses are held to the document there).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '#test/support/local-stack.ts';
import { type PrismProxy, startPrismProxy, type Violation } from '#test/support/prism.ts';
import { buildConsole } from '../../console/build.ts';

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  example?: string;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  security?: unknown[];
  requestBody?: { content: Record<string, { examples?: Record<string, { value: unknown }> }> };
  responses: Record<
    string,
    { headers?: Record<string, { required?: boolean }>; content?: Record<string, unknown> }
  >;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
}

interface Exchange {
  operation: string;
  status: number;
  headers: Headers;
  body: string;
  violations: Violation[];
}

let stack: TestStack;
let prism: PrismProxy;
let folder: string;
let document: Document;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'governor-contract-'));
  // The console's files too, so that its documented routes answer as they do once built.
  await buildConsole({ outdir: join(folder, 'console') });
  stack = await startTestStack({ env: { GOVERNOR_CONSOLE_DIR: join(folder, 'console') } });
  prism = await startPrismProxy(stack.url, folder);
  document = (await (await fetch(new URL('/openapi.json', stack.url))).json()) as Document;
});

afterAll(async () => {
  await prism?.stop();
  await stack?.stop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

const METHODS = ['get', 'put', 'post', 'delete'] as const;

function operations(): { path: string; method: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ path, method, operation: item[method] as Operation })),
  );
}

interface Call {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string | undefined>;
  body?: string;
  contentType?: string;
}

async function call(operation: string, { method, path, query = {}, headers = {}, body, contentType }: Call) {
  const url = new URL(path, prism.url);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  const sent: Record<string, string> = { authorization: `Bearer ${stack.adminKey}` };
  if (body !== undefined) sent['content-type'] = contentType ?? 'application/json';
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) delete sent[name];
    else sent[name] = value;
  }
  const response = await fetch(url, { method: method.toUpperCase(), headers: sent, body: body ?? null });
  const exchange: Exchange = {
    operation,
    status: response.status,
    headers: response.headers,
    body: await response.text(),
    violations: prism.violations(response.headers),
  };
  return exchange;
}

const describeExchange = (e: Exchange) =>
  `${e.operation} → ${e.status} ${e.body.slice(0, 300)}\n${JSON.stringify(e.violations, null, 1)}`;

/** Values a later example needs from an earlier answer (the id of the key the example created). */
const learned: Record<string, string> = {};

describe('the served OpenAPI document', () => {
  it('documents every route the server serves, each with an operationId and examples', async () => {
    const { routes } = await import('#local/routes.ts');
    const documented = operations().map(({ path, method }) => `${method.toUpperCase()} ${path}`);

    // The console's own files (GET /console/{proxy+}) are a web app's assets, not API operations.
    const served = routes.map((r) => `${r.method} ${r.path}`).filter((r) => r !== 'GET /console/{proxy+}');
    expect(documented.sort()).toEqual(served.sort());
    for (const { operation } of operations()) {
      expect(operation.operationId).toMatch(/^[a-z][A-Za-z]+$/);
      const content = operation.requestBody?.content['application/json'];
      if (operation.requestBody) expect(Object.keys(content?.examples ?? {}).length).toBeGreaterThan(0);
    }
  });

  it("answers every operation's documented examples as the document says, through a validating proxy", async () => {
    const exchanges: Exchange[] = [];
    for (const { path, method, operation } of operations()) {
      const parameters = operation.parameters ?? [];
      const value = (p: Parameter) => learned[p.name] ?? p.example;
      let resolved = path;
      for (const p of parameters.filter((p) => p.in === 'path'))
        resolved = resolved.replace(`{${p.name}}`, encodeURIComponent(String(value(p))));
      const query = Object.fromEntries(
        parameters
          .filter((p) => p.in === 'query' && p.example !== undefined)
          .map((p) => [p.name, String(p.example)]),
      );
      const headers = Object.fromEntries(
        parameters
          .filter((p) => p.in === 'header' && p.example !== undefined)
          .map((p) => [p.name, p.example]),
      );
      const examples = Object.values(operation.requestBody?.content['application/json']?.examples ?? {});
      const bodies = examples.length > 0 ? examples.map((e) => JSON.stringify(e.value)) : [undefined];
      for (const body of bodies) {
        const exchange = await call(operation.operationId, { method, path: resolved, query, headers, body });
        exchanges.push(exchange);
        if (operation.operationId === 'createKey') learned.id = JSON.parse(exchange.body).id;
        if (operation.operationId === 'startDryRun') learned.id = JSON.parse(exchange.body).id;
        if (operation.operationId === 'cancelCampaign') learned.id = JSON.parse(exchange.body).id;
      }
    }

    for (const exchange of exchanges) {
      expect(exchange.violations, describeExchange(exchange)).toEqual([]);
      expect(exchange.status, describeExchange(exchange)).toBeLessThan(300);
    }
  });

  it('answers each documented error status as the document says (401, 400, 403, 404, 412, 413, 415, 428, 429)', async () => {
    const probes: { expected: number; exchange: Exchange }[] = [];
    const probe = async (expected: number, operationId: string, request: Call) =>
      probes.push({ expected, exchange: await call(operationId, request) });
    const scoped = await stack.request('POST', '/v1/keys', {
      body: { name: 'events-only', scopes: ['events:write'] },
    });
    const limited = await stack.request('POST', '/v1/keys', {
      body: { name: 'limited', scopes: ['policy:read'], rateLimit: 1 },
    });

    for (const { path, method, operation } of operations()) {
      const concrete = path
        .replace('{customerId}', 'c-1')
        .replace('{version}', '0')
        .replace('{id}', '0123456789abcdef');
      await probe(400, operation.operationId, { method, path: concrete, query: { unexpected: '1' } });
      if (operation.security?.length === 0) continue;
      await probe(401, operation.operationId, {
        method,
        path: concrete,
        headers: { authorization: undefined },
      });
      // A route any valid key may call documents no 403; every other refuses a key without its scope.
      if (operation.operationId !== 'postEvents' && operation.responses['403'] !== undefined)
        await probe(403, operation.operationId, {
          method,
          path: concrete,
          headers: { authorization: `Bearer ${scoped.json().key}` },
        });
    }
    await probe(400, 'sendMessage', {
      method: 'post',
      path: '/v1/messages',
      body: JSON.stringify({ messageId: 'm', customerId: 'c', channel: 'fax', payload: {} }),
    });
    await probe(415, 'sendMessage', {
      method: 'post',
      path: '/v1/messages',
      body: 'hello',
      contentType: 'text/plain',
    });
    await probe(413, 'sendBatch', {
      method: 'post',
      path: '/v1/messages/batch',
      body: JSON.stringify({ messages: ['x'.repeat(1024 * 1024)] }),
    });
    const policy = JSON.stringify((await stack.request('GET', '/v1/policy')).json());
    await probe(428, 'putPolicy', { method: 'put', path: '/v1/policy', body: policy });
    await probe(412, 'putPolicy', {
      method: 'put',
      path: '/v1/policy',
      body: policy,
      headers: { 'if-match': '"999"' },
    });
    await probe(404, 'getPolicyVersion', { method: 'get', path: '/v1/policy/versions/999' });
    await probe(404, 'revokeKey', { method: 'delete', path: '/v1/keys/0123456789abcdef' });
    await probe(404, 'getDryRun', { method: 'get', path: '/v1/policy/dry-runs/0123456789abcdef' });
    // Ten at once on a key allowed one a second (a burst of two): some of them are over its rate.
    const burst = await Promise.all(
      Array.from({ length: 10 }, () =>
        call('listPolicyVersions', {
          method: 'get',
          path: '/v1/policy/versions',
          headers: { authorization: `Bearer ${limited.json().key}` },
        }),
      ),
    );
    const limitedOne = burst.find((e) => e.status === 429);
    expect(limitedOne, 'a request over the rate limit').toBeDefined();
    if (limitedOne) probes.push({ expected: 429, exchange: limitedOne });

    for (const { expected, exchange } of probes) {
      const where = describeExchange(exchange);
      expect(exchange.status, where).toBe(expected);
      expect(
        exchange.violations.filter((v) => v.location[0] === 'response'),
        where,
      ).toEqual([]);
      expect(exchange.headers.get('content-type'), where).toBe('application/problem+json');
      if (expected === 401) expect(exchange.headers.get('www-authenticate'), where).toBe('Bearer');
      if (expected === 429) expect(exchange.headers.get('retry-after'), where).toMatch(/^[0-9]+$/);
    }
  });
});
