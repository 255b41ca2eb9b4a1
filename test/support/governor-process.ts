/**
 * `npm start` as a child process, for tests that kill it: starts local/main.ts on a free port and a data
 * folder, resolves once it serves, and can be killed with any signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface GovernorProcess {
  url: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export async function startGovernorProcess(env: Record<string, string>): Promise<GovernorProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
    cwd: process.cwd(),
    env: { ...process.env, PORT: '0', GOVERNOR_LOG_REQUESTS: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Governor did not start:\n${output.join('')}`)), 60_000);
    const read = (chunk: Buffer) => {
      output.push(chunk.toString('utf8'));
      const text = output.join('');
      const match = /Governor listening on (http:\/\/\S+)/.exec(text);
      if (match?.[1] && /SQS: /.test(text)) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`Governor exited (${code}) before serving:\n${output.join('')}`));
    });
  });
  return {
    url,
    child,
    output,
    exited,
    kill(signal) {
      child.kill(signal);
      return exited;
    },
  };
}
