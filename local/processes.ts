/**
 * The parent side of `npm start`'s processes (see local/child.ts): fork one of the stack's modules (it
 * loads its code meanwhile), later send it `start` and wait for `ready`; stop it by asking, then by
 * SIGKILL to its own pid after a deadline. local/main.ts builds the stack from these; tests use them to
 * run a stack's processes one by one.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage } from './child.ts';

export type StackModule = 'engine-process' | 'api-process' | 'workers-process';

/** The path of one of the stack's process modules. */
export const modulePath = (module: StackModule) => fileURLToPath(new URL(`./${module}.ts`, import.meta.url));

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** A forked process of the stack, started or not. */
export interface StackChild<Ready> {
  name: string;
  process: ChildProcess;
  /** What it announced with `ready` (after `start` resolved). */
  ready: Ready;
  /** Resolves when the process has exited, with how. */
  exited: Promise<Exit>;
  /** Sends `start`; resolves once it is ready (rejects if it fails, exits, or stays silent). */
  start(options: Record<string, unknown>, timeoutMs?: number): Promise<StackChild<Ready>>;
  /** Asks it to stop; SIGKILL after `graceMs`. Resolves once it has exited. */
  stop(graceMs?: number): Promise<Exit>;
  /** Its process.memoryUsage(), asked over IPC; undefined if it does not answer within a second. */
  memory(): Promise<NodeJS.MemoryUsage | undefined>;
}

/**
 * Node's flags for a child that runs TypeScript: this process's own when tsx loads it (`npm start`),
 * else with tsx's loader added (a test runner with a loader of its own).
 */
export const typeScriptExecArgv = (): string[] =>
  process.execArgv.some((flag) => flag.includes('tsx'))
    ? process.execArgv
    : [...process.execArgv, '--import', 'tsx'];

/** Forks `module` (running TypeScript as this process does) with `env`. */
export function forkModule(module: StackModule, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return fork(modulePath(module), [], {
    env,
    execArgv: typeScriptExecArgv(),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/**
 * Takes charge of a child just forked (by `forkModule`, or `cluster.fork().process`). `onShutdown`
 * hears the stop requests it passes on (the signals it received).
 */
export function stackChild<Ready>(
  name: string,
  child: ChildProcess,
  { onShutdown }: { onShutdown?: (signal: NodeJS.Signals) => void } = {},
): StackChild<Ready> {
  const exited = new Promise<Exit>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let listening = false;
  const waiters: Array<() => void> = [];
  let onReady: ((message: ChildMessage) => void) | undefined;
  const memoryWaiters: Array<(usage: NodeJS.MemoryUsage) => void> = [];
  child.on('message', (message: ChildMessage) => {
    if (message?.type === 'listening') {
      listening = true;
      for (const wake of waiters.splice(0)) wake();
    } else if (message?.type === 'shutdown') onShutdown?.(message.signal);
    else if (message?.type === 'memory') for (const answer of memoryWaiters.splice(0)) answer(message.usage);
    else onReady?.(message);
  });
  const handle: StackChild<Ready> = {
    name,
    process: child,
    ready: undefined as Ready,
    exited,
    start(options, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`${name} did not start within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        const settle = (error?: Error) => {
          clearTimeout(timer);
          onReady = undefined;
          if (error) reject(error);
          else resolve(handle);
        };
        onReady = (message) => {
          if (message?.type === 'ready') {
            const { type: _type, ...ready } = message;
            handle.ready = ready as Ready;
            settle();
          } else if (message?.type === 'failed') settle(new Error(message.message));
        };
        void exited.then((how) =>
          settle(new Error(`${name} exited (${how.signal ?? how.code}) before it was ready`)),
        );
        const send = () => child.send({ type: 'start', ...options });
        if (listening) send();
        else waiters.push(send);
      });
    },
    async stop(graceMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) {
        if (child.connected) child.send({ type: 'stop' });
        else child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const how = await exited;
        clearTimeout(timer);
        return how;
      }
      return exited;
    },
    memory() {
      if (!child.connected) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 1000);
        memoryWaiters.push((usage) => {
          clearTimeout(timer);
          resolve(usage);
        });
        child.send({ type: 'memory' });
      });
    },
  };
  return handle;
}
