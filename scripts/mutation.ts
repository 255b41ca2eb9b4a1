/**
 * Mutation testing of shared/domain file by file, practical on a shared machine: each file is mutated in
 * a Stryker run of its own, against its own unit tests only (the table below), one test runner, and
 * incrementally (only the mutants whose code or covering tests changed since that file's last run are
 * tested again). Each run keeps its report apart (coverage/mutation/mutation-<name>.json), and the
 * scores of every file measured so far are printed, with the total over shared/domain.
 *
 *   npm run test:mutation:files                          # every domain file, then the scores
 *   npm run test:mutation:files -- explain tally         # those files, then the scores of all
 *   npm run test:mutation:files -- --scores              # only the scores of the last runs
 *   npm run test:mutation:files -- --full decision       # not incremental: every mutant again
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Each domain file's tests, and how much of their property tests' cases a mutation run runs. */
const FILES: Record<string, { tests: string[]; propertyScale?: string }> = {
  archive: { tests: ['archive-sink'] },
  'customer-log': {
    tests: [
      'customer-log',
      'entry-codec',
      'counting',
      'cancellation',
      'fatigue',
      'preemption',
      'experiments',
      'compaction',
      'compaction-needs',
      'digests',
      'digests-deadline',
      'digests-rules',
      'dry-run-preemption',
    ],
    propertyScale: '0.1',
  },
  decision: { tests: ['decision', 'frequency-caps', 'explain', 'quiet-hours', 'fatigue', 'experiments'] },
  'default-policy': { tests: ['default-policy', 'policy-cache'] },
  digests: { tests: ['digests', 'digests-deadline', 'digests-rules', 'dry-run-preemption'] },
  'dry-run-result': { tests: ['api-document'] },
  'dry-run': { tests: ['api-document'] },
  duration: { tests: ['duration', 'schemas', 'decision'] },
  'engine-run': { tests: ['engine-run'] },
  experiments: { tests: ['experiments'] },
  explain: { tests: ['explain', 'fatigue', 'api-document'] },
  fatigue: { tests: ['fatigue'] },
  'message-facts': { tests: ['message-facts', 'keyed-hash'] },
  'message-status': { tests: ['message-status', 'cancellation'] },
  'quiet-hours': { tests: ['quiet-hours', 'decision'] },
  preemption: { tests: ['preemption', 'preemption-rules', 'dry-run-preemption'] },
  schemas: { tests: ['schemas', 'api-document', 'decision', 'policy-cache'] },
  tally: { tests: ['tally', 'counting', 'reports'] },
  'time-zone': { tests: ['time-zone', 'quiet-hours'] },
};

const REPORTS = 'coverage/mutation';
const args = process.argv.slice(2);
const full = args.includes('--full');
const scoresOnly = args.includes('--scores');
const named = args.filter((a) => !a.startsWith('--'));
for (const name of named)
  if (!FILES[name]) throw new Error(`no domain file ${name} (one of: ${Object.keys(FILES).join(', ')})`);

if (!scoresOnly) {
  for (const name of named.length > 0 ? named : Object.keys(FILES)) {
    const { tests, propertyScale } = FILES[name]!;
    const started = Date.now();
    const run = spawnSync(
      'npx',
      [
        'stryker',
        'run',
        '--mutate',
        `shared/domain/${name}.ts`,
        '--concurrency',
        '1',
        ...(full ? [] : ['--incremental']),
      ],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: {
          ...process.env,
          GOVERNOR_MUTATION_NAME: name,
          GOVERNOR_MUTATION_TESTS: tests.map((t) => `test/unit/${t}.test.ts`).join(','),
          ...(propertyScale ? { GOVERNOR_TEST_PROPERTY_SCALE: propertyScale } : {}),
        },
      },
    );
    const seconds = Math.round((Date.now() - started) / 1000);
    console.log(
      `${name}: stryker exited ${run.status} after ${Math.floor(seconds / 60)} min ${seconds % 60} s`,
    );
  }
}

interface Mutant {
  status: string;
}
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
let detected = 0;
let valid = 0;
const rows: string[] = [];
for (const name of Object.keys(FILES)) {
  const report = `${REPORTS}/mutation-${name}.json`;
  if (!existsSync(report)) {
    rows.push(`${`shared/domain/${name}.ts`.padEnd(34)} not measured`);
    continue;
  }
  const { files } = JSON.parse(readFileSync(report, 'utf8')) as {
    files: Record<string, { mutants: Mutant[] }>;
  };
  const mutants = files[`shared/domain/${name}.ts`]?.mutants ?? [];
  const d = mutants.filter((m) => DETECTED.has(m.status)).length;
  const u = mutants.filter((m) => UNDETECTED.has(m.status)).length;
  const survived = mutants.filter((m) => m.status === 'Survived').length;
  const uncovered = mutants.filter((m) => m.status === 'NoCoverage').length;
  detected += d;
  valid += d + u;
  const score = d + u === 0 ? 'n/a' : `${((100 * d) / (d + u)).toFixed(2)}%`;
  rows.push(
    `${`shared/domain/${name}.ts`.padEnd(34)} ${score.padStart(7)}  ${d} / ${d + u} (${survived} survived, ${uncovered} not covered)`,
  );
}
console.log(rows.join('\n'));
console.log(
  `${'shared/domain (measured files)'.padEnd(34)} ${valid === 0 ? 'n/a' : `${((100 * detected) / valid).toFixed(2)}%`.padStart(7)}  ${detected} / ${valid}`,
);
