/**
 * What an archive record weighs, measured on the archive a run wrote (the local layout, the format the
 * stream receives): its lines' bytes, and gzip-compressed per partition file as Firehose stores an object
 * per partition and buffer. The cost table (cost.ts) prices them per decision.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface ArchiveBytes {
  /** Lines (records) found. */
  lines: number;
  /** Bytes per line, its newline included. */
  bytesPerLine: number;
  /** Bytes per line once gzip-compressed. */
  storedBytesPerLine: number;
}

/** Measures every `.jsonl` file under `dir`; undefined when there is none (nothing archived). */
export async function measureArchive(dir: string | undefined): Promise<ArchiveBytes | undefined> {
  if (!dir) return undefined;
  const files = (await readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((f) =>
    f.endsWith('.jsonl'),
  );
  let lines = 0;
  let bytes = 0;
  let stored = 0;
  for (const file of files) {
    const data = await readFile(join(dir, file));
    for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) lines++;
    bytes += data.length;
    stored += gzipSync(data).length;
  }
  if (lines === 0) return undefined;
  return { lines, bytesPerLine: bytes / lines, storedBytesPerLine: stored / lines };
}
