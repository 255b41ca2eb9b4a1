/**
 * An HTTP function settles what its handler left in flight (the archive's records) before it answers:
 * on Lambda the instance may be frozen as soon as the answer is out, so nothing may still be on its way.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '#shared/app/rate-limit.ts';
import { GovernorError } from '#shared/errors.ts';
import { httpFunction, type RouteHandler } from '../../functions/http.ts';

const event = {
  routeKey: 'GET /v1/thing',
  rawPath: '/v1/thing',
  headers: {},
  requestContext: { http: { method: 'GET', path: '/v1/thing' }, requestId: 'r-1' },
  isBase64Encoded: false,
} as unknown as APIGatewayProxyEventV2;
const context = { functionName: 'test', awsRequestId: 'r-1' } as unknown as Context;

/** A settle step that finishes only when the test says so, and records when it ran. */
function gatedSettle(steps: string[]) {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const settle = async () => {
    steps.push('settle started');
    await opened;
    steps.push('settled');
  };
  return { settle, open: () => open() };
}

function functionWith(handle: RouteHandler, settle: () => Promise<void>) {
  return httpFunction(
    async () => {
      throw new Error('a public route asks for no key');
    },
    { 'GET /v1/thing': { scope: null, handle } },
    { rateLimiter: new RateLimiter({ now: () => 0 }), settle },
  );
}

describe('an HTTP function', () => {
  it('answers only once what its handler left in flight has settled', async () => {
    // Prepare
    const steps: string[] = [];
    const gate = gatedSettle(steps);
    const fn = functionWith(async () => {
      steps.push('handled');
      return { status: 200, body: { ok: true } };
    }, gate.settle);

    // Act
    const answer = fn(event, context).then((result) => {
      steps.push('answered');
      return result;
    });
    await new Promise((resolve) => setImmediate(resolve));
    const beforeOpen = [...steps];
    gate.open();
    const result = await answer;

    // Assess
    expect(beforeOpen).toEqual(['handled', 'settle started']);
    expect(steps).toEqual(['handled', 'settle started', 'settled', 'answered']);
    expect(result.statusCode).toBe(200);
  });

  it('settles before answering with a problem when the handler fails', async () => {
    // Prepare
    const steps: string[] = [];
    const gate = gatedSettle(steps);
    const fn = functionWith(async () => {
      steps.push('handled');
      throw new GovernorError('the store is down');
    }, gate.settle);

    // Act
    const answer = fn(event, context).then((result) => {
      steps.push('answered');
      return result;
    });
    await new Promise((resolve) => setImmediate(resolve));
    gate.open();
    const result = await answer;

    // Assess
    expect(steps).toEqual(['handled', 'settle started', 'settled', 'answered']);
    expect(result.statusCode).toBe(500);
    expect(result.headers?.['content-type']).toContain('application/problem+json');
  });
});
