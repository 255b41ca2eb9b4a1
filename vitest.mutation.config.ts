/**
 * The tests mutation testing runs (npm run test:mutation): the unit tiers (domain, use cases, the
 * decision oracle), which run in seconds and in one process. Stryker's vitest runner runs, for each
 * mutant, only the test files that import the mutated module (vitest's related-tests). The base
 * configuration is spread, not merged: vitest's mergeConfig would append these globs to the base's
 * `test/**` and run the end-to-end tiers too.
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // GOVERNOR_MUTATION_TESTS (comma-separated globs) narrows the tests to a file's own, for a per-file run
    // on a shared machine: e.g. the decision's examples without the property tests that take minutes.
    include: process.env.GOVERNOR_MUTATION_TESTS?.split(',') ?? [
      'test/unit/**/*.test.ts',
      'test/oracle/**/*.test.ts',
    ],
    exclude: ['test/unit/simulation.test.ts', 'test/unit/console-*.test.ts'],
    pool: 'threads',
    // Under the mutation run's instrumentation the property tests are several times slower: a third of
    // their generated cases each (test/support/property-runs.ts), and room for the first, covering run.
    env: {
      ...base.test?.env,
      GOVERNOR_TEST_PROPERTY_SCALE: process.env.GOVERNOR_TEST_PROPERTY_SCALE ?? '0.34',
    },
    testTimeout: 180_000,
  },
});
