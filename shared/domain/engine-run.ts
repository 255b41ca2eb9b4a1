/**
 * One customer's log run through the engine outside the store: entries appended in order, each append
 * decided by `replay` exactly as the send and release functions decide (append, then decide), the log
 * compacted after each append with the engine's own `compact` so that each replay decides only the new
 * entries. Deferred messages are released at their time through a queue of due releases, as the release
 * function does. The simulation (bench/simulation) and the dry-run (dry-run.ts) both run customers
 * through it: nothing here re-implements a rule.
 */
import {
  type CustomerBase,
  type CustomerState,
  compact,
  type EntryResult,
  type LogEntry,
  type PolicyLookup,
  type ReplayOptions,
  replay,
} from './customer-log.ts';

export class EngineRun {
  private log: LogEntry[] = [];
  /** The customer's state after the latest append. */
  state: CustomerState | undefined;

  constructor(
    private base: CustomerBase,
    private readonly policies: PolicyLookup,
    private readonly horizonMs: number,
    /** How each append is replayed (pre-emption on unless said otherwise). */
    private readonly replayOptions: ReplayOptions = {},
  ) {}

  /** Appends entries at `now`; replay's results for them, in order. */
  append(entries: LogEntry[], now: number): EntryResult[] {
    const all = [...this.log, ...entries];
    const { state, results } = replay(this.base, all, this.policies, this.replayOptions);
    this.state = state;
    ({ base: this.base, entries: this.log } = compact(state, now, {
      horizonMs: this.horizonMs,
      idempotencyMs: 0,
    }));
    return results.slice(all.length - entries.length);
  }
}

/** Items due at a time, earliest first; of two due at the same moment, the one queued first. */
export class DueQueue<T extends { at: number }> {
  private readonly items: T[] = [];

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.items[mid]?.at ?? 0) <= item.at) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, item);
  }

  peek(): T | undefined {
    return this.items[0];
  }

  shift(): T | undefined {
    return this.items.shift();
  }

  clear(): void {
    this.items.length = 0;
  }
}
