/**
 * The local API Gateway stand-in, over real HTTP: the payload 2.0 event the handlers receive, how their
 * results are written back, and the answers API Gateway gives without calling a handler.
 */
import { request as httpRequest } from 'node:http';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHttpServer, type HttpServer } from '#local/http-server.ts';
import type { Handler, Route } from '#local/routes.ts';

interface Invocation {
  event: APIGatewayProxyEventV2;
  context: Context;
  remainingMs: number;
}

const invocations: Invocation[] = [];
const echo: Handler = async (event, context) => {
  invocations.push({ event, context, remainingMs: context.getRemainingTimeInMillis() });
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ok: true }),
  };
};
const loads = { echo: 0 };
const loadEcho = async () => {
  loads.echo++;
  return echo;
};

const routes: Route[] = [
  { method: 'POST', path: '/v1/messages', load: loadEcho },
  { method: 'POST', path: '/v1/messages/batch', load: loadEcho },
  { method: 'GET', path: '/v1/customers/{customerId}/preferences', load: loadEcho },
  { method: 'PUT', path: '/v1/customers/{customerId}/preferences', load: loadEcho },
  { method: 'DELETE', path: '/v1/customers/{customerId}', load: loadEcho },
  { method: 'GET', path: '/v1/files/{key+}', load: loadEcho },
  {
    method: 'GET',
    path: '/binary',
    load: async () => async () => ({
      statusCode: 201,
      headers: { 'content-type': 'application/octet-stream', 'x-answer': 42 },
      cookies: ['a=1; Path=/', 'b=2; Path=/'],
      body: Buffer.from([0, 1, 254, 255]).toString('base64'),
      isBase64Encoded: true,
    }),
  },
  {
    method: 'GET',
    path: '/boom',
    load: async () => async () => {
      throw new Error('secret internals: table governor is on fire');
    },
  },
];

const MAX_BODY = 1024;
let server: HttpServer;
let url: string;

beforeAll(async () => {
  server = createHttpServer({ routes, maxBodyBytes: MAX_BODY });
  ({ url } = await server.listen(0));
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  invocations.length = 0;
});

function lastEvent(): APIGatewayProxyEventV2 {
  const invocation = invocations.at(-1);
  if (!invocation) throw new Error('the handler was not called');
  return invocation.event;
}

/** A request over node:http, for what fetch cannot send: repeated headers, chunked bodies. */
function rawRequest(
  method: string,
  path: string,
  options: { headers?: string[]; chunks?: Buffer[] } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const target = new URL(path, url);
    // Raw header arrays are sent as given: Node adds no Host header to them.
    const headers = ['Host', target.host, ...(options.headers ?? [])];
    const request = httpRequest(target, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    for (const chunk of options.chunks ?? []) request.write(chunk);
    request.end();
  });
}

async function expectProblem(response: Response, status: number): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const problem = (await response.json()) as Record<string, unknown>;
  expect(problem).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
  });
  return problem;
}

describe('the event a handler receives', () => {
  it('is an API Gateway payload 2.0 event for the matched route', async () => {
    const response = await fetch(`${url}/v1/customers/c%2042/preferences?from=2026-01-01&tag=a&tag=b`, {
      headers: { 'X-Custom-Header': 'Value', 'User-Agent': 'governor-test' },
    });

    expect(response.status).toBe(200);
    const event = lastEvent();
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /v1/customers/{customerId}/preferences',
      rawPath: '/v1/customers/c%2042/preferences',
      rawQueryString: 'from=2026-01-01&tag=a&tag=b',
      queryStringParameters: { from: '2026-01-01', tag: 'a,b' },
      pathParameters: { customerId: 'c 42' },
      isBase64Encoded: false,
      requestContext: {
        routeKey: 'GET /v1/customers/{customerId}/preferences',
        stage: '$default',
        http: {
          method: 'GET',
          path: '/v1/customers/c%2042/preferences',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'governor-test',
        },
      },
    });
    expect(event.headers['x-custom-header']).toBe('Value');
    expect(event.headers['X-Custom-Header']).toBeUndefined();
    expect(event.body).toBeUndefined();
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(5000);
  });

  it('has no query or path parameters when the request has none', async () => {
    await fetch(`${url}/v1/messages`, { method: 'POST', body: '{}' });

    const event = lastEvent();
    expect(event.routeKey).toBe('POST /v1/messages');
    expect(event.rawQueryString).toBe('');
    expect(event).not.toHaveProperty('queryStringParameters');
    expect(event).not.toHaveProperty('pathParameters');
  });

  it('prefers the most specific route and passes a greedy parameter whole', async () => {
    await fetch(`${url}/v1/messages/batch`, { method: 'POST', body: '{}' });
    expect(lastEvent().routeKey).toBe('POST /v1/messages/batch');

    await fetch(`${url}/v1/files/a/b/c.json`);
    expect(lastEvent()).toMatchObject({
      routeKey: 'GET /v1/files/{key+}',
      pathParameters: { key: 'a/b/c.json' },
    });
  });

  it('carries a UTF-8 body as text', async () => {
    const body = JSON.stringify({ messageId: 'm-1', note: 'déjà vu ✓' });
    await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });

    const event = lastEvent();
    expect(event.isBase64Encoded).toBe(false);
    expect(event.body).toBe(body);
    expect(event.headers['content-type']).toBe('application/json');
  });

  it('carries a body that is not valid UTF-8 as base64', async () => {
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    await fetch(`${url}/v1/messages`, { method: 'POST', body: bytes });

    const event = lastEvent();
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body ?? '', 'base64')).toEqual(bytes);
  });

  it('joins repeated headers with commas and moves cookies to their own field', async () => {
    await rawRequest('GET', '/v1/customers/c-1/preferences', {
      headers: ['X-Multi', 'a', 'X-Multi', 'b', 'Cookie', 'session=1; theme=dark'],
    });

    const event = lastEvent();
    expect(event.headers['x-multi']).toBe('a,b');
    expect(event.cookies).toEqual(['session=1', 'theme=dark']);
    expect(event.headers.cookie).toBeUndefined();
  });

  it('comes with a Lambda-like context', async () => {
    await fetch(`${url}/v1/messages`, { method: 'POST', body: '{}' });

    const { context, remainingMs, event } = invocations.at(-1)!;
    expect(context.functionName).toEqual(expect.any(String));
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context.awsRequestId).not.toBe(event.requestContext.requestId);
    expect(remainingMs).toBeGreaterThan(25_000);
    expect(remainingMs).toBeLessThanOrEqual(30_000);
  });

  it('is handled by a handler module loaded once and reused across its routes', async () => {
    await fetch(`${url}/v1/messages`, { method: 'POST', body: '{}' });
    await fetch(`${url}/v1/messages/batch`, { method: 'POST', body: '{}' });
    await fetch(`${url}/v1/customers/c-1`, { method: 'DELETE' });

    expect(invocations).toHaveLength(3);
    expect(loads.echo).toBe(1);
  });
});

