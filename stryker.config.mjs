// Mutation testing of the decision's domain and of the finance, auth and counting use cases:
// `npm run test:mutation` (all of them), `npm run test:mutation -- --mutate shared/app/reports.ts` (one
// file), `npm run test:mutation -- --incremental` (only the mutants whose code or tests changed since the
// last run, from coverage/mutation/incremental.json). Not part of `npm test`: a full run takes a while.
// GOVERNOR_MUTATION_NAME names a per-file run's report and incremental file (coverage/mutation/
// mutation-<name>.json, incremental-<name>.json), so that runs of different files do not overwrite each
// other's results: `npm run test:mutation:files` (scripts/mutation.ts) runs each file so and sums them up.
const name = process.env.GOVERNOR_MUTATION_NAME;
const suffix = name ? `-${name}` : '';
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.ts', related: true },
  coverageAnalysis: 'perTest',
  mutate: ['shared/domain/**/*.ts', 'shared/app/reports.ts', 'shared/app/auth.ts', 'shared/app/counting.ts'],
  // What the sandbox copy of the project needs: the code under test, its tests and their configuration.
  ignorePatterns: [
    '/bench',
    '/console',
    '/docs',
    '/infra',
    '/cdk.out',
    '/.governor',
    '/.screenshots',
    '/coverage',
  ],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `coverage/mutation/index${suffix}.html` },
  jsonReporter: { fileName: `coverage/mutation/mutation${suffix}.json` },
  incrementalFile: `coverage/mutation/incremental${suffix}.json`,
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, skipFull: false },
  thresholds: { high: 90, low: 80, break: null },
  concurrency: 2,
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
