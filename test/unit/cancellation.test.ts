import { describe, expect, it } from 'vitest';
import { decodeBlock, decodeEntry, encodeBlock, encodeEntry } from '#shared/adapters/dynamodb/entry-codec.ts';
import { compact, emptyBase, type LogEntry, replay } from '#shared/domain/customer-log.ts';
import { messageStateOf } from '#shared/domain/message-status.ts';
import { aPolicy, DAY, MINUTE, messageEntry, policies, releaseEntry, T0 } from './builders.ts';

// One message a minute: the second of two sent at once is deferred by a minute.
const perMinute = aPolicy({ caps: [{ id: 'per-minute', limit: 1, window: 'PT1M' }] }, 1);
const lookup = policies(perMinute);
const expiresAt = T0 + DAY;

describe('cancellation in the log', () => {
  it('withdraws a deferred message: its reservation frees the slot, its status is cancelled, a second cancel changes nothing', () => {
    const log: LogEntry[] = [
      messageEntry(T0, { key: 'a', expiresAt }),
      messageEntry(T0 + 1000, { key: 'b', expiresAt }),
      { type: 'cancel', at: T0 + 2000, key: 'b' },
      { type: 'cancel', at: T0 + 3000, key: 'b' },
      messageEntry(T0 + 4000, { key: 'c', expiresAt }),
    ];
    const { state, results } = replay(emptyBase(), log, lookup);
    expect(results[2]).toMatchObject({ type: 'cancel', cancelled: true });
    expect(results[3]).toMatchObject({ type: 'cancel', cancelled: false });
    expect(messageStateOf(state, 'b')).toMatchObject({ status: 'suppressed', reason: 'cancelled' });
    // c takes the slot b held.
    expect(results[4]?.type === 'message' && results[4].decided.verdict).toMatchObject({
      releaseAt: T0 + MINUTE,
    });
  });

  it('cannot withdraw a message already released: the release came first in the log', () => {
    const log: LogEntry[] = [
      messageEntry(T0, { key: 'a', expiresAt }),
      messageEntry(T0 + 1000, { key: 'b', expiresAt }),
      releaseEntry(T0 + MINUTE, 'b', T0 + MINUTE),
      { type: 'cancel', at: T0 + MINUTE + 1, key: 'b' },
    ];
    const { state, results } = replay(emptyBase(), log, lookup);
    expect(results[3]).toMatchObject({ type: 'cancel', cancelled: false });
    expect(messageStateOf(state, 'b')).toMatchObject({ status: 'queued' });
  });

  it('makes a release after the cancellation stale', () => {
    const log: LogEntry[] = [
      messageEntry(T0, { key: 'a', expiresAt }),
      messageEntry(T0 + 1000, { key: 'b', expiresAt }),
      { type: 'cancel', at: T0 + 2000, key: 'b' },
      releaseEntry(T0 + MINUTE, 'b', T0 + MINUTE),
    ];
    const { results } = replay(emptyBase(), log, lookup);
    expect(results[3]).toMatchObject({ type: 'release', stale: true });
  });

  it('keeps the cancellation through the codec and compaction', () => {
    const log: LogEntry[] = [
      messageEntry(T0, { key: 'a', expiresAt }),
      messageEntry(T0 + 1000, { key: 'b', expiresAt }),
      decodeEntry(encodeEntry({ type: 'cancel', at: T0 + 2000, key: 'b' })),
    ];
    const { state } = replay(emptyBase(), log, lookup);
    const compacted = compact(state, T0 + 3000, { horizonMs: DAY, idempotencyMs: DAY });
    const stored = decodeBlock(encodeBlock(compacted.base, compacted.entries) ?? '');
    const again = replay(stored.base, stored.entries, lookup).state;
    expect(messageStateOf(again, 'b')).toMatchObject({ status: 'suppressed', reason: 'cancelled' });
    expect(again.sends.some((s) => s.key === 'b')).toBe(false);
  });
});
