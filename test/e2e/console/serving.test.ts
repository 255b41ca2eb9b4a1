/**
 * The console served at /console: a page whose only script and stylesheet are its own hashed files,
 * with its strict policy; and the console's API types, which must be generated from the document the
 * API serves.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, consoleUrl } from '#shared/console.ts';
import { buildConsole } from '../../../console/build.ts';
import { API_TYPES_FILE, apiTypes } from '../../../console/scripts/api-types.ts';
import { startTestStack, type TestStack } from '../../support/local-stack.ts';

let stack: TestStack;
let built: string;

beforeAll(async () => {
  built = await mkdtemp(join(tmpdir(), 'governor-console-'));
  await buildConsole({ outdir: built });
  stack = await startTestStack({ env: { GOVERNOR_CONSOLE_DIR: built } });
});

afterAll(async () => {
  await stack?.stop();
  await rm(built, { recursive: true, force: true });
});

describe('the console served at /console', () => {
  it('is a page whose only script and stylesheet are its own files: no inline script or style', async () => {
    const page = await stack.request('GET', '/console', { headers: { authorization: undefined } });

    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toMatch(/^default-src 'none'/);
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.text).not.toMatch(/<style|style=|<script(?![^>]*\bsrc=)/);
    expect(page.text).not.toMatch(/https?:\/\//);
    const files = [...page.text.matchAll(/(?:src|href)="(console\/[^"]+)"/g)].map((m) => m[1]);
    expect(files).toHaveLength(3);
    for (const file of files) {
      const asset = await stack.request('GET', `/${file}`, { headers: { authorization: undefined } });
      expect(asset.status, file).toBe(200);
      if (!file?.endsWith('.svg')) {
        expect(asset.headers.get('cache-control'), file).toBe('public, max-age=31536000, immutable');
      }
    }
  });

  it('answers a file it does not have with a 404 problem, a path out of its folder included', async () => {
    for (const path of [
      '/console/nope.js',
      '/console/..%2Fbuild.ts',
      '/console/%2E%2E/%2E%2E/package.json',
    ]) {
      const response = await stack.request('GET', path, { headers: { authorization: undefined } });

      expect(response.status, path).toBe(404);
      expect(response.headers.get('content-type'), path).toBe('application/problem+json');
    }
  });

  it('has its URL on the API origin', () => {
    expect(consoleUrl('http://127.0.0.1:3000')).toBe('http://127.0.0.1:3000/console');
    expect(consoleUrl('https://abc.execute-api.eu-west-1.amazonaws.com/')).toBe(
      'https://abc.execute-api.eu-west-1.amazonaws.com/console',
    );
  });
});

describe("the console's API types", () => {
  it('are generated from the OpenAPI document the API serves (npm run console:api regenerates them)', async () => {
    const served = (
      await stack.request('GET', '/openapi.json', { headers: { authorization: undefined } })
    ).json();

    const generated = await apiTypes(served);

    expect(await readFile(API_TYPES_FILE, 'utf8'), 'run npm run console:api').toBe(generated);
  });
});
