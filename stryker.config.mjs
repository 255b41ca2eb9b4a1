// Mutation testing of the decision's domain and of the finance, auth and counting use cases:
// `npm run test:mutation` (all of them), `npm run test:mutation -- --mutate shared/app/reports.ts` (one
// file), `npm run test:mutation -- --incremental` (only the mutants whose code or tests changed since the
// last run, from coverage/mutation/incremental.json). Not part of `npm test`: a full run takes a while.
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
  htmlReporter: { fileName: 'coverage/mutation/index.html' },
  jsonReporter: { fileName: 'coverage/mutation/mutation.json' },
  incrementalFile: 'coverage/mutation/incremental.json',
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, skipFull: false },
  thresholds: { high: 90, low: 80, break: null },
  concurrency: 2,
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
