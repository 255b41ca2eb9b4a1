/**
 * Local mode only (GOVERNOR_DELIVERY_JOURNAL): the embedded SQS engine keeps its messages in memory, so a
 * crash of `npm start` would lose whatever was queued. Every delivery is therefore appended to a journal
 * file in the data folder before it is sent to the queue (the caller hears "accepted" only after both),
 * and the local workers sweep the journal: on start they send every journaled delivery that the
 * delivery ledger does not show as delivered back to the queue (or to the DLQ when the ledger says it
 * was dead-lettered), and while running they drop delivered entries, so that a payload stays on disk
 * only until it is delivered.
 *
 * Several processes of one stack journal into the same folder (each API instance, the workers), so
 * every journal owns its segments: it appends to a *live* segment of its own,
 * `deliveries-<pid>-<random>-<n>.live.jsonl`, that nobody else touches, and closes it (renamed
 * without `.live`) shortly after its first append, when it is closed, and before each of its own sweeps.
 * A sweep takes the closed segments, whoever wrote them, plus the live segments of processes that are
 * gone (killed), and rewrites them into one closed segment of the entries still needed. On start,
 * before any other process of the stack runs, the recovery sweep takes every segment there is.
 * Writes are not fsynced: the journal survives the process being killed, not the machine losing power
 * (the same as the local DynamoDB engine).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Delivery, DeliveryQueue } from '../../ports.ts';

/** Any segment; closed ones are those that are not live. Older data folders hold closed ones only. */
const SEGMENT = /^deliveries-.*\.jsonl$/;
const LIVE = /^deliveries-(\d+)-[0-9a-f]+-\d+\.live\.jsonl$/;
const TEMPORARY = /^deliveries-(\d+)-[0-9a-f]+-\d+-kept\.jsonl\.tmp$/;
const keyOf = (d: Pick<Delivery, 'customerId' | 'messageId'>) => `${d.customerId} ${d.messageId}`;

export interface DeliveryJournalOptions {
  /** A live segment is closed this long after its first append, so that a sweep can take it. */
  closeAfterMs?: number;
}

export interface SweepOptions {
  /** Deliveries handed to `decide` at a time. Default 500. */
  chunkSize?: number;
  /**
   * Also take the live segments of processes that are still running: only for the recovery sweep on
   * start, when no other process of the stack runs yet (a process id may have been reused since).
   */
  takeEveryLiveSegment?: boolean;
}

