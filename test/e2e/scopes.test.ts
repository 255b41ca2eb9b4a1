/**
 * Each scope allows exactly its routes: every route of the API called with a key of each scope. A key
 * without the route's scope gets 403 problem+json before anything is read or changed; a key with it gets
 * past authorization (whatever the route then answers to the deliberately empty request); no key is 401.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '#local/routes.ts';
import { SCOPES, type Scope } from '#shared/app/auth.ts';
import { buildConsole } from '../../console/build.ts';
import { ANY_KEY } from '../../infra/routes.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

let stack: TestStack;
const keyOf = new Map<Scope, string>();

let consoleBuild: string;

/** The scope each route requires; null: public; ANY_KEY: any valid key. */
const REQUIRED: Record<string, Scope | typeof ANY_KEY | null> = {
  'POST /v1/messages': 'send',
  'POST /v1/messages/batch': 'send',
  'GET /v1/messages/{messageId}': 'send',
  'DELETE /v1/messages/{messageId}': 'send',
  'POST /v1/campaigns/{campaignId}/cancel': 'send',
  'GET /v1/campaigns/{campaignId}/cancellations/{id}': 'send',
  'POST /v1/decisions/preview': 'send',
  'GET /v1/policy': 'policy:read',
  'PUT /v1/policy': 'policy:write',
  'GET /v1/policy/versions': 'policy:read',
  'GET /v1/policy/versions/{version}': 'policy:read',
  'POST /v1/policy/dry-runs': 'policy:read',
  'GET /v1/policy/dry-runs/{id}': 'policy:read',
  'GET /v1/customers/{customerId}/preferences': 'preferences:read',
  'PUT /v1/customers/{customerId}/preferences': 'preferences:write',
  'GET /v1/customers/{customerId}': 'preferences:read',
  'DELETE /v1/customers/{customerId}': 'preferences:write',
  'POST /v1/events': 'events:write',
  'GET /v1/reports/suppressed': 'reports:read',
  'GET /v1/reports/summary': 'reports:read',
  'GET /v1/reports/experiments/{id}': 'reports:read',
  'POST /v1/reports/reconcile': 'admin',
  'POST /v1/keys': 'admin',
  'GET /v1/keys': 'admin',
  'DELETE /v1/keys/{id}': 'admin',
  'GET /v1/audit': 'admin',
  'GET /v1/me': ANY_KEY,
  'GET /v1/operations/queues': 'reports:read',
  'GET /health': null,
  'GET /openapi.json': null,
  'GET /console': null,
  'GET /console/{proxy+}': null,
};

/** A concrete path for a route template; bodies are empty objects (invalid for every write route). */
const pathOf = (template: string) =>
  template
    .replace('{customerId}', 'scope-customer')
    .replace('{id}', '0000000000000000')
    .replace('{version}', '0')
    .replace('{proxy+}', 'index.html');

const routeKeys = routes.map((r) => `${r.method} ${r.path}`);
const protectedRoutes = routeKeys.filter((key) => REQUIRED[key] !== null);

async function call(routeKey: string, key: string | undefined) {
  const [method = 'GET', template = '/'] = routeKey.split(' ');
  return stack.request(method, pathOf(template), {
    headers: { authorization: key === undefined ? undefined : `Bearer ${key}` },
    ...(method === 'GET' || method === 'DELETE' ? {} : { body: {} }),
  });
}

beforeAll(async () => {
  // The console's public files, built for this stack.
  consoleBuild = await mkdtemp(join(tmpdir(), 'governor-console-'));
  await buildConsole({ outdir: consoleBuild });
  stack = await startTestStack({ env: { GOVERNOR_CONSOLE_DIR: consoleBuild } });
  for (const scope of SCOPES) {
    const created = await stack.request('POST', '/v1/keys', {
      body: { name: `only ${scope}`, scopes: [scope] },
    });
    expect(created.status, created.text).toBe(201);
    keyOf.set(scope, created.json().key);
  }
});

afterAll(async () => {
  await stack?.stop();
  await rm(consoleBuild, { recursive: true, force: true });
});

describe('the route × scope table', () => {
  it('names the scope of every route of the API', () => {
    expect(routeKeys.filter((key) => !(key in REQUIRED))).toEqual([]);
  });

  describe.each(protectedRoutes)('%s', (routeKey) => {
    const required = REQUIRED[routeKey]!;
    it.each(
      SCOPES.map(
        (scope) => [scope, required === ANY_KEY || scope === required || scope === 'admin'] as const,
      ),
    )('with a key of scope %s: allowed %s', async (scope, allowed) => {
      const response = await call(routeKey, keyOf.get(scope));
      if (allowed) {
        expect([401, 403], response.text).not.toContain(response.status);
        expect(response.status, response.text).toBeLessThan(500);
      } else {
        expect(response.status, response.text).toBe(403);
        expect(response.headers.get('content-type')).toBe('application/problem+json');
        expect(response.json()).toMatchObject({ status: 403, type: '/problems/forbidden' });
        expect(response.json().detail).toContain(required);
      }
    });

    it('without a key: 401 problem+json', async () => {
      const response = await call(routeKey, undefined);
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.json()).toMatchObject({ status: 401, type: '/problems/unauthorized' });
    });
  });

  it.each(routeKeys.filter((key) => REQUIRED[key] === null))('%s is public', async (routeKey) => {
    expect((await call(routeKey, undefined)).status).toBe(200);
    expect((await call(routeKey, 'not-a-key')).status).toBe(200);
  });
});
