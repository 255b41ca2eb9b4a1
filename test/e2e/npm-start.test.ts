/**
 * `npm start` as an operator runs it: its processes (engines, API instances sharing one port, workers),
 * the admin key it keeps in the data folder, what it does when one of its processes dies, and a clean
 * stop. Each start is local/main.ts in a child process on one data folder.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type GovernorProcess, startGovernorProcess } from '../support/governor-process.ts';

let dataDir: string;
let running: GovernorProcess | undefined;

const start = (env: Record<string, string> = {}, args: string[] = []) =>
  // GOVERNOR_ADMIN_KEY empty: as if unset, whatever the test runner's environment holds.
  startGovernorProcess({ GOVERNOR_DATA_DIR: dataDir, GOVERNOR_ADMIN_KEY: '', ...env }, args);

async function send(governor: GovernorProcess, messageId: string): Promise<number> {
  const response = await fetch(new URL('/v1/messages', governor.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${governor.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      messageId,
      customerId: `c-${messageId}`,
      channel: 'email',
      kind: 'transactional',
      payload: {},
    }),
  });
  await response.text();
  return response.status;
}

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-npm-start-'));
});

afterEach(async () => {
  // A test that failed half-way leaves its stack running: the next one needs the data folder.
  if (running && running.child.exitCode === null && running.child.signalCode === null)
    await running.kill('SIGTERM');
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('runs the API instances asked for on one port, replaces one that is killed, and stops cleanly', async () => {
    running = await start({}, ['--instances', '3']);
    const { pids } = running;
    expect(pids.api).toHaveLength(3);
    expect(new Set([pids.engines, pids.workers, ...pids.api]).size).toBe(5);
    expect(await send(running, 'before-kill')).toBe(200);

    process.kill(pids.api[1] ?? 0, 'SIGKILL');
    const [, replacement] = await running.waitForOutput(/API instance 2 replaced \(pid (\d+)\)/);

    expect(isRunning(Number(replacement))).toBe(true);
    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send(running!, `after-kill-${i}`)),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    const code = await running.kill('SIGTERM');
    expect(code, running.output.join('')).toBe(0);
    expect(running.output.join('')).toMatch(/Governor stopped/);
    for (const pid of [pids.engines, pids.workers, Number(replacement)]) expect(isRunning(pid)).toBe(false);
  }, 120_000);

  it('prints the same admin key at every start on one data folder, kept readable by its owner only', async () => {
    running = await start();
    const first = running.adminKey;
    expect(await running.kill('SIGTERM')).toBe(0);
    running = await start();

    expect(running.adminKey).toBe(first);
    expect(running.adminKey).toMatch(/^[\w-]{43}$/);
    expect((await stat(join(dataDir, 'secrets', 'admin-key'))).mode & 0o777).toBe(0o600);
    expect(await running.kill('SIGTERM')).toBe(0);
  }, 120_000);

  it('uses GOVERNOR_ADMIN_KEY when it is set', async () => {
    running = await start({ GOVERNOR_ADMIN_KEY: 'an-operator-chosen-admin-key-0123' });

    expect(running.adminKey).toBe('an-operator-chosen-admin-key-0123');
    expect(await send(running, 'with-the-env-key')).toBe(200);
    expect(await running.kill('SIGTERM')).toBe(0);
  }, 120_000);

  it('says so and exits non-zero when its engines process is killed, leaving no process behind', async () => {
    running = await start();
    const { pids } = running;

    process.kill(pids.engines, 'SIGKILL');
    const code = await running.exited;

    expect(code).toBe(1);
    expect(running.output.join('')).toMatch(
      /the engines process \(pid \d+: dynalite and fauxqs\) killed by SIGKILL/,
    );
    for (const pid of [pids.workers, ...pids.api]) expect(isRunning(pid)).toBe(false);
  }, 120_000);
});
