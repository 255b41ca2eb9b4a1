/**
 * What the commands that talk to a running Governor share (report, dry-run): where Governor is, which
 * key to use, one request with its problem+json printed readably, and plain text tables.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CliOption, usageError } from './cli.ts';

/** The URL of the local stack that `npm start` wrote in its data folder, if it did. */
function localUrl(): string | undefined {
  const file = join(resolve(process.env.GOVERNOR_DATA_DIR || '.governor/'), 'endpoints.json');
  try {
    const { url } = JSON.parse(readFileSync(file, 'utf8')) as { url?: unknown };
    return typeof url === 'string' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** The --url and --key options, for a command whose key needs `scope`. */
export function serverOptions(scope: string) {
  return {
    url: {
      type: 'string',
      placeholder: 'URL',
      default: process.env.GOVERNOR_URL || localUrl() || `http://127.0.0.1:${process.env.PORT || 3000}`,
      description: 'Governor (GOVERNOR_URL, else the local stack of GOVERNOR_DATA_DIR)',
    },
    key: {
      type: 'string',
      placeholder: 'KEY',
      description: `an API key with ${scope} (default: GOVERNOR_API_KEY or GOVERNOR_ADMIN_KEY)`,
    },
  } as const satisfies Record<string, CliOption>;
}

/** The key of --key, else of the environment; a usage error naming `scope` when there is none. */
export function apiKeyOf(command: string, option: string | undefined, scope: string): string {
  const key = option ?? process.env.GOVERNOR_API_KEY ?? process.env.GOVERNOR_ADMIN_KEY;
  if (!key) usageError(command, `set GOVERNOR_API_KEY (a key with ${scope}) or pass --key`);
  return key;
}

/** Prints `message` on stderr and exits 1 (the command failed, not its usage). */
export function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

/**
 * Requests of one Governor with one key. A refused request ends the command with its problem (status,
 * title, detail and each field error); an unreachable Governor too.
 */
export function governorApi(url: string, key: string) {
  return async (
    method: string,
    path: string,
    body?: unknown,
    accept = 'application/json',
  ): Promise<{ headers: Headers; text: string }> => {
    const response = await fetch(new URL(path, url), {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        accept,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : null,
    }).catch((error: Error) => fail(`cannot reach Governor at ${url}: ${error.message}`));
    const text = await response.text();
    if (!response.ok) {
      let problem: { title?: string; detail?: string; errors?: { path: string; message: string }[] } = {};
      try {
        problem = JSON.parse(text);
      } catch {
        // not a problem document: its text is the detail
      }
      const details = (problem.errors ?? []).map((e) => `\n  ${e.path}: ${e.message}`).join('');
      fail(`${response.status} ${problem.title ?? ''}: ${problem.detail ?? text}${details}`);
    }
    return { headers: response.headers, text };
  };
}

/**
 * A plain text table. A column is right-aligned when `right(column)` says so; by default, when every
 * cell of it is a number.
 */
export function table(
  header: string[],
  rows: (string | number)[][],
  right: (column: number) => boolean = (i) => rows.every((r) => typeof r[i] === 'number'),
): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((c, i) => (right(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ');
  return [
    line(cells[0] ?? []),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.slice(1).map(line),
  ].join('\n');
}
