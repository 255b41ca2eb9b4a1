/**
 * A folder of built files (the console), read once into memory and served by name: nothing on disk is
 * ever reached from a request's path, so no path can leave the folder. Text files only (the build emits
 * HTML, JavaScript, CSS, SVG and source maps).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';

export interface StaticFile {
  /** The path inside the folder, with `/` separators: `index.html`, `app-3F2K.js`. */
  name: string;
  body: string;
  contentType: string;
  /** Strong ETag of the content. */
  etag: string;
  /** Whether the name carries a content hash, so that the file may be cached for good. */
  immutable: boolean;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** esbuild's `[name]-[hash]` file names: an 8-character base32 hash before the extension. */
const HASHED = /-[A-Z0-9]{8}\.[a-z]+(\.map)?$/;

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

export class StaticSite {
  private loading: Promise<Map<string, StaticFile>> | undefined;

  constructor(private readonly folder: string) {}

  /** The file called `name`; undefined when there is none. Throws when the folder cannot be read. */
  async file(name: string): Promise<StaticFile | undefined> {
    return (await this.load()).get(name);
  }

  private load(): Promise<Map<string, StaticFile>> {
    // A failed read (the folder not built yet) is not remembered: the next request reads again.
    this.loading ??= this.read().catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }

  private async read(): Promise<Map<string, StaticFile>> {
    const files = new Map<string, StaticFile>();
    for (const path of await filesUnder(this.folder)) {
      const contentType = CONTENT_TYPES[extname(path)];
      if (!contentType) continue;
      const body = await readFile(path, 'utf8');
      const name = relative(this.folder, path).split(sep).join('/');
      files.set(name, {
        name,
        body,
        contentType,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        immutable: HASHED.test(name),
      });
    }
    return files;
  }
}
