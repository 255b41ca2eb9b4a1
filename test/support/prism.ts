/**
 * Prism (Stoplight's OpenAPI tool) as a validating proxy in front of a running Governor: every request
 * and response that goes through it is checked against the OpenAPI document the server serves, and what
 * does not conform is listed in the response's `sl-violations` header. Prism is a third party: it reads
 * the document as any client's tooling would, not through our own schemas.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface Violation {
  location: string[];
  severity: string;
  code?: string | number;
  message: string;
}

export interface PrismProxy {
  url: string;
  /** The violations Prism found in one exchange (request and response), from its `sl-violations` header. */
  violations(headers: Headers): Violation[];
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts Prism on a free port, proxying to `upstream`, with the document served at `upstream/openapi.json`. */
export async function startPrismProxy(upstream: string, folder: string): Promise<PrismProxy> {
  const document = await (await fetch(new URL('/openapi.json', upstream))).text();
  const file = join(folder, 'openapi.json');
  await writeFile(file, document);
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      'node_modules/@stoplight/prism-cli/dist/index.js',
      'proxy',
      file,
      upstream,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--cors',
      'false',
      '--errors',
      'false',
    ],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Prism did not start:\n${output.join('')}`)), 30_000);
    const read = (chunk: Buffer) => {
      output.push(chunk.toString('utf8'));
      if (/Prism is listening on/.test(output.join(''))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`Prism exited before listening:\n${output.join('')}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    violations(headers) {
      const header = headers.get('sl-violations');
      return header ? (JSON.parse(header) as Violation[]) : [];
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
