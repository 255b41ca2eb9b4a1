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

const run = promisify(execFile);

let outdir: string;
let bundle: string;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'governor-bundle-'));
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'Bundling');
  const fn = new GovernorFunction(stack, 'Health', { entry: 'functions/health/handler.ts' });
  app.synth();
  const { s3Key } = stack.resolve((fn.node.defaultChild as CfnFunction).code) as { s3Key: string };
  bundle = join(outdir, `asset.${s3Key.replace(/\.zip$/, '')}`);
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
