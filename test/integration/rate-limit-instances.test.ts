/**
 * A key's rate limit holds across instances: three processes, each its own limiter and SDK client,
 * serve one key flooded at 5 times its rate each, against one dynalite. Their clocks and timers are the
 * test's: each step moves every clock 100 ms, and a step ends only once the syncs it started have
 * settled, so the figures below follow from the design, not from how fast this machine is.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Engines, startEngines } from '#local/engines.ts';
import { BURST_FACTOR } from '#shared/app/rate-limit.ts';
import { createRoot } from '#shared/composition.ts';
import { loadConfig } from '#shared/config.ts';
import type { Tick, TickResult } from '../support/rate-limit-instance.ts';

const INSTANCES = 3;
const RATE = 10; // requests per second
const BURST = RATE * BURST_FACTOR;
const SYNC_MS = 1000;
const TICK_MS = 100;
const TICKS = 600; // one minute
const REQUESTS_PER_TICK = 5; // 50 per second per instance: 5 × the rate, 15 × across the three
const T0 = Date.UTC(2026, 2, 2, 10);

interface Instance {
  child: ChildProcess;
  ask(message: Tick): Promise<TickResult>;
  stop(): Promise<void>;
}

async function startInstance(env: NodeJS.ProcessEnv): Promise<Instance> {
  const module = fileURLToPath(new URL('../support/rate-limit-instance.ts', import.meta.url));
  const child = fork(module, [], {
    execArgv: ['--import', 'tsx'],
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`an instance exited with code ${code}`));
      child.once('exit', onExit);
      child.once('message', (message: T) => {
        child.off('exit', onExit);
        resolve(message);
      });
    });
  await next();
  return {
    child,
    ask(message) {
      const answer = next<TickResult>();
      child.send(message);
      return answer;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'stop' });
      await exited;
    },
  };
}

let dataDir: string;
let engines: Engines;
let instances: Instance[] = [];
let key: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-rate-limit-'));
  engines = await startEngines({ dataDir });
  Object.assign(process.env, engines.env); // credentials for the SDK
  const created = await createRoot(loadConfig(engines.env)).keys.create(
    { name: 'runaway tool', scopes: ['send'], rateLimit: RATE },
    'admin',
  );
  key = created.key;
  const env = {
    ...process.env,
    ...engines.env,
    RATE_TEST_T0: String(T0),
    RATE_TEST_SYNC_MS: String(SYNC_MS),
  };
  instances = await Promise.all(Array.from({ length: INSTANCES }, () => startInstance(env)));
});

afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.stop()));
  await engines?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the per-key rate limit across instances', () => {
  it('admits one bucket of requests across three processes, within the tolerance of its sync, not three', async () => {
    let admitted = 0;
    let last: TickResult[] = [];
    for (let tick = 0; tick < TICKS; tick++) {
      const step: Tick = { type: 'tick', at: T0 + tick * TICK_MS, requests: REQUESTS_PER_TICK, key };
      last = await Promise.all(instances.map((instance) => instance.ask(step)));
      admitted += last.reduce((sum, r) => sum + r.admitted, 0);
    }

    // One bucket over the run: its burst, then the rate from the first request to the last.
    const seconds = ((TICKS - 1) * TICK_MS) / 1000;
    const oneBucket = BURST + RATE * seconds;
    // What a process may admit before it hears of another's requests. A sync carries what the other
    // admitted in the second before it; the process decides on it until its own next sync, a second
    // later, and a step's requests run while that sync is in flight: two seconds and a step of the
    // other's requests, at most its burst and the rate over that time. Plus the first request of each
    // other process, which the first total a process reads includes as its starting point.
    const unseen = BURST + (RATE * (2 * SYNC_MS + TICK_MS)) / 1000 + 1;
    expect(admitted).toBeLessThanOrEqual(oneBucket + (INSTANCES - 1) * unseen);
    // Each process counts every admission it hears of at most once, and is flooded: it admits whenever
    // its bucket holds a token. So the key still gets the rate: never under one bucket (less a token).
    expect(admitted).toBeGreaterThanOrEqual(oneBucket - 1);
    // At most one call to the shared counter per process per second (and none per request).
    for (const { syncs } of last) expect(syncs).toBeLessThanOrEqual((TICKS * TICK_MS) / SYNC_MS);
  });
});
