/**
 * The functions of the deployment: each handler module, the HTTP routes it serves with the scope each
 * needs (the same routes and modules the local server runs: local/routes.ts derives its table from this
 * one; functions/http.ts checks each route's scope from here) and exactly what it may reach.
 * Adding a function is adding one entry here.
 */
import type { Scope } from '../shared/app/auth.ts';
import type { TableAccess } from './constructs/governor-function.ts';

export type RouteKey = `${'GET' | 'POST' | 'PUT' | 'DELETE'} /${string}`;

/** A route any valid key may call, whatever its scopes (`GET /v1/me`). */
export const ANY_KEY = 'any key';

/** The scope a route needs: a key's scope, ANY_KEY (any valid key), or null (public: no key). */
export type RouteScope = Scope | typeof ANY_KEY | null;

export interface HttpFunctionSpec {
  /** The construct id: `Send` → the `Send` function. */
  readonly name: string;
  /** The handler module, relative to the project root. */
  readonly entry: `functions/${string}/handler.ts`;
  /** Its routes, in the order of `scopes`. */
  readonly routes: readonly RouteKey[];
  /** Each route it serves and the scope that route needs. */
  readonly scopes: Readonly<Partial<Record<RouteKey, RouteScope>>>;
  /** The table access its code needs; none when absent. */
  readonly table?: TableAccess;
  /** Whether it scans the table (a recovery job: reconciling counts from every customer's log). */
  readonly tableScan?: boolean;
  /** @default 10 s; an HTTP API integration gives up after 30 s. */
  readonly timeoutSeconds?: number;
  /** Whether it puts deliveries on the delivery queue. */
  readonly sendsDeliveries?: boolean;
  /** Whether it computes keyed hashes (message keys, audit references, erasures): reads the hash secret. */
  readonly hashes?: boolean;
  /**
   * Routes anyone may call (every route's scope null): never behind the authorizer. The other routes are
   * behind the Lambda authorizer, or, in a deployment without one, the function checks the API key itself.
   */
  readonly public?: boolean;
  /** Whether it reads the depths of the delivery queue and its DLQ (GetQueueAttributes on both). */
  readonly inspectsQueues?: boolean;
  /** Whether it serves the console: its bundle then carries the console, built when it is bundled. */
  readonly servesConsole?: boolean;
  /** Whether it archives decisions or changes (shared/app/archive.ts): sends to the archive stream. */
  readonly archives?: boolean;
  /** Whether it starts dry-runs: an execution of the dry-run state machine (constructs/dry-run-machine.ts). */
  readonly startsDryRuns?: boolean;
}

/** A function's spec with its routes and whether it is public, both read off its routes' scopes. */
function fn(spec: Omit<HttpFunctionSpec, 'routes' | 'public'>): HttpFunctionSpec {
  const routes = Object.keys(spec.scopes) as RouteKey[];
  const open = routes.filter((key) => spec.scopes[key] === null);
  if (open.length > 0 && open.length < routes.length)
    throw new Error(`${spec.name}: public and protected routes in one function (${open.join(', ')} public)`);
  return { ...spec, routes, ...(open.length > 0 ? { public: true } : {}) };
}

