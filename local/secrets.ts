/**
 * The local stack's secrets (the hash secret, the admin key): generated once, kept in the data folder
 * (a file readable by its owner only) so that a restart on the same data keeps them — the idempotency
 * keys and references already stored were made with them.
 */
import { randomBytes } from 'node:crypto';
import { access, chmod, link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** `<dataDir>/secrets/<name>`. */
export const localSecretFile = (dataDir: string, name: string) => join(dataDir, 'secrets', name);

const NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * The secret `name` of this data folder: read from its file, or generated (32 random bytes, base64url:
 * 43 characters) and written with mode 0600 if there is none yet. Two processes starting at once on one
 * folder get the same secret: the file appears whole and at once (written aside, then linked to its
 * name, which fails if it exists), and the one that loses reads the other's.
 */
export async function ensureLocalSecret(dataDir: string, name: string): Promise<string> {
  if (!NAME.test(name)) throw new Error(`not a secret name: ${name}`);
  const file = localSecretFile(dataDir, name);
  if (!(await exists(file))) {
    await mkdir(join(dataDir, 'secrets'), { recursive: true, mode: 0o700 });
    const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      await writeFile(aside, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
      await link(aside, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await rm(aside, { force: true });
    }
  }
  // Whoever wrote it, only its owner may read it (a copied data folder may have lost the mode).
  await chmod(file, 0o600);
  const secret = (await readFile(file, 'utf8')).trim();
  if (secret.length < 32) {
    throw new Error(`${file} holds no secret (it is empty or shorter than 32 characters): remove it`);
  }
  return secret;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
