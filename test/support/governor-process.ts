/**
 * `npm start` as a child process, for tests that kill it: starts local/main.ts (the supervisor and its
 * engines, API instances and workers) on a free port and a data folder, resolves once it serves, and can
 * be killed with any signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface GovernorProcess {
  url: string;
  /** The admin key it printed. */
  adminKey: string;
  /** The supervisor (`npm start`'s own process). */
  child: ChildProcess;
  /** The process ids it printed: engines, API instances, workers. */
  pids: { engines: number; api: number[]; workers: number };
  output: string[];
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
  /** Resolves once its output matches `pattern` (rejects after `timeoutMs`). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

export async function startGovernorProcess(
  env: Record<string, string>,
  args: string[] = [],
): Promise<GovernorProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts', ...args], {
    cwd: process.cwd(),
    env: { ...process.env, PORT: '0', GOVERNOR_LOG_REQUESTS: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const listeners = new Set<() => void>();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const collect = (chunk: Buffer) => {
    output.push(chunk.toString('utf8'));
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const waitForOutput = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output.join(''));
        if (!match) return;
        done();
        resolve(match);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${pattern} in the output within ${timeoutMs} ms:\n${output.join('')}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  const served = waitForOutput(/SQS: /, 120_000);
  const early = exited.then((code) => {
    throw new Error(`Governor exited (${code}) before serving:\n${output.join('')}`);
  });
  await Promise.race([served, early]);
  early.catch(() => undefined);
  const text = output.join('');
  const processes =
    /Processes: engines pid (\d+), API .*?\(pid ([\d, ]+)\) on one port, workers pid (\d+)/.exec(text);
  return {
    url: /Governor listening on (http:\/\/\S+)/.exec(text)?.[1] ?? '',
    adminKey: /Admin key: (\S+)/.exec(text)?.[1] ?? '',
    child,
    pids: {
      engines: Number(processes?.[1]),
      api: (processes?.[2] ?? '').split(', ').map(Number),
      workers: Number(processes?.[3]),
    },
    output,
    exited,
    kill(signal) {
      child.kill(signal);
      return exited;
    },
    waitForOutput,
  };
}
