/**
 * Secrets of the local stack that must survive restarts (the bootstrap admin key, the hash secret):
 * generated once, kept in the data folder under `secrets/<name>` (mode 0600, the folder 0700), and read
 * back on every later start. Several processes of one stack may ask at once: the file is created
 * exclusively, so exactly one value is ever written and every caller reads that one.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

const NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** The secret `name` of the data folder, created (32 random bytes, base64url) on first use. */
export async function ensureLocalSecret(dataDir: string, name: string): Promise<string> {
  if (!NAME.test(name))
    throw new Error(`a local secret's name is lower-case letters, digits and dashes: ${name}`);
  const dir = join(dataDir, 'secrets');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  const existing = await readSecret(path);
  if (existing !== undefined) return existing;
  // Written to a temporary file, then linked into place only if nobody was first: a reader never sees
  // a half-written secret, and concurrent starts agree on one value.
  const value = randomBytes(32).toString('base64url');
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const file = await open(temporary, 'wx', 0o600);
  try {
    await file.writeFile(`${value}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await linkExclusive(temporary, path);
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  const stored = await readSecret(path);
  if (stored === undefined) throw new Error(`the local secret ${path} is empty`);
  await chmod(path, 0o600);
  return stored;
}

async function readSecret(path: string): Promise<string | undefined> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  const value = text?.trim();
  return value ? value : undefined;
}

/** Puts `from` at `to` unless `to` exists (then leaves `to` as it is): link(2) never replaces a file. */
async function linkExclusive(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
