/**
 * The routes of the HTTP API and the handler module behind each: the same modules the deployed API
 * Gateway routes to (infra reads this list too), loaded lazily so that each reads its configuration
 * after the local stack has set it.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

export type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  load: () => Promise<Handler>;
}

const send = () => import('../functions/send/handler.ts').then((m) => m.handler as unknown as Handler);
const preview = () => import('../functions/preview/handler.ts').then((m) => m.handler as unknown as Handler);
const policy = () => import('../functions/policy/handler.ts').then((m) => m.handler as unknown as Handler);
const preferences = () =>
  import('../functions/preferences/handler.ts').then((m) => m.handler as unknown as Handler);
const events = () => import('../functions/events/handler.ts').then((m) => m.handler as unknown as Handler);
const reports = () => import('../functions/reports/handler.ts').then((m) => m.handler as unknown as Handler);
const keys = () => import('../functions/keys/handler.ts').then((m) => m.handler as unknown as Handler);
const audit = () => import('../functions/audit/handler.ts').then((m) => m.handler as unknown as Handler);
const health = () => import('../functions/health/handler.ts').then((m) => m.handler as unknown as Handler);
const consoleFiles = () =>
  import('../functions/console/handler.ts').then((m) => m.handler as unknown as Handler);
const dryRuns = () => import('../functions/dry-runs/handler.ts').then((m) => m.handler as unknown as Handler);
const operations = () =>
  import('../functions/operations/handler.ts').then((m) => m.handler as unknown as Handler);

export const routes: Route[] = [
  { method: 'POST', path: '/v1/messages', load: send },
  { method: 'POST', path: '/v1/messages/batch', load: send },
  { method: 'POST', path: '/v1/decisions/preview', load: preview },
  { method: 'GET', path: '/v1/policy', load: policy },
  { method: 'PUT', path: '/v1/policy', load: policy },
  { method: 'GET', path: '/v1/policy/versions', load: policy },
  { method: 'GET', path: '/v1/policy/versions/{version}', load: policy },
  { method: 'POST', path: '/v1/policy/dry-runs', load: dryRuns },
  { method: 'GET', path: '/v1/policy/dry-runs/{id}', load: dryRuns },
  { method: 'GET', path: '/v1/customers/{customerId}/preferences', load: preferences },
  { method: 'PUT', path: '/v1/customers/{customerId}/preferences', load: preferences },
  { method: 'GET', path: '/v1/customers/{customerId}', load: preferences },
  { method: 'DELETE', path: '/v1/customers/{customerId}', load: preferences },
  { method: 'POST', path: '/v1/events', load: events },
  { method: 'GET', path: '/v1/reports/suppressed', load: reports },
  { method: 'GET', path: '/v1/reports/summary', load: reports },
  { method: 'POST', path: '/v1/reports/reconcile', load: reports },
  { method: 'POST', path: '/v1/keys', load: keys },
  { method: 'GET', path: '/v1/keys', load: keys },
  { method: 'DELETE', path: '/v1/keys/{id}', load: keys },
  { method: 'GET', path: '/v1/me', load: keys },
  { method: 'GET', path: '/v1/audit', load: audit },
  { method: 'GET', path: '/health', load: health },
  { method: 'GET', path: '/openapi.json', load: health },
  // The console (static files, public) and the queue depths its overview shows.
  { method: 'GET', path: '/console', load: consoleFiles },
  { method: 'GET', path: '/console/{proxy+}', load: consoleFiles },
  { method: 'GET', path: '/v1/operations/queues', load: operations },
];
