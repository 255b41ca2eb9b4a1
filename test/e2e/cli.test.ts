/**
 * The project's commands as an operator or a finance analyst types them: each answers --help, refuses a
 * bad option in one line (exit 2, no stack trace), and `npm run report -- … --csv > f.csv` writes a clean
 * CSV file, with no npm banner and no live formula, from the local stack `npm start` advertises in its
 * data folder.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daysSince, utcDay } from '../support/calendar.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const run = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command in the project folder; resolves with its exit code and output whatever the code. */
async function command(file: string, args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(file, args, {
      cwd: process.cwd(),
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof code === 'number' ? code : -1, stdout: stdout ?? '', stderr: stderr ?? '' };
  }
}

const tsx = (script: string, args: string[], env?: Record<string, string>) =>
  command(process.execPath, ['--import', 'tsx', script, ...args], env);

const COMMANDS = [
  ['report', 'scripts/report.ts'],
  ['dry-run', 'scripts/dry-run.ts'],
  ['simulate', 'bench/simulate.ts'],
  ['bench', 'bench/decisions.ts'],
  ['bench:delivery', 'bench/delivery.ts'],
  ['bench:bundles', 'bench/bundles.ts'],
  ['dlq', 'local/dlq.ts'],
] as const;

describe('every command', () => {
  it.each(COMMANDS)('%s answers --help with its usage and options, exit 0', async (_name, script) => {
    const { code, stdout, stderr } = await tsx(script, ['--help']);

    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^Usage: /);
    expect(stdout).toContain('-h, --help');
  });

  // The commands share their parsing (scripts/cli.ts): three of them stand for all.
  it.each(COMMANDS.filter(([name]) => ['report', 'bench', 'dlq'].includes(name)))(
    '%s refuses an unknown option in one line, exit 2',
    async (name, script) => {
      const { code, stdout, stderr } = await tsx(script, ['--no-such-option']);

      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toBe(`${name}: unknown option --no-such-option (see --help)\n`);
    },
  );

  it('refuses a bad value in one line too', async () => {
    const { code, stderr } = await tsx('bench/decisions.ts', ['--rounds', 'many']);

    expect(code).toBe(2);
    expect(stderr).toBe('bench: --rounds must be an integer in [1, 100] (see --help)\n');
  });
});

describe('npm start with an invalid GOVERNOR_* value', () => {
  it('says which variable is wrong and why, one line each, and exits 1', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'governor-badconf-'));
    const { code, stderr } = await tsx('local/main.ts', [], {
      PORT: '0',
      GOVERNOR_DATA_DIR: dataDir,
      GOVERNOR_POLICY_TTL_MS: 'abc',
      GOVERNOR_KEY_CACHE_TTL_MS: '400000',
    }).finally(() => rm(dataDir, { recursive: true, force: true }));

    expect(code).toBe(1);
    expect(stderr).toContain('GOVERNOR_POLICY_TTL_MS: must be a number (got "abc")\n');
    expect(stderr).toContain('GOVERNOR_KEY_CACHE_TTL_MS: must be at most 300000 (got "400000")\n');
    expect(stderr).not.toMatch(/"code":|\n\s+at /);
  });
});

describe('npm run report', () => {
  let stack: TestStack;
  let folder: string;
  /** The day the message was sent: its count is on that day or, past midnight UTC, on the next. */
  let firstDay: string;
  const formula = '=HYPERLINK("http://evil.example","refund")';

  beforeAll(async () => {
    stack = await startTestStack();
    folder = await mkdtemp(join(tmpdir(), 'governor-report-'));
    // What npm start writes for the tools that talk to it.
    await writeFile(join(stack.dataDir, 'endpoints.json'), JSON.stringify({ url: stack.url }));
    firstDay = utcDay();
    // A message of a campaign named like a formula, suppressed (relevance below the default threshold).
    const sent = await stack.request('POST', '/v1/messages', {
      body: {
        messageId: 'r-1',
        customerId: 'r-c1',
        channel: 'email',
        campaignId: formula,
        relevance: 0.01,
        payload: {},
      },
    });
    expect(sent.json()).toMatchObject({ decision: 'suppressed' });
    // Counts wait in memory up to GOVERNOR_COUNT_FLUSH_MS; a reconcile writes them first, then finds none missing.
    const reconciled = await stack.request('POST', '/v1/reports/reconcile', {
      body: { days: daysSince(firstDay) },
    });
    expect(reconciled.status, reconciled.text).toBe(200);
  });

  afterAll(async () => {
    await stack?.stop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('writes a clean CSV with > f.csv, from the stack of the data folder, formulas neutralized', async () => {
    const file = join(folder, 'suppressed.csv');
    const { code, stderr } = await command(
      'sh',
      [
        '-c',
        `npm run report -- --from ${firstDay} --to ${utcDay()} --group-by campaign,reason --csv > ${file}`,
      ],
      { GOVERNOR_DATA_DIR: stack.dataDir, GOVERNOR_API_KEY: stack.adminKey },
    );

    expect(code, stderr).toBe(0);
    const csv = await readFile(file, 'utf8');
    expect(csv).toBe(
      'reason,campaignId,count,avoidedCost,currency\r\n' +
        `relevance_below_threshold,"'=HYPERLINK(""http://evil.example"",""refund"")",1,0.001,EUR\r\n`,
    );
  });

  it('writes the same file with --out', async () => {
    const file = join(folder, 'out.csv');
    const { code, stdout } = await tsx(
      'scripts/report.ts',
      ['--from', firstDay, '--to', utcDay(), '--group-by', 'campaign,reason', '--csv', '--out', file],
      { GOVERNOR_DATA_DIR: stack.dataDir, GOVERNOR_API_KEY: stack.adminKey },
    );

    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect((await readFile(file, 'utf8')).split('\r\n')[0]).toBe(
      'reason,campaignId,count,avoidedCost,currency',
    );
  });
});