describe('the response written back', () => {
  it('has the status, headers, cookies and base64-decoded body of the result', async () => {
    const response = await rawRequest('GET', '/binary');

    expect(response.status).toBe(201);
    expect(response.headers['content-type']).toBe('application/octet-stream');
    expect(response.headers['x-answer']).toBe('42');
    expect(response.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(response.body).toEqual(Buffer.from([0, 1, 254, 255]));
  });
});

describe('answers without a handler', () => {
  it('404 for an unknown path', async () => {
    const problem = await expectProblem(await fetch(`${url}/v1/nothing-here`), 404);
    expect(problem.type).toBe('/problems/not-found');
    expect(invocations).toHaveLength(0);
  });

  it('404 when a path parameter is empty', async () => {
    await expectProblem(await fetch(`${url}/v1/customers//preferences`), 404);
  });

  it('405 with Allow for a known path and another method', async () => {
    const response = await fetch(`${url}/v1/customers/c-1/preferences`, { method: 'POST', body: '{}' });

    const problem = await expectProblem(response, 405);
    expect(problem.type).toBe('/problems/method-not-allowed');
    expect(response.headers.get('allow')).toBe('GET, PUT');
    expect(invocations).toHaveLength(0);
  });

  it('413 for a body over the limit, declared by Content-Length', async () => {
    const response = await fetch(`${url}/v1/messages`, { method: 'POST', body: 'x'.repeat(MAX_BODY + 1) });

    const problem = await expectProblem(response, 413);
    expect(problem.type).toBe('/problems/too-large');
    expect(invocations).toHaveLength(0);
  });

  it('413 for a much larger body, without the client seeing a reset', async () => {
    const response = await fetch(`${url}/v1/messages`, { method: 'POST', body: 'x'.repeat(8 * 1024 * 1024) });

    await expectProblem(response, 413);
    expect(invocations).toHaveLength(0);
  });

  it('413 for a chunked body that grows over the limit', async () => {
    const chunk = Buffer.alloc(MAX_BODY / 2, 'x');
    const response = await rawRequest('POST', '/v1/messages', { chunks: [chunk, chunk, chunk] });

    expect(response.status).toBe(413);
    expect(JSON.parse(response.body.toString())).toMatchObject({ status: 413 });
    expect(invocations).toHaveLength(0);
  });

  it('accepts a body exactly at the limit', async () => {
    const response = await fetch(`${url}/v1/messages`, { method: 'POST', body: 'x'.repeat(MAX_BODY) });

    expect(response.status).toBe(200);
    expect(lastEvent().body).toHaveLength(MAX_BODY);
  });

  it('500 with a generic detail when the handler throws, and logs the error', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const response = await fetch(`${url}/boom`);

      const problem = await expectProblem(response, 500);
      expect(JSON.stringify(problem)).not.toContain('secret internals');
      expect(stderr).toHaveBeenCalledWith(expect.stringContaining('secret internals'));
    } finally {
      stderr.mockRestore();
    }
  });
});

describe('close', () => {
  it('ends keep-alive connections and stops listening', async () => {
    const own = createHttpServer({ routes });
    const { url: ownUrl } = await own.listen(0);
    const response = await fetch(`${ownUrl}/v1/messages`, { method: 'POST', body: '{}' });
    expect(response.headers.get('connection')).toBe('keep-alive');

    const started = Date.now();
    await own.close();

    expect(Date.now() - started).toBeLessThan(2000);
    await expect(fetch(`${ownUrl}/v1/messages`, { method: 'POST', body: '{}' })).rejects.toThrow();
  });

  it('retries a handler whose module failed to load', async () => {
    let attempts = 0;
    const own = createHttpServer({
      routes: [
        {
          method: 'GET',
          path: '/flaky',
          load: async () => {
            attempts++;
            if (attempts === 1) throw new Error('cold start failed');
            return echo;
          },
        },
      ],
    });
    const { url: ownUrl } = await own.listen(0);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect((await fetch(`${ownUrl}/flaky`)).status).toBe(500);
      expect((await fetch(`${ownUrl}/flaky`)).status).toBe(200);
    } finally {
      stderr.mockRestore();
      await own.close();
    }
  });
});
