/**
 * Local mode only (GOVERNOR_DELIVERY_JOURNAL): the embedded SQS engine keeps its messages in memory, so a
 * crash of `npm start` would lose whatever was queued. Every delivery is therefore appended to a journal
 * file in the data folder before it is sent to the queue (the caller hears "accepted" only after both),
 * and the local workers sweep the journal: on start they send every journaled delivery that the
 * delivery ledger does not show as delivered back to the queue (or to the DLQ when the ledger says it
 * was dead-lettered), and while running they drop delivered entries so the journal stays small.
 *
 * The journal is a set of JSON-lines segments `deliveries-*.jsonl`: appends go to the live segment; a
 * sweep rotates it and rewrites the closed segments into one segment of the entries still needed.
 * Writes are not fsynced: the journal survives the process being killed, not the machine losing power
 * (the same as the local DynamoDB engine).
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Delivery, DeliveryQueue } from '../../ports.ts';

const SEGMENT = /^deliveries-.*\.jsonl$/;
const keyOf = (d: Pick<Delivery, 'customerId' | 'messageId'>) => `${d.customerId} ${d.messageId}`;

export class DeliveryJournal {
  private sequence = 0;
  private readonly prefix = `deliveries-${Date.now().toString(36)}-${process.pid}`;
  private path: string;
  private handles = new Map<string, ReturnType<typeof open>>();
  private queue: { text: string; done: (error?: unknown) => void }[] = [];
  private inflight: Promise<void> | undefined;
  private draining = false;

  constructor(readonly dir: string) {
    this.path = this.nextPath();
  }

  private nextPath(): string {
    return join(this.dir, `${this.prefix}-${String(this.sequence++).padStart(6, '0')}.jsonl`);
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

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        const path = this.path;
        this.inflight = this.write(path, batch.map((b) => b.text).join(''));
        try {
          await this.inflight;
          for (const b of batch) b.done();
        } catch (error) {
          this.handles.delete(path);
          for (const b of batch) b.done(error);
        }
      }
    } finally {
      this.inflight = undefined;
      this.draining = false;
    }
  }

  private async write(path: string, text: string): Promise<void> {
    let handle = this.handles.get(path);
    if (!handle) {
      handle = mkdir(this.dir, { recursive: true }).then(() => open(path, 'a'));
      this.handles.set(path, handle);
    }
    await (await handle).write(text);
  }

  /** Starts a new live segment; resolves once the previous one is complete and closed. */
  async rotate(): Promise<void> {
    const previous = this.path;
    this.path = this.nextPath();
    await this.inflight?.catch(() => undefined);
    const handle = this.handles.get(previous);
    this.handles.delete(previous);
    if (handle) await (await handle.catch(() => undefined))?.close();
  }

  /** The segments nothing appends to any more (the live one excluded). */
  async closedSegments(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const live = this.path.slice(this.dir.length + 1);
    return names.filter((n) => SEGMENT.test(n) && n !== live).map((n) => join(this.dir, n));
  }

  async liveSize(): Promise<number> {
    return (await stat(this.path).catch(() => undefined))?.size ?? 0;
  }

  /**
   * Rewrites the closed segments: `decide` is called with the distinct deliveries they hold (in
   * chunks) and returns those to keep; kept ones are written to a new closed segment, then the old
   * segments are deleted. A crash in between leaves both, which the next sweep merges.
   */
  private sweeping: Promise<unknown> = Promise.resolve();

  /** One sweep at a time: a second one waits for the first (they would share a temporary file). */
  sweep(decide: (chunk: Delivery[]) => Promise<Delivery[]>, chunkSize = 500): Promise<SweepSummary> {
    const run = this.sweeping.then(() => this.sweepOnce(decide, chunkSize));
    this.sweeping = run.catch(() => undefined);
    return run;
  }

  private async sweepOnce(
    decide: (chunk: Delivery[]) => Promise<Delivery[]>,
    chunkSize: number,
  ): Promise<SweepSummary> {
    await this.rotate();
    // A sweep that died before its rename left a temporary file: the segments it read are still there.
    for (const name of await readdir(this.dir).catch(() => [] as string[]))
      if (/^deliveries-.*\.jsonl\.tmp$/.test(name)) await unlink(join(this.dir, name)).catch(() => undefined);
    const segments = await this.closedSegments();
    const summary: SweepSummary = { segments: segments.length, entries: 0, kept: 0 };
    if (segments.length === 0) return summary;
    const target = join(this.dir, `${this.prefix}-${String(this.sequence++).padStart(6, '0')}-kept.jsonl`);
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

  async close(): Promise<void> {
    await this.inflight?.catch(() => undefined);
    for (const handle of this.handles.values()) await (await handle.catch(() => undefined))?.close();
    this.handles.clear();
  }
}

export interface SweepSummary {
  segments: number;
  /** Distinct deliveries found. */
  entries: number;
  kept: number;
}

/** The deliveries of one segment; a torn last line (a crash mid-write) is skipped. */
async function* readSegment(path: string): AsyncGenerator<Delivery> {
  const lines = createInterface({
    input: createReadStream(path, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    try {
      yield JSON.parse(line) as Delivery;
    } catch {
      // A partial line written as the process died: its delivery was never acknowledged.
    }
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
