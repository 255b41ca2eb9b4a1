/**
 * The README stays true: its shell examples are taken from the file itself and run, as written, with
 * `sh` against a fresh local stack, as a new user would copy them (GOV and KEY set as the README says).
 * Every request they make goes through Prism, validating it and its answer against the served OpenAPI
 * document: a block fails when it exits non-zero, when one of its calls is answered with an error, or
 * when an answer is not of the documented shape. The webhook receiver the README shows is run too, and
 * must accept what Governor signs and refuse a tampered or old request.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeaders } from '#shared/adapters/providers/webhook.ts';
import { startTestStack, type TestStack } from '#test/support/local-stack.ts';
import { type PrismProxy, startPrismProxy, type Violation } from '#test/support/prism.ts';

const ROOT = process.cwd();

interface Block {
  line: number;
  code: string;
}

/** The fenced code blocks of a language in a Markdown text (indented ones, in list items, dedented). */
function codeBlocks(markdown: string, language: string): Block[] {
  const blocks: Block[] = [];
  const fence = new RegExp(`^( *)\`\`\`${language}\\n([\\s\\S]*?)^\\1\`\`\`$`, 'gm');
  for (const match of markdown.matchAll(fence)) {
    const indent = match[1] ?? '';
    const code = (match[2] ?? '')
      .split('\n')
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
      .join('\n');
    blocks.push({ line: markdown.slice(0, match.index).split('\n').length, code });
  }
  return blocks;
}

/** The examples a user runs against a Governor: those that call it (curl on $GOV, report, dlq). */
const runnable = (block: Block) => /\$GOV|npm run report|local\/dlq\.ts/.test(block.code);

interface Exchange {
  request: string;
  status: number;
  violations: Violation[];
}

let stack: TestStack;
let prism: PrismProxy;
let recorder: Server;
let recorderUrl: string;
let folder: string;
let workdir: string;
const exchanges: Exchange[] = [];

/** A proxy in front of Prism that remembers each exchange (status and Prism's verdict). */
async function startRecorder(): Promise<void> {
  recorder = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(
          ([name]) => !['host', 'connection', 'content-length', 'expect', 'transfer-encoding'].includes(name),
        ),
      ) as Record<string, string>;
      const body = Buffer.concat(chunks);
      const response = await fetch(new URL(req.url ?? '/', prism.url), {
        method: req.method ?? 'GET',
        headers,
        body: body.length > 0 ? body : null,
      });
      const answer = Buffer.from(await response.arrayBuffer());
      exchanges.push({
        request: `${req.method} ${req.url}`,
        status: response.status,
        violations: prism.violations(response.headers),
      });
      const out = Object.fromEntries(
        [...response.headers].filter(
          ([name]) => !['content-length', 'transfer-encoding', 'connection'].includes(name),
        ),
      );
      res.writeHead(response.status, out).end(answer);
    });
  });
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
  recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
}

/**
 * A user's shell: no GOVERNOR_* variable of its own, only the data folder of the Governor it started
 * (npm start's default is .governor/ in the project; here the test stack's).
 */
function userEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('GOVERNOR_') || name === 'PORT' || name.startsWith('npm_config_loglevel')) continue;
    env[name] = value;
  }
  return { ...env, GOVERNOR_DATA_DIR: stack.dataDir };
}

const isSetup = (block: Block) => /^export GOV=/m.test(block.code);

/**
 * The README's setup block (`export GOV=… KEY=<the admin key npm start printed>`), with this stack's URL
 * and key in place of the local default and the placeholder: what a user runs once, before the examples.
 */
function setupOf(readme: string): string {
  const [setup] = codeBlocks(readme, 'sh').filter(isSetup);
  if (!setup) throw new Error('the README has no block exporting GOV');
  return setup.code
    .replace('http://127.0.0.1:3000', recorderUrl)
    .replace('<the admin key npm start printed>', stack.adminKey);
}

function sh(code: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'sh',
      ['-e', '-c', code],
      { cwd: workdir, env: userEnvironment(), timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({
          code: error ? Number((error as { code?: number }).code ?? 1) : 0,
          output: `${stdout}${stderr}`,
        }),
    );
  });
}

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'governor-readme-'));
  // A folder of the user's own, beside a copy of the project (links), so that the files the examples
  // write (suppressed.csv, policy-v0.json) stay out of the repository.
  workdir = join(folder, 'governor');
  await mkdir(workdir);
  for (const name of await readdir(ROOT))
    if (name !== '.git') await symlink(join(ROOT, name), join(workdir, name));
  stack = await startTestStack();
  prism = await startPrismProxy(stack.url, folder);
  await startRecorder();
  // What npm start writes for the tools that talk to it (npm run report, local/dlq.ts).
  await writeFile(
    join(stack.dataDir, 'endpoints.json'),
    JSON.stringify({ url: recorderUrl, ...stack.engines.env, pid: process.pid }),
  );
});

