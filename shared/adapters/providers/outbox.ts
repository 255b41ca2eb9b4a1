/**
 * The local outbox: each delivered message is one JSON line appended to a file under the data folder
 * (`<GOVERNOR_DATA_DIR>/outbox.jsonl` by default), the provider of every channel when no webhook is
 * configured. Lines written by concurrent sends are gathered into one write, so lines never interleave.
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Delivery, Provider, SendResult } from '../../ports.ts';

export class OutboxProvider implements Provider {
  readonly name = 'outbox';
  readonly timeoutMs = 5000;
  private file: ReturnType<typeof open> | undefined;
  private pending: { line: string; done: (error?: unknown) => void }[] = [];
  private writing = false;

  constructor(
    readonly path: string,
    private readonly clock: { now(): number } = Date,
  ) {}

  async send(delivery: Delivery): Promise<SendResult> {
    const line = `${JSON.stringify({ deliveredAt: new Date(this.clock.now()).toISOString(), ...delivery })}\n`;
    try {
      await new Promise<void>((resolve, reject) => {
        this.pending.push({ line, done: (error) => (error ? reject(error) : resolve()) });
        void this.drain();
      });
      return { ok: true };
    } catch (error) {
      this.file = undefined;
      return {
        ok: false,
        permanent: false,
        reason: `outbox_${(error as { code?: string }).code ?? 'error'}`,
      };
    }
  }

  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          this.file ??= mkdir(dirname(this.path), { recursive: true }).then(() => open(this.path, 'a'));
          const handle = await this.file;
          await handle.write(batch.map((p) => p.line).join(''));
          for (const p of batch) p.done();
        } catch (error) {
          for (const p of batch) p.done(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /** Closes the file (the next send opens it again). */
  async close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    if (file) await (await file.catch(() => undefined))?.close();
  }
}
