/**
 * Counting decisions without a write per decision: decisions taken for the first time (never retries)
 * are aggregated in memory and written as one idempotent tally per flush — at the end of a request once
 * `flushMs` passed since the last write (0: every request, as on Lambda), and by the local server on a
 * timer and at stop. A flush that fails is kept, with its id, and written again by the next one, so an
 * SDK or caller retry never counts twice. Counts a crashed process held are restored by reconcile.ts.
 */
import { randomBytes } from 'node:crypto';
import { type Counted, type DayCounts, tally } from '../domain/tally.ts';
import { logger } from '../observability/index.ts';
import { type Clock, type DeferredMessage, FORGOTTEN, type TallyStore } from '../ports.ts';
import type { Replayed } from './customers.ts';
import { decisionsOf } from './reconcile.ts';

export class DecisionCounter {
  private readonly process = randomBytes(6).toString('base64url');
  private sequence = 0;
  private pending: Counted[] = [];
  private unwritten: { id: string; counts: DayCounts }[] = [];

  private lastFlush: number;

  constructor(
    private readonly store: TallyStore,
    private readonly clock: Clock,
    private readonly flushMs = 0,
  ) {
    this.lastFlush = clock.now();
  }

  add(items: readonly Counted[]): void {
    this.pending.push(...items);
  }

  /**
   * Flushes when `flushMs` passed since the last flush (always when it is 0), and when the clock went back
   * behind the last flush (an instance's clock corrected by NTP): waiting for it to catch up would hold
   * the counts that long, or, with `flushMs` 0, past the end of the request.
   */
  async flushIfDue(): Promise<void> {
    const since = this.clock.now() - this.lastFlush;
    if (since >= this.flushMs || since < 0) await this.flush();
  }

  /** Writes what was added since the last flush, and any earlier flush that failed. */
  async flush(): Promise<void> {
    this.lastFlush = this.clock.now();
    if (this.pending.length > 0) {
      this.unwritten.push({
        id: `${Date.now().toString(36)}-${this.process}-${this.sequence++}`,
        counts: tally(this.pending),
      });
      this.pending = [];
    }
    const batches = this.unwritten;
    this.unwritten = [];
    await Promise.all(
      batches.map(async (batch) => {
        try {
          await this.store.put(batch.id, 'live', batch.counts);
        } catch (error) {
          logger.error('decision counts not written; kept for the next flush', {
            error: error as Error,
            flush: batch.id,
          });
          this.unwritten.push(batch);
        }
      }),
    );
  }
}

/**
 * What finance keeps of an erased customer: the anonymous counts of the decisions its log still held,
 * and of what became of its deferred messages since (an archive that reconciliation adds to what the
 * logs hold, with how many the log had forgotten),
 * and each deferred message it dropped, counted as suppressed `erased`. Every write has an id of its
 * own (the erased record's, the dropped message's), so an erasure retried after a crash, or a sweep that
 * finds a message again, rewrites the same items instead of counting twice.
 */
export class ErasureCounts {
  constructor(private readonly store: TallyStore) {}

  /** The decisions the record held; a later read of the same record (a higher version) replaces it. */
  async archive(id: string, replayed: Replayed): Promise<void> {
    const version = replayed.record.version;
    const forgotten: DayCounts = new Map(
      Object.entries(replayed.state.forgotten).map(([day, n]) => [day, new Map([[FORGOTTEN, n]])]),
    );
    await Promise.all([
      this.store.put(`erase-${id}`, 'archive', tally(decisionsOf(replayed)), version),
      forgotten.size > 0 ? this.store.put(`erase-${id}`, 'forgotten', forgotten, version) : undefined,
    ]);
  }

  /** A deferred message dropped by the erasure of its customer, counted at the erasure's time. */
  async dropped(id: string, d: DeferredMessage, erasedAt: number): Promise<void> {
    const counted: Counted = {
      at: erasedAt,
      stage: 'erasure',
      outcome: 'suppressed',
      reason: 'erased',
      channel: d.message.channel,
      campaignId: d.message.campaignId,
      category: d.message.category,
      policyVersion: d.policyVersion,
    };
    await this.store.put(`erased-${id}`, 'live', tally([counted]));
  }
}
