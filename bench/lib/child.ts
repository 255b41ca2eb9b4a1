/**
 * Child processes of the bench: forked with the same loader (tsx) and an IPC channel, asked questions
 * one at a time, stopped by their own pid only.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Child<Ready> {
  process: ChildProcess;
  ready: Ready;
  /** Sends a message and resolves with the child's next message. */
  ask<T>(message: { type: string }): Promise<T>;
  stop(): Promise<void>;
}

export async function startChild<Ready>(
  module: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Child<Ready>> {
  const path = fileURLToPath(new URL(module, import.meta.url));
  // process.execArgv carries tsx's loader flags; stdout is not needed (the local stack's metrics print there).
  const child = fork(path, args, { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: T) => {
        child.off('exit', onExit);
        resolve(message);
      };
      const onExit = (code: number | null) => {
        child.off('message', onMessage);
        reject(new Error(`${module} exited with code ${code}`));
      };
      child.once('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next<Ready>();
  let queue: Promise<unknown> = Promise.resolve();
  return {
    process: child,
    ready,
    ask<T>(message: { type: string }) {
      const answer = queue.then(() => {
        const reply = next<T>();
        child.send(message);
        return reply;
      });
      queue = answer.catch(() => {});
      return answer;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
