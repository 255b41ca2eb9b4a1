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
    include: ['test/unit/**/*.test.ts', 'test/oracle/**/*.test.ts'],
    exclude: ['test/unit/simulation.test.ts', 'test/unit/console-*.test.ts'],
    pool: 'threads',
  },
});
