/**
 * The functions of the deployment: each handler module, the HTTP routes it serves (the same routes and
 * modules the local server runs: local/routes.ts derives its table from this one) and exactly what it may reach.
 * Adding a function is adding one entry here.
 */
import type { TableAccess } from './constructs/governor-function.ts';

export type RouteKey = `${'GET' | 'POST' | 'PUT' | 'DELETE'} /${string}`;

export interface HttpFunctionSpec {
  /** The construct id: `Send` → the `Send` function. */
  readonly name: string;
  /** The handler module, relative to the project root. */
  readonly entry: `functions/${string}/handler.ts`;
  readonly routes: readonly RouteKey[];
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
   * Routes anyone may call: never behind the authorizer. The other routes are behind the Lambda
   * authorizer, or, in a deployment without one, the function checks the API key itself.
   */
  readonly public?: boolean;
  /** Whether it reads the depths of the delivery queue and its DLQ (GetQueueAttributes on both). */
  readonly inspectsQueues?: boolean;
  /** Whether it serves the console: its bundle then carries the console, built when it is bundled. */
  readonly servesConsole?: boolean;
}

export const httpFunctions: readonly HttpFunctionSpec[] = [
  {
    name: 'Send',
    entry: 'functions/send/handler.ts',
    routes: [
      'POST /v1/messages',
      'POST /v1/messages/batch',
      'GET /v1/messages/{messageId}',
      'DELETE /v1/messages/{messageId}',
    ],
    table: 'RW',
    sendsDeliveries: true,
    hashes: true,
  },
  {
    name: 'Preview',
    entry: 'functions/preview/handler.ts',
    routes: ['POST /v1/decisions/preview'],
    table: 'R',
    hashes: true,
  },
  {
    name: 'Policy',
    entry: 'functions/policy/handler.ts',
    routes: [
      'GET /v1/policy',
      'PUT /v1/policy',
      'GET /v1/policy/versions',
      'GET /v1/policy/versions/{version}',
    ],
    table: 'RW',
  },
  {
    name: 'Preferences',
    entry: 'functions/preferences/handler.ts',
    routes: [
      'GET /v1/customers/{customerId}/preferences',
      'PUT /v1/customers/{customerId}/preferences',
      'GET /v1/customers/{customerId}',
      'DELETE /v1/customers/{customerId}',
    ],
    table: 'RW',
    hashes: true,
  },
  {
    name: 'Events',
    entry: 'functions/events/handler.ts',
    routes: ['POST /v1/events'],
    table: 'RW',
  },
  {
    name: 'Health',
    entry: 'functions/health/handler.ts',
    routes: ['GET /health', 'GET /openapi.json'],
    public: true,
  },
  {
    name: 'Reports',
    entry: 'functions/reports/handler.ts',
    routes: ['GET /v1/reports/suppressed', 'GET /v1/reports/summary', 'POST /v1/reports/reconcile'],
    // Reports read the tallies; reconcile scans the customers' logs and writes corrections, for as long
    // as the HTTP API waits.
    table: 'RW',
    tableScan: true,
    timeoutSeconds: 29,
  },
  {
    name: 'DryRuns',
    entry: 'functions/dry-runs/handler.ts',
    routes: ['POST /v1/policy/dry-runs', 'GET /v1/policy/dry-runs/{id}'],
    // The job items; the runner that replays the archive is the AWS side's (Step Functions).
    table: 'RW',
  },
  {
    name: 'Keys',
    entry: 'functions/keys/handler.ts',
    routes: ['POST /v1/keys', 'GET /v1/keys', 'DELETE /v1/keys/{id}', 'GET /v1/me'],
    table: 'RW',
  },
  {
    name: 'Audit',
    entry: 'functions/audit/handler.ts',
    routes: ['GET /v1/audit'],
    table: 'R',
  },
  // The console (static files, public) and the queue depths its overview shows.
  {
    name: 'Console',
    entry: 'functions/console/handler.ts',
    routes: ['GET /console', 'GET /console/{proxy+}'],
    public: true,
    servesConsole: true,
  },
  {
    name: 'Queues',
    entry: 'functions/operations/handler.ts',
    routes: ['GET /v1/operations/queues'],
    inspectsQueues: true,
  },
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
