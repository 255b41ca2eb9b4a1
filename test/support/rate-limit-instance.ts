/**
 * One instance of an HTTP function, in a process of its own, for the rate-limit tests: its own SDK
 * client, its own limiter adding to the key's shared count in DynamoDB, and a clock and timers that only
 * the parent moves. The parent forks several and drives them in steps over IPC:
 *
 * - `{ type: 'tick', at, requests, key }`: the clock moves to `at`, the timers due by then run, then the
 *   instance serves `requests` requests with the key one after another; once every sync this started
 *   has settled (the clock stands still meanwhile) it answers `{ admitted, refused, syncs }`.
 * - `{ type: 'stop' }`: exits.
 *
 * Reads the engines' variables (GOVERNOR_DYNAMODB_ENDPOINT, …) and RATE_TEST_T0 / RATE_TEST_SYNC_MS.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { DynamoRateCounter } from '#shared/adapters/dynamodb/rate-counter.ts';
import { RateLimiter } from '#shared/app/rate-limit.ts';
import { createRoot } from '#shared/composition.ts';
import { loadConfig } from '#shared/config.ts';
import type { RateCounter } from '#shared/ports.ts';
import { httpFunction } from '../../functions/http.ts';

export interface Tick {
  type: 'tick';
  at: number;
  requests: number;
  key: string;
}
export interface TickResult {
  admitted: number;
  refused: number;
  /** Calls to the shared counter so far. */
  syncs: number;
}

const config = loadConfig();
let now = Number(process.env.RATE_TEST_T0);
const clock = { now: () => now };

/** Timers on the instance's clock: they run when the parent moves it past them. */
let timers: { due: number; run: () => void }[] = [];
const manualTimers = {
  set(run: () => void, ms: number) {
    timers.push({ due: now + ms, run });
  },
};
function runDueTimers() {
  for (;;) {
    const due = timers.filter((t) => t.due <= now).sort((a, b) => a.due - b.due)[0];
    if (!due) return;
    timers = timers.filter((t) => t !== due);
    due.run();
  }
}

const root = createRoot(config, clock);

/** The shared counter, watched: the step waits until every call it started has settled. */
const dynamo = new DynamoRateCounter(root.db, config.GOVERNOR_TABLE_NAME);
const inFlight = new Set<Promise<unknown>>();
let syncs = 0;
const counter: RateCounter = {
  add(keyId, delta, at) {
    syncs++;
    const call = dynamo.add(keyId, delta, at);
    const settled = call.then(
      () => {},
      () => {},
    );
    inFlight.add(settled);
    void settled.then(() => inFlight.delete(settled));
    return call;
  },
};
async function settle() {
  while (inFlight.size > 0) await Promise.all(inFlight);
  // What the limiter does with the answer runs after the call's promise settles.
  await new Promise((resolve) => setImmediate(resolve));
}

const limiter = new RateLimiter(clock, {
  counter,
  timers: manualTimers,
  syncIntervalMs: Number(process.env.RATE_TEST_SYNC_MS),
});
const handler = httpFunction(
  root.authenticate,
  { 'GET /v1/probe': { scope: 'send', handle: async () => ({ status: 204 }) } },
  { rateLimiter: limiter },
);
const probe = (key: string) =>
  ({
    version: '2.0',
    routeKey: 'GET /v1/probe',
    rawPath: '/v1/probe',
    rawQueryString: '',
    headers: { authorization: `Bearer ${key}` },
    requestContext: { http: { method: 'GET' } },
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEventV2;

async function step({ at, requests, key }: Tick): Promise<TickResult> {
  now = at;
  runDueTimers();
  let admitted = 0;
  let refused = 0;
  for (let i = 0; i < requests; i++) {
    const { statusCode } = await handler(probe(key), {} as Context);
    if (statusCode === 204) admitted++;
    else if (statusCode === 429) refused++;
    else throw new Error(`the probe answered ${statusCode}`);
  }
  await settle();
  return { admitted, refused, syncs };
}

process.on('message', (message: Tick | { type: 'stop' }) => {
  if (message.type === 'stop') process.exit(0);
  step(message).then(
    (result) => process.send?.(result),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
process.send?.({ type: 'ready' });
