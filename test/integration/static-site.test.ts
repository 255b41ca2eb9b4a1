/**
 * StaticSite against a real folder: files read once and served by name only, with their content type,
 * ETag and whether their name carries a content hash; a folder not built yet is read again later.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StaticSite } from '#shared/adapters/static-site.ts';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'governor-site-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('StaticSite', () => {
  it('serves each file by its name in the folder, with its type and whether it may be cached for good', async () => {
    const site = join(root, 'dist');
    await mkdir(join(site, 'assets'), { recursive: true });
    await writeFile(join(site, 'index.html'), '<!doctype html>');
    await writeFile(join(site, 'app-ABCD2345.js'), 'export {}');
    await writeFile(join(site, 'assets', 'logo.svg'), '<svg/>');
    await writeFile(join(site, 'notes.bin'), 'x');

    const files = new StaticSite(site);

    expect(await files.file('index.html')).toMatchObject({
      body: '<!doctype html>',
      contentType: 'text/html; charset=utf-8',
      immutable: false,
      etag: expect.stringMatching(/^"[\w-]{27}"$/),
    });
    expect(await files.file('app-ABCD2345.js')).toMatchObject({
      contentType: 'text/javascript; charset=utf-8',
      immutable: true,
    });
    expect((await files.file('assets/logo.svg'))?.contentType).toBe('image/svg+xml');
    expect(await files.file('notes.bin')).toBeUndefined();
    for (const name of ['../dist/index.html', '/index.html', 'assets/../index.html', '__proto__', '']) {
      expect(await files.file(name), name).toBeUndefined();
    }
  });

  it('fails while the folder is missing, and serves it once it is built, without a restart', async () => {
    const site = join(root, 'later');
    const files = new StaticSite(site);

    await expect(files.file('index.html')).rejects.toThrow();
    await mkdir(site);
    await writeFile(join(site, 'index.html'), 'built');

    expect((await files.file('index.html'))?.body).toBe('built');
  });
});
