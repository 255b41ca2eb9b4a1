/**
 * The secrets the local stack keeps in its data folder (the bootstrap admin key): generated once, the
 * same at every later start, readable by their owner only, and one value even when several processes
 * of a stack ask at the same moment.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureLocalSecret, localSecretFile } from '#local/secrets.ts';

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-secrets-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** ensureLocalSecret in a process of its own (as each process of `npm start` would call it). */
function inAnotherProcess(name: string): Promise<string> {
  const secrets = new URL('../../local/secrets.ts', import.meta.url).href;
  const code = `const { ensureLocalSecret } = await import(${JSON.stringify(secrets)});
    process.stdout.write(await ensureLocalSecret(${JSON.stringify(dataDir)}, ${JSON.stringify(name)}));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exited with ${code}`))));
  });
}

describe('ensureLocalSecret', () => {
  it('generates a secret once and gives the same one back on every later call', async () => {
    const first = await ensureLocalSecret(dataDir, 'admin-key');
    const again = await ensureLocalSecret(dataDir, 'admin-key');

    expect(first).toMatch(/^[\w-]{43}$/);
    expect(again).toBe(first);
    expect(await ensureLocalSecret(dataDir, 'hash-secret')).not.toBe(first);
  });

  it('keeps it readable by its owner only', async () => {
    await ensureLocalSecret(dataDir, 'admin-key');

    expect((await stat(join(dataDir, 'secrets', 'admin-key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, 'secrets'))).mode & 0o777).toBe(0o700);
  });

  it('settles on one value when several processes ask for it at once', async () => {
    const values = await Promise.all(Array.from({ length: 4 }, () => inAnotherProcess('admin-key')));

    expect(new Set(values).size).toBe(1);
    expect(await ensureLocalSecret(dataDir, 'admin-key')).toBe(values[0]);
    expect(await readdir(join(dataDir, 'secrets'))).toEqual(['admin-key']);
  });

  it('makes a file others could read readable by its owner only', async () => {
    await ensureLocalSecret(dataDir, 'hash-secret');
    await writeFile(localSecretFile(dataDir, 'hash-secret'), 'x'.repeat(40));
    await chmod(localSecretFile(dataDir, 'hash-secret'), 0o644);

    expect(await ensureLocalSecret(dataDir, 'hash-secret')).toBe('x'.repeat(40));
    expect((await stat(localSecretFile(dataDir, 'hash-secret'))).mode & 0o777).toBe(0o600);
  });

  it('refuses a file that holds no secret rather than starting with a weak one', async () => {
    await ensureLocalSecret(dataDir, 'hash-secret');
    await writeFile(localSecretFile(dataDir, 'hash-secret'), '\n');

    await expect(ensureLocalSecret(dataDir, 'hash-secret')).rejects.toThrow(/holds no secret/);
  });
});
