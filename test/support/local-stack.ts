/**
 * The local stack for tests: a fresh data folder, a free port, and a `request` that calls the API the
 * way a campaign platform would (admin key, JSON). Handlers load once per test file's process, so the
 * stacks a file starts run one after another (see `startLocalStack`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '#local/stack.ts';
import { type DeliveryWorkersOptions, deliveryWorkers } from '#local/workers.ts';
import { type Clock, systemClock } from '#shared/ports.ts';

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (throws when it is not); untyped by default, as a test reads it. */
  // biome-ignore lint/suspicious/noExplicitAny: tests assert on the shape of what they read.
  json<T = any>(): T;
}

export interface RequestOptions {
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (wins over `body`). */
  rawBody?: string | Uint8Array;
  /**
   * Added to / overriding the defaults (`authorization: Bearer <admin key>`, `content-type:
   * application/json`, also sent without a body); a header set to undefined is not sent.
   */
  headers?: Record<string, string | undefined>;
}

export interface TestStack {
  url: string;
  adminKey: string;
  stack: LocalStack;
  /** Endpoints and queue URLs of the stack's dynalite and fauxqs. */
  engines: LocalStack['engines'];
  dataDir: string;
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  /** Stops the stack; removes the data folder unless `keepData` (to start again on the same data). */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export interface TestStackOptions extends Partial<LocalStackOptions> {
  /**
   * Runs the delivery workers as `npm start` does (SQS pollers invoking the dispatch handler, the release
   * timer, journal recovery); off by default, so that a test can read the delivery queue itself.
   */
  workers?: boolean | DeliveryWorkersOptions;
  /**
   * The clock of the handlers this process runs (every part of the stack reads the time from its root's
   * clock, `systemClock`, which reads it from this one until the stack stops), while this process's
   * own Date stays real: what a test that fixes its day gives the stack, without faking Date for the
   * test runner, its timers or a browser driver (see `clockFrom`).
   */
  clock?: Clock;
}

/** A clock that reads `instant` now and moves on at the real pace (a monotonic one: never backwards). */
export function clockFrom(instant: number): Clock {
  const start = performance.now();
  return { now: () => Math.floor(instant + performance.now() - start) };
}

/** What `systemClock` reads when no test stack lends it a clock. */
const realNow = systemClock.now;

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'governor-test-')));
  const { workers, clock, ...rest } = options;
  if (clock) systemClock.now = () => clock.now();
  const onStart = [
    ...(rest.onStart ?? []),
    ...(workers ? [deliveryWorkers({ log: () => {}, ...(workers === true ? {} : workers) })] : []),
  ];
  const stack = await startLocalStack({ ...rest, onStart, dataDir, port: options.port ?? 0 }).catch(
    async (error) => {
      systemClock.now = realNow;
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
      throw error;
    },
  );

  return {
    url: stack.url,
    adminKey: stack.adminKey,
    stack,
    engines: stack.engines,
    dataDir,
    async request(method, path, { body, rawBody, headers = {} } = {}) {
      const merged: Record<string, string | undefined> = {
        authorization: `Bearer ${stack.adminKey}`,
        'content-type': 'application/json',
        ...Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value])),
      };
      const response = await fetch(new URL(path, stack.url), {
        method,
        headers: Object.fromEntries(
          Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined),
        ),
        body: rawBody ?? (body !== undefined ? JSON.stringify(body) : undefined),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        text,
        json: <T>() => JSON.parse(text) as T,
      };
    },
    async stop({ keepData = false } = {}) {
      await stack.stop();
      systemClock.now = realNow;
      if (!keepData && !options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Puts `policy` in force over whatever the stack holds (the current version's ETag as If-Match) and
 * answers the stored policy; throws, with the problem, when it is refused.
 */
export async function putPolicy(stack: TestStack, policy: unknown): Promise<{ version: number }> {
  const current = await stack.request('GET', '/v1/policy');
  const put = await stack.request('PUT', '/v1/policy', {
    headers: { 'if-match': current.headers.get('etag') ?? '*' },
    body: policy,
  });
  if (put.status !== 200) throw new Error(`the policy was refused (${put.status}): ${put.text}`);
  return put.json();
}
