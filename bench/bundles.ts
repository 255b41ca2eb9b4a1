/**
 * `npm run bench:bundles`: each deployed function's bundle size and cold-start init time.
 *
 * Synthesizes the CDK app in memory (the same bundling as `cdk synth`/`cdk deploy`), then for each
 * function imports its bundled handler in a fresh Node process, with the function's environment, and
 * times the import: what Lambda's init phase does before the first invocation. Each import runs RUNS
 * times (BENCH_RUNS); medians are reported, with `--enable-source-maps` as deployed and without.
 *
 * Two clocks: wall time, and the CPU time the process spent importing. On a machine busy with other
 * work the wall time mostly measures the wait for a core; the CPU time does not, so the init target is
 * checked against it. Node 20 here, Node 22 on Lambda.
 *
 * Targets: bundle under 1 MB (1,000,000 bytes), init under 300 ms. Exits 1 when one is missed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { GovernorFunction as GovernorFunctionType } from '../infra/constructs/governor-function.ts';
import { parseCli } from '../scripts/cli.ts';

parseCli({
  name: 'bench:bundles',
  command: 'npm run bench:bundles',
  usage: [''],
  description:
    "Each deployed function's bundle size and cold-start init time (median of BENCH_RUNS fresh processes,\n" +
    'default 5); exits 1 when a bundle is over 1 MB or an init over 300 ms of CPU.',
  options: {},
});

// The CDK is loaded after the command line is read, so that --help answers at once.
const { App, Stack, Token } = await import('aws-cdk-lib');
const { GovernorFunction } = await import('../infra/constructs/governor-function.ts');
const { addGovernor } = await import('../infra/governor.ts');
type GovernorFunction = GovernorFunctionType;

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MAX_BYTES = 1_000_000;
const MAX_INIT_MS = 300;

const run = promisify(execFile);

interface Timing {
  wallMs: number;
  cpuMs: number;
}

interface Row {
  name: string;
  entry: string;
  bytes: number;
  mapBytes: number;
  withMaps: Timing;
  withoutMaps: Timing;
  /** Why the bundle did not load, if it did not. */
  error?: string;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** A plausible value for a variable whose value is only known at deploy time (a reference). */
function standIn(name: string): string {
  if (name.endsWith('_ARN'))
    return `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name.toLowerCase()}-AbCdEf`;
  if (name.endsWith('_URL')) return `https://sqs.eu-west-1.amazonaws.com/123456789012/${name.toLowerCase()}`;
  return `governor-${name.toLowerCase()}`;
}

/** The function's environment as Lambda would set it, with deploy-time references replaced by stand-ins. */
function lambdaEnvironment(fn: GovernorFunction): NodeJS.ProcessEnv {
  const cfn = fn.node.defaultChild as CfnFunction;
  const resolved = Stack.of(fn).resolve(cfn.environment) as
    | { variables?: Record<string, unknown> }
    | undefined;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: fn.node.id,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
  };
  for (const [name, value] of Object.entries(resolved?.variables ?? {})) {
    env[name] = typeof value === 'string' && !Token.isUnresolved(value) ? value : standIn(name);
  }
  // Offline, the hash secret cannot be fetched from Secrets Manager: given instead (the fetch, one call
  // at cold start, is not part of the figure).
  if (env.GOVERNOR_HASH_SECRET_ARN) env.GOVERNOR_HASH_SECRET = 'bench-bundles-hash-secret-0123456789abcdef';
  // The flags are passed explicitly below, with and without source maps.
  env.NODE_OPTIONS = '';
  return env;
}