export class DeliveryJournal {
  /**
   * Unique among the journals of the folder: two journals created in the same millisecond (or by one
   * process id reused after a crash) must never share a segment.
   */
  readonly owner = `${process.pid}-${randomBytes(6).toString('hex')}`;
  private sequence = 0;
  /** The live segment, opened on the first append after the previous one was closed. */
  private live: { path: string; handle: ReturnType<typeof open>; timer: NodeJS.Timeout } | undefined;
  private queue: { text: string; done: (error?: unknown) => void }[] = [];
  private draining = false;
  /** File operations (writes, closing the live segment) run one at a time, in order. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly closeAfterMs: number;

  constructor(
    readonly dir: string,
    options: DeliveryJournalOptions = {},
  ) {
    this.closeAfterMs = options.closeAfterMs ?? 2000;
  }

  private nextName(suffix: string): string {
    return `deliveries-${this.owner}-${String(this.sequence++).padStart(6, '0')}${suffix}`;
  }

  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.chain.then(operation);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Appends the deliveries; resolves once they are written to the file. */
  append(deliveries: readonly Delivery[]): Promise<void> {
    if (deliveries.length === 0) return Promise.resolve();
    const text = deliveries.map((d) => `${JSON.stringify(d)}\n`).join('');
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ text, done: (error) => (error ? reject(error) : resolve()) });
      void this.drain();
    });
  }

  /** Appends that arrive while a write is under way go out together in the next one. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        const text = batch.map((b) => b.text).join('');
        try {
          await this.exclusive(() => this.write(text));
          for (const b of batch) b.done();
        } catch (error) {
          // The next append opens a new segment rather than retry on a handle that failed.
          await this.exclusive(() => this.closeLive()).catch(() => undefined);
          for (const b of batch) b.done(error);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async write(text: string): Promise<void> {
    if (!this.live) {
      const path = join(this.dir, this.nextName('.live.jsonl'));
      const handle = mkdir(this.dir, { recursive: true }).then(() => open(path, 'a'));
      handle.catch(() => undefined);
      const timer = setTimeout(() => void this.rotate().catch(() => undefined), this.closeAfterMs);
      timer.unref();
      this.live = { path, handle, timer };
    }
    await (await this.live.handle).write(text);
  }

  /** Closes the live segment (it becomes a closed one a sweep may take); the next append opens another. */
  rotate(): Promise<void> {
    return this.exclusive(() => this.closeLive());
  }

  private async closeLive(): Promise<void> {
    const live = this.live;
    if (!live) return;
    this.live = undefined;
    clearTimeout(live.timer);
    const handle = await live.handle.catch(() => undefined);
    await handle?.close();
    await rename(live.path, live.path.replace(/\.live\.jsonl$/, '.jsonl')).catch(ignoreMissing);
  }

  /** The sweep running now (or the last one), which the next waits for. */
  private sweeping: Promise<unknown> = Promise.resolve();

  /**
   * Rewrites the segments a sweep may take: `decide` is called with the distinct deliveries they hold
   * (in chunks) and returns those to keep; kept ones are written to a new closed segment, then the old
   * segments are deleted. A crash in between leaves both, which the next sweep merges. One sweep at a
   * time per journal: a second one waits for the first.
   */
  sweep(
    decide: (chunk: Delivery[]) => Promise<Delivery[]>,
    options: SweepOptions = {},
  ): Promise<SweepSummary> {
    const run = this.sweeping.then(() => this.sweepOnce(decide, options));
    this.sweeping = run.catch(() => undefined);
    return run;
  }

  /** The segments a sweep would take now (the live ones of running processes excluded). */
  async sweepable(options: Pick<SweepOptions, 'takeEveryLiveSegment'> = {}): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: string[] = [];
    for (const name of names) {
      if (!SEGMENT.test(name)) continue;
      const live = LIVE.exec(name);
      if (!live) {
        out.push(join(this.dir, name));
        continue;
      }
      if (this.live && join(this.dir, name) === this.live.path) continue;
      const pid = Number(live[1]);
      if (!options.takeEveryLiveSegment && (pid === process.pid || isRunning(pid))) continue;
      // A killed process's live segment: closed here, so that it is taken once.
      const closed = join(this.dir, name.replace(/\.live\.jsonl$/, '.jsonl'));
      await rename(join(this.dir, name), closed).catch(ignoreMissing);
      out.push(closed);
    }
    return out;
  }

  private async sweepOnce(
    decide: (chunk: Delivery[]) => Promise<Delivery[]>,
    { chunkSize = 500, takeEveryLiveSegment = false }: SweepOptions,
  ): Promise<SweepSummary> {
    await this.rotate();
    // A sweep that died before its rename left a temporary file: the segments it read are still there.
    // (Another journal's, in this process or another running one, may be under way: left alone.)
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      const temporary = TEMPORARY.exec(name);
      if (!temporary) continue;
      if (name.startsWith(`deliveries-${this.owner}-`) || !isRunning(Number(temporary[1])))
        await unlink(join(this.dir, name)).catch(() => undefined);
    }
    const segments = await this.sweepable({ takeEveryLiveSegment });
    const summary: SweepSummary = { segments: segments.length, entries: 0, kept: 0 };
    if (segments.length === 0) return summary;
    const target = join(this.dir, this.nextName('-kept.jsonl'));
    const temporary = `${target}.tmp`;
    const out = await open(temporary, 'w');
    try {
      const seen = new Set<string>();
      let chunk: Delivery[] = [];
      const flush = async () => {
        const kept = await decide(chunk);
        chunk = [];
        summary.kept += kept.length;
        if (kept.length > 0) await out.write(kept.map((d) => `${JSON.stringify(d)}\n`).join(''));
      };
      for (const segment of segments) {
        for await (const delivery of readSegment(segment)) {
          const key = keyOf(delivery);
          if (seen.has(key)) continue;
          seen.add(key);
          summary.entries++;
          chunk.push(delivery);
          if (chunk.length >= chunkSize) await flush();
        }
      }
      if (chunk.length > 0) await flush();
    } finally {
      await out.close();
    }
    if (summary.kept > 0) await rename(temporary, target);
    else await unlink(temporary);
    for (const segment of segments) await unlink(segment).catch(() => undefined);
    return summary;
  }

  /** Closes the live segment; the journal may still be appended to (it opens a new one). Idempotent. */
  async close(): Promise<void> {
    await this.rotate();
  }
}

export interface SweepSummary {
  segments: number;
  /** Distinct deliveries found. */
  entries: number;
  kept: number;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}

/** The deliveries of one segment; a torn last line (a crash mid-write) is skipped. */
async function* readSegment(path: string): AsyncGenerator<Delivery> {
  const lines = createInterface({
    input: createReadStream(path, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      try {
        yield JSON.parse(line) as Delivery;
      } catch {
        // A partial line written as the process died: its delivery was never acknowledged.
      }
    }
  } catch (error) {
    // A segment another sweep took meanwhile: what it held is in that sweep's output.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** The delivery queue of local mode: journal first, then the in-memory queue. */
export class JournaledDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly inner: DeliveryQueue,
    readonly journal: DeliveryJournal,
  ) {}

  async enqueue(deliveries: Delivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    await this.journal.append(deliveries);
    await this.inner.enqueue(deliveries);
  }
}
