import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { App, Stack } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESM_REQUIRE_BANNER, GovernorFunction } from '../../infra/constructs/governor-function.ts';
import { consoleBuildCommands } from '../../infra/stacks/stateless-stack.ts';

const run = promisify(execFile);

let outdir: string;
let bundle: string;
let consoleBundle: string;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'governor-bundle-'));
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'Bundling');
  const fn = new GovernorFunction(stack, 'Health', { entry: 'functions/health/handler.ts' });
  // As the stateless stack builds the console's function (infra/routes.ts: servesConsole).
  const consoleFn = new GovernorFunction(stack, 'Console', {
    entry: 'functions/console/handler.ts',
    environment: { GOVERNOR_CONSOLE_DIR: 'console' },
    afterBundling: consoleBuildCommands,
  });
  app.synth();
  const folderOf = (f: GovernorFunction) => {
    const { s3Key } = stack.resolve((f.node.defaultChild as CfnFunction).code) as { s3Key: string };
    return join(outdir, `asset.${s3Key.replace(/\.zip$/, '')}`);
  };
  bundle = folderOf(fn);
  consoleBundle = folderOf(consoleFn);
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('GovernorFunction bundling', () => {
  it('ships one minified ESM file, with a source map and a require for the CommonJS code inside', () => {
    expect(readdirSync(bundle).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const code = readFileSync(join(bundle, 'index.mjs'), 'utf8');
    expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    expect(code).toContain('\n//# sourceMappingURL=index.mjs.map');
    const lines = code.split('\n');
    expect(code.length / lines.length).toBeGreaterThan(1000); // minified: long lines
  });

  it('bundles the AWS SDK instead of relying on the one of the Lambda runtime', () => {
    expect(existsSync(join(bundle, 'node_modules'))).toBe(false);
    expect(readFileSync(join(bundle, 'index.mjs'), 'utf8')).toContain('DynamoDBClient');
  });

  it('loads in a fresh Node process and exports the handler', async () => {
    const script = `const m = await import(${JSON.stringify(pathToFileURL(join(bundle, 'index.mjs')).href)}); console.log(typeof m.handler);`;
    const { stdout } = await run(
      process.execPath,
      ['--enable-source-maps', '--input-type=module', '-e', script],
      {
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'eu-west-1',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      },
    );

    expect(stdout.trim()).toBe('function');
  });
});

describe("the console function's bundle", () => {
  it('carries the console, built when CDK bundles it, beside the handler', () => {
    const files = readdirSync(join(consoleBundle, 'console')).sort();

    expect(files).toHaveLength(4);
    expect(files.some((f) => /^app-[A-Z0-9]{8}\.js$/.test(f))).toBe(true);
    expect(files.some((f) => /^styles-[A-Z0-9]{8}\.css$/.test(f))).toBe(true);
    expect(files).toContain('index.html');
    expect(files).toContain('favicon.svg');
  });

  it('serves the console page from its own files in a fresh Node process, as Lambda runs it', async () => {
    const event = {
      version: '2.0',
      routeKey: 'GET /console',
      rawPath: '/console',
      headers: {},
      requestContext: {},
    };
    const script = `const m = await import(${JSON.stringify(pathToFileURL(join(consoleBundle, 'index.mjs')).href)});
const r = await m.handler(${JSON.stringify(event)}, { getRemainingTimeInMillis: () => 1000, functionName: 'console', awsRequestId: 'r' });
console.log(JSON.stringify({ status: r.statusCode, csp: r.headers['content-security-policy'], page: r.body.slice(0, 200) }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: consoleBundle,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'eu-west-1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        GOVERNOR_CONSOLE_DIR: 'console',
      },
    });
    const answer = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');

    expect(answer.status).toBe(200);
    expect(answer.csp).toMatch(/^default-src 'none'; script-src 'self'/);
    expect(answer.page).toContain('<!doctype html>');
  });
});
