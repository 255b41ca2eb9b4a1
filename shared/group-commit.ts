/**
 * Group commit for batch APIs (SQS SendMessageBatch, DynamoDB BatchWriteItem): items submitted by
 * concurrent callers share requests. A full request (as many items as the API takes, or as many bytes)
 * leaves at once; a partial one leaves at once only while no other partial request is in flight, else
 * it waits for that one to finish (or to have taken `maxHoldMs`) and fills meanwhile. An idle process
 * thus sends without delay, and a busy one sends fuller requests instead of one per caller. A caller's promise settles when every
 * request holding its items has: it rejects if any of them failed, so nothing is reported sent that
 * was not.
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
}

interface Waiting<T> {
  item: T;
  size: number;
  settle: (error?: unknown) => void;
}

export class GroupCommit<T> {
  private readonly waiting: Waiting<T>[] = [];
  private inFlight = 0;
  private partialsInFlight = 0;
  /** When the latest partial request left. */
  private partialSince = 0;
  private scheduled = false;
  private holdTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: GroupCommitOptions<T>) {}

  /** Resolves once every item is sent; rejects with the first failure of a request holding one of them. */
  submit(items: readonly T[]): Promise<void> {
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
      for (const item of items) this.waiting.push({ item, size: this.options.sizeOf?.(item) ?? 0, settle });
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

  /** How many waiting items the next request takes, and whether that request is full. */
  private nextRequest(): { count: number; full: boolean } {
    const { maxItems, maxBytes = Number.POSITIVE_INFINITY } = this.options;
    let bytes = 0;
    let count = 0;
    for (const w of this.waiting) {
      if (count === maxItems || (count > 0 && bytes + w.size > maxBytes)) return { count, full: true };
      bytes += w.size;
      count++;
    }
    return { count, full: count === maxItems };
  }

  private pump(): void {
    const maxInFlight = this.options.maxInFlight ?? 64;
    const holdMs = this.options.maxHoldMs ?? 100;
    while (this.waiting.length > 0 && this.inFlight < maxInFlight) {
      const { count, full } = this.nextRequest();
      if (!full && this.partialsInFlight > 0) {
        // A slow request holds the next partial one back only so long.
        const wait = this.partialSince + holdMs - performance.now();
        if (wait > 0) {
          this.holdTimer ??= setTimeout(() => {
            this.holdTimer = undefined;
            this.pump();
          }, wait);
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
