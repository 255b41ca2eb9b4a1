/**
 * Counting decisions without a write per decision: decisions taken for the first time (never retries)
 * are aggregated in memory and written as one idempotent tally per flush — at the end of a request once
 * `flushMs` passed since the last write (0: every request, as on Lambda), and by the local server on a
 * timer and at stop. A flush that fails is kept, with its id, and written again by the next one, so an
 * SDK or caller retry never counts twice. Counts a crashed process held are restored by reconcile.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { TallyStore } from '../adapters/dynamodb/tally-store.ts';
import { type Counted, type DayCounts, tally } from '../domain/tally.ts';
import { logger } from '../observability/index.ts';
import type { Clock } from '../ports.ts';
import type { EraseHook } from './customers.ts';
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

  /** Flushes when `flushMs` passed since the last flush (always when it is 0). */
  async flushIfDue(): Promise<void> {
    if (this.clock.now() - this.lastFlush >= this.flushMs) await this.flush();
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
 * What finance keeps of an erased customer: the anonymous counts of its decisions the log still held
 * (an archive that reconciliation adds to what the logs hold), and its deferred messages counted as
 * suppressed `erased`. Written under ids derived from the customer's log version, so an erasure retried
 * after a crash rewrites the same items instead of counting twice.
 */
export function archiveOnErase(store: TallyStore, clock: Clock): EraseHook {
  return async ({ customerId, replayed, deferred }) => {
    const id = `${createHash('sha256').update(customerId).digest('base64url').slice(0, 16)}-${replayed.record.version}`;
    const now = clock.now();
    const dropped: Counted[] = deferred.map((d) => ({
      at: now,
      stage: 'erasure',
      outcome: 'suppressed',
      reason: 'erased',
      channel: d.message.channel,
      campaignId: d.message.campaignId,
      category: d.message.category,
      policyVersion: d.policyVersion,
    }));
    await Promise.all([
      store.put(`erase-${id}`, 'archive', tally(decisionsOf(replayed))),
      dropped.length > 0 ? store.put(`erased-${id}`, 'live', tally(dropped)) : undefined,
    ]);
  };
}