/** One fresh process: the wall and CPU time of `await import(bundle)`, measured inside it. */
async function importOnce(file: string, env: NodeJS.ProcessEnv, sourceMaps: boolean): Promise<Timing> {
  const script = [
    'const c0 = process.cpuUsage(); const t0 = performance.now();',
    `const m = await import(${JSON.stringify(pathToFileURL(file).href)});`,
    'const wallMs = performance.now() - t0; const c = process.cpuUsage(c0);',
    "if (typeof m.handler !== 'function') throw new Error('the bundle exports no handler function');",
    'console.log(JSON.stringify({ wallMs, cpuMs: (c.user + c.system) / 1000 }));',
  ].join('\n');
  const args = [...(sourceMaps ? ['--enable-source-maps'] : []), '--input-type=module', '-e', script];
  const { stdout } = await run(process.execPath, args, { env });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Timing;
}

async function measure(fn: GovernorFunction, outdir: string): Promise<Row> {
  const cfn = fn.node.defaultChild as CfnFunction;
  const code = Stack.of(fn).resolve(cfn.code) as { s3Key?: string };
  const hash = code.s3Key?.replace(/\.zip$/, '');
  if (!hash) throw new Error(`${fn.node.path}: no asset`);
  const file = join(outdir, `asset.${hash}`, 'index.mjs');
  const row: Row = {
    name: fn.node.id,
    entry: fn.entryModule,
    bytes: statSync(file).size,
    mapBytes: statSync(`${file}.map`).size,
    withMaps: { wallMs: Number.NaN, cpuMs: Number.NaN },
    withoutMaps: { wallMs: Number.NaN, cpuMs: Number.NaN },
  };
  try {
    const env = lambdaEnvironment(fn);
    const maps: Timing[] = [];
    const noMaps: Timing[] = [];
    for (let i = 0; i < RUNS; i++) {
      maps.push(await importOnce(file, env, true));
      noMaps.push(await importOnce(file, env, false));
    }
    const summary = (timings: Timing[]) => ({
      wallMs: median(timings.map((t) => t.wallMs)),
      cpuMs: median(timings.map((t) => t.cpuMs)),
    });
    row.withMaps = summary(maps);
    row.withoutMaps = summary(noMaps);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    row.error = (stderr.split('\n').find((line) => /Error/.test(line)) ?? stderr.slice(0, 200)).trim();
  }
  return row;
}

const meetsTargets = (r: Row) => r.bytes < MAX_BYTES && r.withMaps.cpuMs < MAX_INIT_MS;

async function main() {
  const outdir = mkdtempSync(join(tmpdir(), 'governor-bench-'));
  try {
    const app = new App({ outdir });
    const { stateless } = addGovernor(app);
    app.synth();
    const functions = stateless.node
      .findAll()
      .filter((c): c is GovernorFunction => c instanceof GovernorFunction);
    const rows: Row[] = [];
    for (const fn of functions) rows.push(await measure(fn, outdir));

    const kb = (n: number) => `${(n / 1000).toFixed(1)} kB`;
    const ms = (n: number) => `${n.toFixed(0)} ms`;
    console.log(
      `\nBundles and cold-start init: median of ${RUNS} fresh processes, Node ${process.version}, ` +
        `load average ${loadavg()[0]?.toFixed(1)}. Targets: bundle < ${kb(MAX_BYTES)}, ` +
        `init CPU < ${MAX_INIT_MS} ms with source maps (as deployed).\n`,
    );
    console.table(
      rows.map((r) => ({
        function: r.name,
        entry: r.entry,
        bundle: kb(r.bytes),
        'source map': kb(r.mapBytes),
        'init CPU': ms(r.withMaps.cpuMs),
        'init wall': ms(r.withMaps.wallMs),
        'CPU w/o maps': ms(r.withoutMaps.cpuMs),
        'wall w/o maps': ms(r.withoutMaps.wallMs),
        ok: meetsTargets(r) ? 'yes' : 'NO',
      })),
    );
    for (const r of rows) if (r.error) console.error(`${r.name} did not load: ${r.error}`);
    const missed = rows.filter((r) => !meetsTargets(r));
    if (missed.length > 0) {
      console.error(`Targets missed by: ${missed.map((r) => r.name).join(', ')}`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

await main();