afterAll(async () => {
  recorder?.close();
  await prism?.stop();
  await stack?.stop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe('the README', () => {
  it('runs every shell example that calls Governor, as written, without an error or an undocumented answer', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const setup = setupOf(readme);
    const blocks = codeBlocks(readme, 'sh').filter((b) => runnable(b) && !isSetup(b));
    expect(blocks.length).toBeGreaterThanOrEqual(8);

    const check = (ran: Block[], outcomes: { code: number; output: string }[]) => {
      const where = ran
        .map(
          (b, i) => `README.md:${b.line} (${b.code.split('\n')[0]})\n${outcomes[i]?.output.slice(0, 2000)}`,
        )
        .join('\n');
      for (const [i, { code }] of outcomes.entries()) expect(code, where.split('\nREADME.md:')[i]).toBe(0);
      for (const exchange of exchanges) {
        const detail = `${where}\n${exchange.request} → ${exchange.status} ${JSON.stringify(exchange.violations)}`;
        expect(exchange.status, detail).toBeLessThan(400);
        expect(exchange.violations, detail).toEqual([]);
      }
      exchanges.length = 0;
    };
    // The curl examples in order (they build on one another: a policy read, then changed); then the
    // command-line ones, which do not touch each other, at once (each starts npm or tsx, which is slow).
    const tool = (b: Block) => /npm run report|local\/dlq\.ts/.test(b.code);
    for (const block of blocks.filter((b) => !tool(b))) {
      const outcome = await sh(`${setup}\n${block.code}`);
      expect(exchanges.length, `README.md:${block.line} calls nothing`).toBeGreaterThan(0);
      check([block], [outcome]);
    }
    const tools = blocks.filter(tool);
    check(tools, await Promise.all(tools.map((block) => sh(`${setup}\n${block.code}`))));

    // npm run report -- … --csv > suppressed.csv: a CSV file, header first, no npm banner.
    const csv = await readFile(join(workdir, 'suppressed.csv'), 'utf8');
    expect(csv.split('\r\n')[0]).toBe('reason,channel,count,avoidedCost,currency');
    // Dozens of shell blocks, one after another, each starting node: a bound on a hang, not on speed.
  }, 240_000);

  describe('webhook receiver example', () => {
    let receiver: ChildProcess;
    let url: string;
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

    beforeAll(async () => {
      const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
      const [snippet] = codeBlocks(readme, 'js').filter((b) => b.code.includes('standardwebhooks'));
      expect(snippet).toBeDefined();
      await writeFile(join(workdir, 'receiver.mjs'), snippet?.code ?? '');
      const port = await new Promise<number>((resolve) => {
        const probe = createServer().listen(0, '127.0.0.1', () => {
          const { port: free } = probe.address() as AddressInfo;
          probe.close(() => resolve(free));
        });
      });
      receiver = spawn(process.execPath, [join(workdir, 'receiver.mjs')], {
        cwd: workdir,
        env: { ...process.env, PORT: String(port), GOVERNOR_WEBHOOK_SECRET: secret },
        stdio: 'ignore',
      });
      url = `http://127.0.0.1:${port}/`;
      // Listening once a connection goes through.
      for (let tries = 0; ; tries++) {
        const up = await new Promise<boolean>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => socket.end(() => resolve(true)));
          socket.on('error', () => resolve(false));
        });
        if (up) break;
        if (tries > 200) throw new Error('the README receiver did not listen');
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    afterAll(() => {
      receiver?.kill();
    });

    const post = (body: string, headers: Record<string, string>) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then(
        (r) => r.status,
      );

    it('accepts what Governor signs, and refuses a tampered body or a replay of an old request', async () => {
      const body = JSON.stringify({ messageId: 'msg-1', customerId: 'c-1', channel: 'email', payload: {} });

      const fresh = await post(body, signatureHeaders('msg-1', body, secret, Date.now()));
      const tampered = await post(
        body.replace('c-1', 'c-2'),
        signatureHeaders('msg-1', body, secret, Date.now()),
      );
      const old = await post(body, signatureHeaders('msg-1', body, secret, Date.now() - 10 * 60_000));

      expect([fresh, tampered, old]).toEqual([204, 401, 401]);
    });
  });
});
