/**
 * What an integration test of the use cases starts with: a throwaway data folder, the real local engines
 * in it (dynalite, fauxqs), their variables exported for the SDK clients, the configuration loaded with
 * a hash secret of the test's own, a composition root on the test's clock, and the test's policy as the
 * current one. `stop()` stops the engines and removes the folder.
 *
 *   let now = T0;
 *   let fixture: EnginesFixture;
 *   beforeAll(async () => {
 *     fixture = await startEnginesFixture({ name: 'lookup', clock: { now: () => now }, policy: { caps: [...] } });
 *   });
 *   afterAll(() => fixture?.stop());
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Engines, startEngines } from '#local/engines.ts';
import { createRoot, type Root } from '#shared/composition.ts';
import { type Config, loadConfig } from '#shared/config.ts';
import { type Policy, type PolicyDocumentInput, policyDocumentSchema } from '#shared/domain/schemas.ts';
import type { Clock } from '#shared/ports.ts';

export interface EnginesFixtureOptions {
  /** Names the data folder (governor-<name>-…) and the hash secret (<name>-test-hash-secret-…). */
  name: string;
  /** The clock of the root (and of every root made with `newRoot`): the test's. */
  clock: Clock;
  /** Configuration variables beyond the engines' and the defaults, given the data folder. */
  env?: (dataDir: string) => Record<string, string>;
  /** Stored as the current policy (author "test", at the clock's time) once the engines run. */
  policy?: PolicyDocumentInput;
}

export interface EnginesFixture {
  dataDir: string;
  engines: Engines;
  config: Config;
  /** A root on the test's clock. */
  root: Root;
  /** The policy stored at the start (undefined without `policy`). */
  policy: Policy | undefined;
  /** Another root on the same configuration (and the test's clock unless given): another instance. */
  newRoot(clock?: Clock): Root;
  stop(): Promise<void>;
}

export async function startEnginesFixture(options: EnginesFixtureOptions): Promise<EnginesFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), `governor-${options.name}-`));
  let engines: Engines | undefined;
  try {
    engines = await startEngines({ dataDir });
    Object.assign(process.env, engines.env); // credentials for the SDK
    const config = loadConfig({
      ...engines.env,
      GOVERNOR_POLICY_TTL_MS: '300000',
      GOVERNOR_HASH_SECRET: `${options.name}-test-hash-secret-0123456789abcdef`,
      ...options.env?.(dataDir),
    });
    const root = createRoot(config, options.clock);
    let policy: Policy | undefined;
    if (options.policy) {
      policy = await root.policyStore.put(
        policyDocumentSchema.parse(options.policy),
        '*',
        'test',
        options.clock.now(),
      );
      if (!policy) throw new Error('the policy was not stored');
    }
    const started = engines;
    return {
      dataDir,
      engines: started,
      config,
      root,
      policy,
      newRoot: (clock = options.clock) => createRoot(config, clock),
      async stop() {
        await started.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await engines?.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
