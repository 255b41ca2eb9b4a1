/**
 * The dry-run replays pre-emption as the log decided it: a message bumped and suppressed counts as
 * suppressed `preempted` (as finance counts it), one bumped to a later slot is released there, in the
 * current policy's replay and in a draft of the same policy alike.
 */
import { describe, expect, it } from 'vitest';
import { ARCHIVE_RECORD_VERSION, type ArchiveRecord } from '#shared/domain/archive.ts';
import { replayShard } from '#shared/domain/dry-run.ts';
import { aPolicy, DAY, MINUTE, T0 } from './builders.ts';

const perMinute = aPolicy({ caps: [{ id: 'per-minute', limit: 1, window: 'PT1M' }] }, 1);
const iso = (t: number) => new Date(t).toISOString();

/** A decision record as the send path archives it (its outcome is what was answered). */
function decided(
  index: number,
  at: number,
  ref: string,
  relevance: number,
  expiresAt: number,
  outcome: { outcome: 'accepted' | 'deferred'; releaseAt?: number },
): ArchiveRecord {
  return {
    v: ARCHIVE_RECORD_VERSION,
    at: iso(at),
    pseudonym: 'p-1',
    write: index + 1,
    index: 0,
    shard: 0,
    type: 'decision',
    ref,
    channel: 'email',
    kind: 'marketing',
    relevance,
    expiresAt: iso(expiresAt),
    policyVersion: 1,
    outcome: outcome.outcome,
    outcomeChannel: 'email',
    ...(outcome.releaseAt === undefined ? {} : { releaseAt: iso(outcome.releaseAt) }),
  } as ArchiveRecord;
}

describe('the dry-run of a log with pre-emption', () => {
  it('counts the bumped message suppressed preempted, in the current replay and a draft of the same policy', () => {
    // Prepare: one slot taken, low deferred to the next minute (no later slot before its expiry), then
    // high, more relevant, takes that slot
    const records = [
      decided(0, T0, 'first', 0.5, T0 + DAY, { outcome: 'accepted' }),
      decided(1, T0 + 1000, 'low', 0.2, T0 + 3 * MINUTE, { outcome: 'deferred', releaseAt: T0 + MINUTE }),
      decided(2, T0 + 2000, 'high', 0.9, T0 + DAY, { outcome: 'deferred', releaseAt: T0 + MINUTE }),
    ];

    // Act
    const result = replayShard(records, {
      from: T0 - DAY,
      to: T0 + DAY,
      policies: [perMinute],
      draft: perMinute,
    });

    // Assess
    expect(result.current).toMatchObject({ accepted: 1, deferred: 2, suppressed: 1 });
    expect(result.current.byReason).toEqual({ preempted: 1 });
    expect(result.draft).toMatchObject({ accepted: 2, deferred: 2, suppressed: 1 });
    expect(result.draft.byReason).toEqual({ preempted: 1 });
  });
});

describe('the dry-run of a draft with digests', () => {
  it('releases a digest once, counting its first item as the send and the others digested', () => {
    // Prepare: one slot a minute taken, then two capped news messages without expiry (dropped today)
    const news = (index: number, at: number, ref: string): ArchiveRecord =>
      ({
        ...decided(index, at, ref, 0.5, T0 + DAY, { outcome: 'accepted' }),
        expiresAt: undefined,
        category: 'news',
        outcome: 'suppressed',
        reason: 'frequency_cap',
      }) as ArchiveRecord;
    const records = [
      decided(0, T0, 'first', 0.5, T0 + DAY, { outcome: 'accepted' }),
      news(1, T0 + 1000, 'b'),
      news(2, T0 + 2000, 'c'),
    ];
    const withDigests = aPolicy(
      {
        caps: [{ id: 'per-minute', limit: 1, window: 'PT1M' }],
        digests: [{ id: 'news', match: { category: 'news' }, maxItems: 5, maxWait: 'PT1H' }],
      },
      1,
    );

    // Act
    const result = replayShard(records, {
      from: T0 - DAY,
      to: T0 + DAY,
      policies: [perMinute],
      draft: withDigests,
    });

    // Assess: today both dropped; the draft defers both into one digest, released as one send
    expect(result.current).toMatchObject({ accepted: 1, suppressed: 2 });
    expect(result.draft).toMatchObject({ accepted: 2, deferred: 2, suppressed: 1 });
    expect(result.draft.byReason).toEqual({ digest: 1 });
  });
});
