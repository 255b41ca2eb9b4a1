/**
 * The child side of `npm start`'s processes (engines, API instances, workers): each is forked by the
 * supervisor (local/main.ts) with an IPC channel, waits for its `start` message, answers `ready` (or
 * `failed`), and stops on `stop`. The supervisor alone decides when the stack stops, in order (API
 * instances, then workers, then engines): a SIGINT or SIGTERM a child receives (Ctrl-C reaches every
 * process of the terminal's group at once) is passed on to it as a request to stop the whole stack. A
 * child whose supervisor is gone (killed) does not linger: `orphaned` runs, then it exits.
 */

export type ParentMessage =
  | { type: 'start'; [option: string]: unknown }
  | { type: 'stop' }
  /** Asks for process.memoryUsage() (the supervisor's memory report). */
  | { type: 'memory' };

export type ChildMessage =
  /** Sent once it listens for `start` (a message sent before would be lost). */
  | { type: 'listening' }
  | { type: 'ready'; [detail: string]: unknown }
  | { type: 'failed'; message: string }
  | { type: 'memory'; usage: NodeJS.MemoryUsage }
  | { type: 'shutdown'; signal: NodeJS.Signals };

export interface Started {
  /** Sent with `ready`. */
  ready: Record<string, unknown>;
  stop(): Promise<void>;
}

export interface ChildOptions {
  /** Runs on the `start` message; what it resolves to is announced, what it throws is reported. */
  start(message: Record<string, unknown>): Promise<Started>;
  /** When the supervisor went away without stopping this process. Default: exit at once. */
  orphaned?(started: Started | undefined): Promise<void>;
}

export function runChild(options: ChildOptions): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this module runs as a child of local/main.ts (forked with an IPC channel)');
  const tell = (message: ChildMessage) => {
    if (process.connected) send(message);
  };
  let started: Started | undefined;
  let stopping = false;

  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    try {
      await started?.stop();
    } catch (error) {
      console.error(
        `${process.title}: did not stop cleanly:`,
        error instanceof Error ? error.message : error,
      );
      code = 1;
    }
    process.exit(code);
  };

  process.on('message', (message: ParentMessage) => {
    if (message?.type === 'start' && !started) {
      options.start(message).then(
        (s) => {
          started = s;
          tell({ type: 'ready', ...s.ready });
        },
        (error: unknown) => {
          tell({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
          process.exitCode = 1;
          // The supervisor stops the others and exits; this process ends with its event loop, or here.
          setTimeout(() => process.exit(1), 1000).unref();
        },
      );
    } else if (message?.type === 'stop') void stop(0);
    else if (message?.type === 'memory') tell({ type: 'memory', usage: process.memoryUsage() });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => tell({ type: 'shutdown', signal }));
  process.on('disconnect', () => {
    if (stopping) return;
    stopping = true;
    const done = options.orphaned ? options.orphaned(started) : Promise.resolve();
    void done.catch(() => undefined).finally(() => process.exit(1));
  });
  tell({ type: 'listening' });
}