export const httpFunctions: readonly HttpFunctionSpec[] = [
  fn({
    name: 'Send',
    entry: 'functions/send/handler.ts',
    scopes: {
      'POST /v1/messages': 'send',
      'POST /v1/messages/batch': 'send',
      'GET /v1/messages/{messageId}': 'send',
      'DELETE /v1/messages/{messageId}': 'send',
      'POST /v1/campaigns/{campaignId}/cancel': 'send',
      'GET /v1/campaigns/{campaignId}/cancellations/{id}': 'send',
    },
    table: 'RW',
    sendsDeliveries: true,
    hashes: true,
    archives: true,
  }),
  fn({
    name: 'Preview',
    entry: 'functions/preview/handler.ts',
    scopes: {
      'POST /v1/decisions/preview': 'send',
    },
    table: 'R',
    hashes: true,
  }),
  fn({
    name: 'Policy',
    entry: 'functions/policy/handler.ts',
    scopes: {
      'GET /v1/policy': 'policy:read',
      'PUT /v1/policy': 'policy:write',
      'GET /v1/policy/versions': 'policy:read',
      'GET /v1/policy/versions/{version}': 'policy:read',
    },
    table: 'RW',
  }),
  fn({
    name: 'Preferences',
    entry: 'functions/preferences/handler.ts',
    scopes: {
      'GET /v1/customers/{customerId}/preferences': 'preferences:read',
      'PUT /v1/customers/{customerId}/preferences': 'preferences:write',
      'GET /v1/customers/{customerId}': 'preferences:read',
      'DELETE /v1/customers/{customerId}': 'preferences:write',
    },
    table: 'RW',
    hashes: true,
    archives: true,
  }),
  fn({
    name: 'Events',
    entry: 'functions/events/handler.ts',
    scopes: {
      'POST /v1/events': 'events:write',
    },
    table: 'RW',
    // An unsubscribe, a complaint or a hard bounce is archived under the customer's pseudonym (a keyed hash).
    hashes: true,
    archives: true,
  }),
  fn({
    name: 'Health',
    entry: 'functions/health/handler.ts',
    scopes: {
      'GET /health': null,
      'GET /openapi.json': null,
    },
  }),
  fn({
    name: 'Reports',
    entry: 'functions/reports/handler.ts',
    scopes: {
      'GET /v1/reports/suppressed': 'reports:read',
      'GET /v1/reports/summary': 'reports:read',
      'GET /v1/reports/experiments/{id}': 'reports:read',
      'POST /v1/reports/reconcile': 'admin',
    },
    // Reports read the tallies; reconcile scans the customers' logs and writes corrections, for as long
    // as the HTTP API waits.
    table: 'RW',
    tableScan: true,
    timeoutSeconds: 29,
  }),
  fn({
    name: 'DryRuns',
    entry: 'functions/dry-runs/handler.ts',
    scopes: {
      'POST /v1/policy/dry-runs': 'policy:read',
      'GET /v1/policy/dry-runs/{id}': 'policy:read',
    },
    // The job items; the runner that replays the archive is the AWS side's (Step Functions).
    table: 'RW',
    startsDryRuns: true,
  }),
  fn({
    name: 'Keys',
    entry: 'functions/keys/handler.ts',
    scopes: {
      'POST /v1/keys': 'admin',
      'GET /v1/keys': 'admin',
      'DELETE /v1/keys/{id}': 'admin',
      'GET /v1/me': ANY_KEY,
    },
    table: 'RW',
  }),
  fn({
    name: 'Audit',
    entry: 'functions/audit/handler.ts',
    scopes: {
      'GET /v1/audit': 'admin',
    },
    table: 'R',
  }),
  // The console (static files, public) and the queue depths its overview shows.
  fn({
    name: 'Console',
    entry: 'functions/console/handler.ts',
    scopes: {
      'GET /console': null,
      'GET /console/{proxy+}': null,
    },
    servesConsole: true,
  }),
  fn({
    name: 'Queues',
    entry: 'functions/operations/handler.ts',
    scopes: {
      'GET /v1/operations/queues': 'reports:read',
    },
    inspectsQueues: true,
  }),
];

/** The delivery pipeline's two functions (see constructs/delivery-pipeline.ts). */
export interface DeliveryEntries {
  /** The SQS consumer of the delivery queue. */
  readonly dispatch: string;
  /** The function the one-minute schedule runs to release due deferred messages. */
  readonly release: string;
}

export const delivery: DeliveryEntries | undefined = {
  dispatch: 'functions/dispatch/handler.ts',
  release: 'functions/release/handler.ts',
};

/** The HTTP API's Lambda authorizer: checks the API key of every non-public route. */
export const authorizer: string | undefined = 'functions/authorizer/handler.ts';

/** The dry-run state machine's worker: every step of a job (see constructs/dry-run-machine.ts). */
export const dryRunWorker: string | undefined = 'functions/dry-run-worker/handler.ts';

/**
 * The events function's queue consumer: SES event publishing through SNS and SQS, wired when email uses
 * the ses provider (see constructs/provider-feedback.ts).
 */
export const providerFeedback: string | undefined = 'functions/events/feedback-handler.ts';
