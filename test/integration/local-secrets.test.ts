/** The local stack's secrets on a real file system: made once, kept, readable by their owner only. */
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

describe('ensureLocalSecret', () => {
  it('generates a secret once, in a file of mode 0600, and gives it back at every start', async () => {
    // Act
    const first = await ensureLocalSecret(dataDir, 'hash-secret');
    const again = await ensureLocalSecret(dataDir, 'hash-secret');

    // Assess
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(again).toBe(first);
    expect((await stat(localSecretFile(dataDir, 'hash-secret'))).mode & 0o777).toBe(0o600);
  });

  it('gives processes starting at once the same secret, and leaves no file aside', async () => {
    const secrets = await Promise.all(Array.from({ length: 20 }, () => ensureLocalSecret(dataDir, 'shared')));

    expect(new Set(secrets).size).toBe(1);
    expect(await readdir(join(dataDir, 'secrets'))).toEqual(['shared']);
  });

  it('keeps each name apart', async () => {
    expect(await ensureLocalSecret(dataDir, 'a')).not.toBe(await ensureLocalSecret(dataDir, 'b'));
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
