/**
 * Group commit for batch APIs (SQS SendMessageBatch, DynamoDB BatchWriteItem): items submitted by
 * concurrent callers share requests. A full request (as many items as the API takes, or as many bytes)
 * leaves at once; a partial one leaves at once only while no other partial request is in flight, else
 * it waits for that one to finish (or to have taken `maxHoldMs`) and fills meanwhile. An idle process
 * thus sends without delay, and a busy one sends fuller requests instead of one per caller. A caller's promise settles when every
 * request holding its items has: it rejects if any of them failed, so nothing is reported sent that
 * was not.
 *
 * Where no caller waits for its items to leave (the archive after the answer), `lingerMs` lets a partial
 * request wait that long for more: requests shared by callers that are not concurrent (one message a
 * request) instead of one request per caller. `flush` sends whatever waits at once and resolves when
 * nothing is left in flight (a process stopping, a function about to answer).
 */

export interface GroupCommitOptions<T> {
  /** Sends one request; rejects if any of its items was not written. */
  send: (items: T[]) => Promise<void>;
  /** Items per request at most. */
  maxItems: number;
  /** Bytes per request at most, as `sizeOf` counts them. */
  maxBytes?: number;
  sizeOf?: (item: T) => number;
  /**
   * Items with the same key in one request are sent once (the later one), for APIs that refuse a
   * request naming one item twice (BatchWriteItem).
   */
  keyOf?: (item: T) => string;
  /** Requests in flight at most; more wait. */
  maxInFlight?: number;
  /**
   * How long a partial request in flight holds the next one back at most (100 ms): a request that
   * hangs must not stall everybody's.
   */
  maxHoldMs?: number;
  /**
   * How long a partial request waits for more items after its first one came (0: none, the default),
   * when every item in it was submitted with `linger`; `flush` cuts it short.
   */
  lingerMs?: number;
}

interface Waiting<T> {
  item: T;
  size: number;
  /** When it was submitted (performance.now()), and whether it may linger (see `lingerMs`). */
  since: number;
  lingers: boolean;
  settle: (error?: unknown) => void;
}

export class GroupCommit<T> {
  private readonly waiting: Waiting<T>[] = [];
  private inFlight = 0;
  private partialsInFlight = 0;
  /** When the latest partial request left. */
  private partialSince = 0;
  private scheduled = false;
  /** The timer that pumps again when a held or lingering request may leave, and when it fires. */
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  /** Flushes under way: while any is, nothing waits (neither held back nor lingering). */
  private flushing = 0;
  private readonly idle: (() => void)[] = [];

  constructor(private readonly options: GroupCommitOptions<T>) {}

  /**
   * Resolves once every item is sent; rejects with the first failure of a request holding one of them.
   * `linger`: the caller does not wait for them, so they may wait `lingerMs` for company.
   */
  submit(items: readonly T[], { linger = false }: { linger?: boolean } = {}): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let left = items.length;
      let failed = false;
      const settle = (error?: unknown) => {
        if (failed) return;
        if (error !== undefined) {
          failed = true;
          reject(error);
        } else if (--left === 0) resolve();
      };
      const since = performance.now();
      for (const item of items)
        this.waiting.push({ item, size: this.options.sizeOf?.(item) ?? 0, since, lingers: linger, settle });
      // Items submitted in the same turn of the event loop (say, as the answers of several decisions
      // arrive together) go out together: idle, that costs no wait worth the name.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  /**
   * How many waiting items the next request takes, whether that request is full, and whether all of
   * its items may linger.
   */
  private nextRequest(): { count: number; full: boolean; lingers: boolean } {
    const { maxItems, maxBytes = Number.POSITIVE_INFINITY } = this.options;
    let bytes = 0;
    let count = 0;
    let lingers = true;
    for (const w of this.waiting) {
      if (count === maxItems || (count > 0 && bytes + w.size > maxBytes))
        return { count, full: true, lingers };
      bytes += w.size;
      count++;
      lingers &&= w.lingers;
    }
    return { count, full: count === maxItems, lingers };
  }

  /**
   * Sends every item waiting now, without holding back or lingering; resolves once nothing is waiting
   * or in flight (items submitted meanwhile included). Never rejects: failures reach their callers.
   */
  flush(): Promise<void> {
    this.flushing++;
    const done = new Promise<void>((resolve) => this.idle.push(resolve));
    this.pump();
    this.checkIdle();
    return done.finally(() => {
      this.flushing--;
    });
  }

  private checkIdle(): void {
    if (this.waiting.length > 0 || this.inFlight > 0) return;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  /** Pumps again in `wait` ms, unless a timer already does it sooner. */
  private pumpIn(wait: number): void {
    const at = performance.now() + wait;
    if (this.timer !== undefined && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.pump();
    }, wait);
  }

  private pump(): void {
    const maxInFlight = this.options.maxInFlight ?? 64;
    const holdMs = this.options.maxHoldMs ?? 100;
    const lingerMs = this.options.lingerMs ?? 0;
    while (this.waiting.length > 0 && this.inFlight < maxInFlight) {
      const { count, full, lingers } = this.nextRequest();
      if (!full && this.flushing === 0) {
        const now = performance.now();
        // A partial request lingers for more items, and a slow one in flight holds it back only so long.
        const lingering =
          lingers && lingerMs > 0 ? (this.waiting[0] as Waiting<T>).since + lingerMs - now : 0;
        const held = this.partialsInFlight > 0 ? this.partialSince + holdMs - now : 0;
        const wait = Math.max(lingering, held);
        if (wait > 0) {
          this.pumpIn(wait);
          return;
        }
      }
      this.dispatch(this.waiting.splice(0, count), !full);
    }
  }

  private dispatch(taken: Waiting<T>[], partial: boolean): void {
    const { keyOf } = this.options;
    const items = new Map<string | number, T>();
    taken.forEach((w, i) => {
      const key = keyOf ? keyOf(w.item) : i;
      items.delete(key); // the later one takes the earlier's place, at the end
      items.set(key, w.item);
    });
    this.inFlight++;
    if (partial) {
      this.partialsInFlight++;
      this.partialSince = performance.now();
    }
    const finish = (error?: unknown) => {
      this.inFlight--;
      if (partial) this.partialsInFlight--;
      for (const w of taken) w.settle(error);
      this.pump();
      this.checkIdle();
    };
    let sent: Promise<void>;
    try {
      sent = this.options.send([...items.values()]);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      () => finish(),
      (error: unknown) => finish(error ?? new Error('request failed')),
    );
  }
}
