import { describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock } from '#shared/adapters/dynamodb/entry-codec.ts';
import { compact, type EntryResult, emptyBase, type LogEntry, replay } from '#shared/domain/customer-log.ts';
import { EngineRun } from '#shared/domain/engine-run.ts';
import { messageStateOf } from '#shared/domain/message-status.ts';
import { aPolicy, DAY, MINUTE, messageEntry, policies, releaseEntry, seeded, T0 } from './builders.ts';

// One message a minute: the second of two sent at once is deferred by a minute.
const perMinute = aPolicy({ caps: [{ id: 'per-minute', limit: 1, window: 'PT1M' }] }, 1);
const lookup = policies(perMinute);
const expiresAt = T0 + DAY;

function decisionOf(entries: LogEntry[], key: string) {
  const { state, results } = replay(emptyBase(), entries, lookup);
  return { state, result: results.find((r) => r.type === 'message' && r.key === key) };
}

describe('pre-emption of reservations', () => {
  it('gives a deferred slot to a more relevant message that arrives later, and defers the bumped one to the next slot', () => {
    // Prepare: a accepted now, b (low relevance) deferred to the next minute.
    const log = [
      messageEntry(T0, { key: 'a', relevance: 0.5, expiresAt }),
      messageEntry(T0 + 1000, { key: 'low', relevance: 0.2, expiresAt }),
      // Act: a more relevant message arrives later.
      messageEntry(T0 + 2000, { key: 'high', relevance: 0.9, expiresAt }),
    ];
    const { state, result } = decisionOf(log, 'high');

    // Assess: high holds low's slot, low goes one slot later.
    expect(result?.type === 'message' && result.decided.verdict).toMatchObject({
      outcome: 'deferred',
      releaseAt: T0 + MINUTE,
    });
    expect(result?.type === 'message' && !result.duplicate && result.bumped).toEqual([
      { key: 'low', verdict: expect.objectContaining({ outcome: 'deferred', releaseAt: T0 + 2 * MINUTE }) },
    ]);
    expect(state.pending.get('low')?.releaseAt).toBe(T0 + 2 * MINUTE);
    expect(messageStateOf(state, 'low')).toMatchObject({ status: 'deferred', releaseAt: T0 + 2 * MINUTE });
  });

  it('suppresses the bumped message as preempted when no slot is left before its expiry', () => {
    const log = [
      messageEntry(T0, { key: 'a', relevance: 0.5, expiresAt }),
      messageEntry(T0 + 1000, { key: 'low', relevance: 0.2, expiresAt: T0 + MINUTE + 31_000 + 90_000 }),
      messageEntry(T0 + 2000, { key: 'high', relevance: 0.9, expiresAt }),
    ];
    const { state } = decisionOf(log, 'high');
    expect(state.pending.has('low')).toBe(false);
    expect(messageStateOf(state, 'low')).toMatchObject({ status: 'suppressed', reason: 'preempted' });
  });

  it('never bumps for a message without relevance, nor a message of equal relevance, nor an accepted one', () => {
    const noRelevance = decisionOf(
      [
        messageEntry(T0, { key: 'a', relevance: 0.1, expiresAt }),
        messageEntry(T0 + 1000, { key: 'low', relevance: 0.2, expiresAt }),
        messageEntry(T0 + 2000, { key: 'plain', expiresAt }),
      ],
      'plain',
    );
    expect(noRelevance.state.pending.get('low')?.releaseAt).toBe(T0 + MINUTE);
    const equal = decisionOf(
      [
        messageEntry(T0, { key: 'a', relevance: 0.1, expiresAt }),
        messageEntry(T0 + 1000, { key: 'low', relevance: 0.2, expiresAt }),
        messageEntry(T0 + 2000, { key: 'same', relevance: 0.2, expiresAt }),
      ],
      'same',
    );
    expect(equal.state.pending.get('low')?.releaseAt).toBe(T0 + MINUTE);
    // The accepted message (a, relevance 0.1) keeps its send: high can only take a reservation.
    expect(equal.state.sends.find((s) => s.key === 'a')?.at).toBe(T0);
  });

  it('makes the release of the bumped message at its old time stale, and the one at its new time real', () => {
    const log = [
      messageEntry(T0, { key: 'a', relevance: 0.5, expiresAt }),
      messageEntry(T0 + 1000, { key: 'low', relevance: 0.2, expiresAt }),
      messageEntry(T0 + 2000, { key: 'high', relevance: 0.9, expiresAt }),
      releaseEntry(T0 + MINUTE, 'low', T0 + MINUTE),
      releaseEntry(T0 + MINUTE, 'high', T0 + MINUTE),
      releaseEntry(T0 + 2 * MINUTE, 'low', T0 + 2 * MINUTE),
    ];
    const { results } = replay(emptyBase(), log, lookup);
    expect(
      results.slice(3).map((r) => r.type === 'release' && [r.stale, r.decided?.verdict.outcome]),
    ).toEqual([
      [true, 'deferred'],
      [false, 'accepted'],
      [false, 'accepted'],
    ]);
  });

  it('ends with the reserved slots holding the most relevant messages, whatever the order of arrival', () => {
    const random = seeded(18);
    const relevances = Array.from({ length: 30 }, (_, i) => ({ key: `m-${i}`, relevance: random.next() }));
    const log = relevances.map((m, i) => messageEntry(T0 + i, { ...m, expiresAt: T0 + 10 * MINUTE }));
    const { state } = replay(emptyBase(), log, lookup);
    // Ten slots (the one now and nine deferrals before the expiry less the release margin): the first
    // message, accepted, keeps its own.
    const held = [...state.pending.values()].map((p) => p.facts.relevance as number);
    const rest = relevances
      .slice(1)
      .map((m) => m.relevance)
      .sort((a, b) => b - a);
    expect(held.sort((a, b) => b - a)).toEqual(rest.slice(0, held.length));
    expect(held.length).toBeGreaterThan(3);
    // Every replay (compacted and stored, too) holds the same.
    const compacted = compact(state, T0 + MINUTE / 2, { horizonMs: DAY, idempotencyMs: DAY });
    const stored = decodeBlock(encodeBlock(compacted.base, compacted.entries) ?? '');
    const again = replay(stored.base, stored.entries, lookup).state;
    expect([...again.pending.keys()].sort()).toEqual([...state.pending.keys()].sort());
    const statuses = (s: typeof state) => relevances.map((m) => messageStateOf(s, m.key));
    expect(statuses(again)).toEqual(statuses(state));
    // (the preempted ones among them, their reason kept through the item's format)
    expect(statuses(again).some((m) => m?.status === 'suppressed' && m.reason === 'preempted')).toBe(true);
  });
  it('never bumps for a transactional message, nor bumps a message the more relevant one does not need', () => {
    const transactional = decisionOf(
      [
        messageEntry(T0, { key: 'a', relevance: 0.1, expiresAt }),
        messageEntry(T0 + 1000, { key: 'low', relevance: 0.2, expiresAt }),
        messageEntry(T0 + 2000, { key: 'tx', kind: 'transactional', relevance: 0.9, expiresAt }),
      ],
      'tx',
    );
    expect(transactional.state.pending.get('low')?.releaseAt).toBe(T0 + MINUTE);
    // Held later than the moment the newcomer gets anyway: its slot would not help.
    const later = decisionOf(
      [
        messageEntry(T0, { key: 'a', relevance: 0.5, expiresAt }),
        messageEntry(T0 + 1000, { key: 'late', relevance: 0.2, notBefore: T0 + 10 * MINUTE, expiresAt }),
        messageEntry(T0 + 2000, { key: 'high', relevance: 0.9, expiresAt }),
      ],
      'high',
    );
    expect(later.result?.type === 'message' && later.result.decided.verdict).toMatchObject({
      outcome: 'deferred',
      releaseAt: T0 + MINUTE,
    });
    expect(later.state.pending.get('late')?.releaseAt).toBe(T0 + 10 * MINUTE);
  });

  it('takes the slot of a message held past the maximum of deferrals, which it would be refused for', () => {
    // Prepare: a daily cap of 60 and 50 messages held for tomorrow's quiet-hours end: the 51st is refused.
    const quiet = aPolicy(
      {
        caps: [{ id: 'daily', limit: 60, window: 'P1D' }],
        quietHours: { start: '00:00', end: '23:59', defaultTimezone: 'UTC' },
      },
      1,
    );
    const log = Array.from({ length: 50 }, (_, i) =>
      messageEntry(T0 + i, { key: `held-${i}`, relevance: 0.3, expiresAt: T0 + 2 * DAY }),
    );
    log.push(messageEntry(T0 + 100, { key: 'high', relevance: 0.9, expiresAt: T0 + 2 * DAY }));
    const { state, results } = replay(emptyBase(), log, policies(quiet));
    const high = results[50];
    // Assess: it takes the least relevant's (the latest, then the key) place; that one is preempted.
    expect(high?.type === 'message' && high.decided.verdict.outcome).toBe('deferred');
    expect(high?.type === 'message' && !high.duplicate && high.bumped?.[0]?.verdict).toMatchObject({
      outcome: 'suppressed',
      reason: 'preempted',
    });
    expect(state.pending.size).toBe(50);
  });

  describe('turned off (the replay option, for measuring what it adds)', () => {
    const log = [
      messageEntry(T0, { key: 'a', relevance: 0.5, expiresAt }),
      messageEntry(T0 + 1000, { key: 'low', relevance: 0.2, expiresAt }),
      messageEntry(T0 + 2000, { key: 'high', relevance: 0.9, expiresAt }),
    ];

    const bumpedBy = (r: EntryResult | undefined) =>
      r?.type === 'message' && !r.duplicate ? r.bumped?.map((b) => b.key) : undefined;

    it('leaves a reservation to the first to ask: the more relevant message waits for the next slot', () => {
      // Act
      const on = replay(emptyBase(), log, lookup);
      const off = replay(emptyBase(), log, lookup, { preemption: false });

      // Assess: with it (the default) high takes low's slot; without it, low keeps it and nothing is bumped.
      expect(on.state.pending.get('high')?.releaseAt).toBe(T0 + MINUTE);
      expect(bumpedBy(on.results[2])).toEqual(['low']);
      expect(off.state.pending.get('low')?.releaseAt).toBe(T0 + MINUTE);
      expect(off.state.pending.get('high')?.releaseAt).toBe(T0 + 2 * MINUTE);
      expect(bumpedBy(off.results[2])).toBeUndefined();
    });

    it('is passed by EngineRun to every replay of its appends', () => {
      const run = (options?: { preemption: boolean }) => {
        const engine = new EngineRun(emptyBase(), lookup, DAY, options);
        return log.map((entry) => engine.append([entry], entry.at)[0]);
      };

      const on = run();
      const off = run({ preemption: false });

      expect(bumpedBy(on[2])).toEqual(['low']);
      expect(bumpedBy(off[2])).toBeUndefined();
      expect(off[2]?.type === 'message' && off[2].decided.verdict).toMatchObject({
        outcome: 'deferred',
        releaseAt: T0 + 2 * MINUTE,
      });
    });
  });
});
