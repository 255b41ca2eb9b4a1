import { describe, expect, it } from 'vitest';
import {
  conflictsWith,
  type Decided,
  type EntryResult,
  emptyBase,
  type LogEntry,
  replay,
} from '#shared/domain/customer-log.ts';
import {
  aPolicy,
  DAY,
  facts,
  feedbackEntry,
  HOUR,
  MINUTE,
  messageEntry,
  policies,
  preferencesEntry,
  releaseEntry,
  T0,
} from './builders.ts';

const dailyThree = aPolicy({ caps: [{ id: 'daily', limit: 3, window: 'P1D' }] }, 1);
const dailyOne = aPolicy({ caps: [{ id: 'daily', limit: 1, window: 'P1D' }] }, 2);
const lookup = policies(dailyThree, dailyOne);

function verdicts(results: EntryResult[]) {
  return results.map((r) => (r.type === 'other' ? null : (r.decided?.verdict ?? null)));
}

function resultOf(results: EntryResult[], index: number): EntryResult {
  const result = results[index];
  if (!result) throw new RangeError(`no result at ${index}`);
  return result;
}

function verdictOf(results: EntryResult[], index: number) {
  const result = resultOf(results, index);
  if (result.type === 'other' || !result.decided) throw new TypeError(`entry ${index} has no decision`);
  return result.decided.verdict;
}

describe('replay', () => {
  describe('append, then decide', () => {
    it('accepts exactly the limit out of 200 simultaneous sends to one customer', () => {
      // Prepare
      const log = Array.from({ length: 200 }, (_, i) => messageEntry(T0, { key: `m-${i}` }));

      // Act
      const { state, results } = replay(emptyBase(), log, lookup);

      // Assess
      const outcomes = verdicts(results).map((v) => v?.outcome);
      expect(outcomes.filter((o) => o === 'accepted')).toHaveLength(3);
      expect(outcomes.slice(0, 3)).toEqual(['accepted', 'accepted', 'accepted']);
      expect(outcomes.filter((o) => o === 'suppressed')).toHaveLength(197);
      expect(state.sends.map((s) => s.key)).toEqual(['m-0', 'm-1', 'm-2']);
    });

    it('defers the overflow to the slots that free before the messages expire, and no more', () => {
      // Prepare: the slots of T0 free at T0 + 1d; those would free again at T0 + 2d, the expiry
      const log = Array.from({ length: 20 }, (_, i) =>
        messageEntry(T0, { key: `m-${i}`, expiresAt: T0 + 2 * DAY }),
      );

      // Act
      const { state, results } = replay(emptyBase(), log, lookup);

      // Assess
      const all = verdicts(results);
      expect(all.slice(0, 3).map((v) => v?.outcome)).toEqual(['accepted', 'accepted', 'accepted']);
      expect(all.slice(3, 6)).toEqual(
        Array(3).fill({
          outcome: 'deferred',
          channel: 'email',
          releaseAt: T0 + DAY,
          reason: 'frequency_cap',
          rule: 'daily',
        }),
      );
      expect(all.slice(6).every((v) => v?.outcome === 'suppressed' && v.reason === 'frequency_cap')).toBe(
        true,
      );
      expect([...state.pending.keys()]).toEqual(['m-3', 'm-4', 'm-5']);
    });

    it('gives every reader the same verdicts, and a reader of a shorter log the same verdicts for it', () => {
      // Prepare
      const log: LogEntry[] = [
        messageEntry(T0, { key: 'a', expiresAt: T0 + 3 * DAY }),
        messageEntry(T0 + MINUTE, { key: 'b', channel: 'sms', expiresAt: T0 + 3 * DAY }),
        preferencesEntry(T0 + 2 * MINUTE, { maxPerWeek: 3, channels: { push: { optIn: false } } }),
        messageEntry(T0 + 3 * MINUTE, { key: 'c', alternateChannels: ['push'], expiresAt: T0 + 3 * DAY }),
        messageEntry(T0 + 4 * MINUTE, { key: 'd', expiresAt: T0 + 3 * DAY }),
        messageEntry(T0 + 5 * MINUTE, { key: 'a' }),
        feedbackEntry(T0 + 6 * MINUTE, 'sms', 'complained'),
        messageEntry(T0 + 7 * MINUTE, { key: 'e', channel: 'sms', kind: 'transactional' }, 2),
        releaseEntry(T0 + 7 * DAY, 'd', T0 + 7 * DAY),
      ];

      // Act
      const first = replay(emptyBase(), log, lookup);
      const second = replay(emptyBase(), log, lookup);
      const prefixes = log.map((_, i) => replay(emptyBase(), log.slice(0, i + 1), lookup).results);

      // Assess
      expect(second).toEqual(first);
      prefixes.forEach((results, i) => {
        expect(results).toEqual(first.results.slice(0, i + 1));
      });
    });

    it('describes each entry by its position in the log', () => {
      // Prepare
      const log = [messageEntry(T0, { key: 'a' }), preferencesEntry(T0, {}), messageEntry(T0, { key: 'b' })];

      // Act
      const { results } = replay(emptyBase(), log, lookup);

      // Assess
      expect(results.map((r) => r.type)).toEqual(['message', 'other', 'message']);
      expect(resultOf(results, 2)).toMatchObject({ type: 'message', key: 'b', duplicate: false });
    });

    it('decides each message under the policy version its entry names', () => {
      // Prepare
      const log = [
        messageEntry(T0, { key: 'a' }, 2),
        messageEntry(T0, { key: 'b' }, 2),
        messageEntry(T0, { key: 'c' }, 1),
      ];

      // Act
      const { results } = replay(emptyBase(), log, lookup);

      // Assess
      expect(verdicts(results).map((v) => v?.outcome)).toEqual(['accepted', 'suppressed', 'accepted']);
      expect(resultOf(results, 1)).toMatchObject({ decided: { policyVersion: 2, at: T0 } });
    });
  });

  describe('duplicates of a message key', () => {
    it('resolve to the first decision and are counted once', () => {
      // Prepare
      const log = [
        messageEntry(T0, { key: 'a' }),
        messageEntry(T0 + MINUTE, { key: 'a' }),
        messageEntry(T0 + 2 * MINUTE, { key: 'a', channel: 'sms', expiresAt: T0 + 3 * MINUTE }),
      ];

      // Act
      const { state, results } = replay(emptyBase(), log, lookup);

      // Assess
      const first = resultOf(results, 0);
      expect(first).toMatchObject({ type: 'message', duplicate: false });
      for (const [i, conflict] of [
        [1, false],
        [2, true],
      ] as const) {
        expect(resultOf(results, i)).toEqual({
          type: 'message',
          key: 'a',
          decided: first.type === 'message' ? first.decided : undefined,
          duplicate: true,
          conflict,
        });
      }
      expect(state.sends).toHaveLength(1);
    });

    it.each([
      ['channel', { channel: 'sms' as const }],
      ['kind', { kind: 'transactional' as const }],
      ['category', { category: 'news' }],
      ['campaign', { campaignId: 'spring' }],
    ])('are a conflict when they name another %s than the first message', (_, other) => {
      // Prepare
      const facts = { key: 'a', category: 'promotions', campaignId: 'winter' };
      const log = [messageEntry(T0, facts), messageEntry(T0 + MINUTE, { ...facts, ...other })];

      // Act
      const { results } = replay(emptyBase(), log, lookup);

      // Assess
      expect(resultOf(results, 1)).toMatchObject({ duplicate: true, conflict: true });
    });

    it('are no conflict when only the relevance or the times differ', () => {
      // Prepare
      const log = [
        messageEntry(T0, { key: 'a', relevance: 0.5, expiresAt: T0 + DAY }),
        messageEntry(T0 + MINUTE, { key: 'a', relevance: 0.9, expiresAt: T0 + 2 * DAY, notBefore: T0 }),
      ];

      // Act
      const { results } = replay(emptyBase(), log, lookup);

      // Assess
      expect(resultOf(results, 1)).toMatchObject({ duplicate: true, conflict: false });
    });

    it('stay suppressed after the cap that suppressed the first has freed', () => {
      // Prepare
      const log = [
        messageEntry(T0, { key: 'a' }, 2),
        messageEntry(T0, { key: 'b' }, 2),
        messageEntry(T0 + 2 * DAY, { key: 'b' }, 2),
      ];

      // Act
      const { results } = replay(emptyBase(), log, lookup);

      // Assess
      expect(verdictOf(results, 2)).toMatchObject({ outcome: 'suppressed', reason: 'frequency_cap' });
    });
  });

  describe('preference changes', () => {
    it('affect only the entries after them', () => {
      // Prepare
      const log = [
        messageEntry(T0, { key: 'a' }),
        preferencesEntry(T0 + MINUTE, { channels: { email: { optIn: false, source: 'preference-centre' } } }),
        messageEntry(T0 + 2 * MINUTE, { key: 'b' }),
        messageEntry(T0 + 3 * MINUTE, { key: 'a' }),
        preferencesEntry(T0 + 4 * MINUTE, { channels: { email: { optIn: true } } }),
        messageEntry(T0 + 5 * MINUTE, { key: 'c' }),
      ];

      // Act
      const { results } = replay(emptyBase(), log, lookup);

      // Assess
      expect(verdictOf(results, 0)).toEqual({ outcome: 'accepted', channel: 'email' });
      expect(verdictOf(results, 2)).toMatchObject({ outcome: 'suppressed', reason: 'opted_out' });
      expect(verdictOf(results, 3)).toEqual({ outcome: 'accepted', channel: 'email' });
      expect(verdictOf(results, 5)).toEqual({ outcome: 'accepted', channel: 'email' });
    });

    it('replace the whole set of preferences', () => {
      // Prepare
      const log = [
        preferencesEntry(T0, { topics: { promotions: false } }),
        preferencesEntry(T0 + MINUTE, { maxPerWeek: 5 }),
        messageEntry(T0 + 2 * MINUTE, { category: 'promotions' }),
      ];

      // Act
      const { state, results } = replay(emptyBase(), log, lookup);

      // Assess
      expect(verdictOf(results, 2)).toEqual({ outcome: 'accepted', channel: 'email' });
      expect(state.preferences).toEqual({ channels: {}, topics: {}, maxPerWeek: 5 });
    });
  });

  describe('feedback', () => {
    it.each([
      ['unsubscribed', 'opted_out', 'accepted'],
      ['complained', 'complained', 'complained'],
      ['bounced_hard', 'hard_bounce', 'hard_bounce'],
    ] as const)(
      'after %s on a channel, marketing there is refused as %s and transactional there ends %s',
      (feedback, marketing, transactional) => {
        // Prepare
        const log = [
          feedbackEntry(T0, 'email', feedback),
          messageEntry(T0 + MINUTE, { key: 'promo' }),
          messageEntry(T0 + MINUTE, { key: 'receipt', kind: 'transactional' }),
          messageEntry(T0 + MINUTE, { key: 'promo-sms', channel: 'sms' }),
        ];

        // Act
        const { state, results } = replay(emptyBase(), log, lookup);

        // Assess
        expect(verdictOf(results, 1)).toMatchObject({ outcome: 'suppressed', reason: marketing });
        if (transactional === 'accepted')
          expect(verdictOf(results, 2)).toEqual({ outcome: 'accepted', channel: 'email' });
        else expect(verdictOf(results, 2)).toMatchObject({ outcome: 'suppressed', reason: transactional });
        expect(verdictOf(results, 3)).toEqual({ outcome: 'accepted', channel: 'sms' });
        expect(state.preferences.channels.email).toEqual({
          optIn: false,
          source: feedback,
          at: '2026-03-02T10:00:00.000Z',
        });
      },
    );

    it('keeps a hard suppression through a preference change that does not opt the channel in again', () => {
      // Prepare
      const log = [
        feedbackEntry(T0, 'email', 'bounced_hard'),
        preferencesEntry(T0 + MINUTE, { topics: { news: true } }),
        messageEntry(T0 + 2 * MINUTE, { kind: 'transactional' }),
      ];

      // Act
      const { results } = replay(emptyBase(), log, lookup);

      // Assess
      expect(verdictOf(results, 2)).toMatchObject({ outcome: 'suppressed', reason: 'hard_bounce' });
    });

    it('lifts a hard suppression when the customer opts the channel in again', () => {
      // Prepare
      const log = [
        feedbackEntry(T0, 'email', 'complained'),
        preferencesEntry(T0 + MINUTE, { channels: { email: { optIn: true, source: 'preference-centre' } } }),
        messageEntry(T0 + 2 * MINUTE, { kind: 'transactional' }),
      ];

      // Act
      const { state, results } = replay(emptyBase(), log, lookup);

      // Assess
      expect(verdictOf(results, 2)).toEqual({ outcome: 'accepted', channel: 'email' });
      expect(state.suppressions).toEqual({});
    });
  });

  describe('releases of deferred messages', () => {
    // m-0 fills the single daily slot at T0 - 1h; m-1 is deferred to T0 + 23h and expires at T0 + 25h
    const releaseAt = T0 + 23 * HOUR;
    const expiresAt = T0 + 25 * HOUR;
    const deferred: LogEntry[] = [
      messageEntry(T0 - HOUR, { key: 'm-0' }, 2),
      messageEntry(T0, { key: 'm-1', expiresAt }, 2),
    ];

    it('defers a message and reserves its slot', () => {
      // Act
      const { state, results } = replay(emptyBase(), deferred, lookup);

      // Assess
      expect(verdictOf(results, 1)).toEqual({
        outcome: 'deferred',
        channel: 'email',
        releaseAt,
        reason: 'frequency_cap',
        rule: 'daily',
      });
      expect(state.pending.get('m-1')).toMatchObject({ releaseAt, policyVersion: 2 });
      expect(state.sends.map((s) => [s.key, s.at])).toEqual([
        ['m-0', T0 - HOUR],
        ['m-1', releaseAt],
      ]);
    });

    it('makes later messages respect the reserved slot', () => {
      // Prepare
      const log = [...deferred, messageEntry(T0 + MINUTE, { key: 'm-2', expiresAt: T0 + 3 * DAY }, 2)];

      // Act
      const { results } = replay(emptyBase(), log, lookup);

      // Assess
      expect(verdictOf(results, 2)).toMatchObject({ outcome: 'deferred', releaseAt: releaseAt + DAY });
    });

    it('sends the message at the moment it reserved, even when the release runs late', () => {
      // Prepare
      const log = [...deferred, releaseEntry(releaseAt + 5 * MINUTE, 'm-1', releaseAt, 2)];

      // Act
      const { state, results } = replay(emptyBase(), log, lookup);

      // Assess
      expect(resultOf(results, 2)).toEqual({
        type: 'release',
        key: 'm-1',
        decided: {
          verdict: { outcome: 'accepted', channel: 'email' },
          policyVersion: 2,
          at: releaseAt + 5 * MINUTE,
        },
        stale: false,
      });
      expect(state.pending.size).toBe(0);
      expect(state.sends.filter((s) => s.key === 'm-1')).toEqual([
        expect.objectContaining({ at: releaseAt }),
      ]);
    });

    it('keeps answering retries of a released message with its first decision', () => {
      // Prepare
      const log = [
        ...deferred,
        releaseEntry(releaseAt, 'm-1', releaseAt, 2),
        messageEntry(releaseAt + MINUTE, { key: 'm-1' }, 2),
      ];

      // Act
      const { results } = replay(emptyBase(), log, lookup);

      // Assess
      expect(resultOf(results, 3)).toMatchObject({
        duplicate: true,
        decided: { verdict: { outcome: 'deferred', releaseAt } },
      });
    });

    it.each([
      ['at the moment it reserved', releaseAt, 'accepted'],
      ['a millisecond before it expires', expiresAt - 1, 'accepted'],
      ['exactly when it expires', expiresAt, 'suppressed'],
      ['after it expired', expiresAt + HOUR, 'suppressed'],
    ] as const)('a release running %s (%i) leaves the message %s', (_, when, outcome) => {
      // Prepare
      const log = [...deferred, releaseEntry(when, 'm-1', releaseAt, 2)];

      // Act
      const { state, results } = replay(emptyBase(), log, lookup);

      // Assess
      const verdict = verdictOf(results, 2);
      expect(verdict.outcome).toBe(outcome);
      if (outcome === 'suppressed') {
        expect(verdict).toMatchObject({ reason: 'expired', rule: 'expiresAt' });
        expect(state.sends.map((s) => s.key)).toEqual(['m-0']);
      }
      expect(state.pending.size).toBe(0);
    });

    it.each([
      ['opted out of the channel', { channels: { email: { optIn: false } } }, 'opted_out'],
      ['paused', { pausedUntil: '2026-04-01T00:00:00Z' }, 'paused'],
      ['opted out of the topic', { topics: { promotions: false } }, 'topic_opted_out'],
    ] as const)(
      'suppresses a message whose customer %s meanwhile, and frees its slot',
      (_, preferences, reason) => {
        // Prepare
        const log = [
          ...deferred.slice(0, 1),
          messageEntry(T0, { key: 'm-1', category: 'promotions', expiresAt }, 2),
          preferencesEntry(T0 + HOUR, preferences),
          releaseEntry(releaseAt, 'm-1', releaseAt, 2),
          preferencesEntry(releaseAt + MINUTE, {}),
          messageEntry(releaseAt + MINUTE, { key: 'm-2' }, 2),
        ];

        // Act
        const { state, results } = replay(emptyBase(), log, lookup);

        // Assess
        expect(verdictOf(results, 3)).toMatchObject({ outcome: 'suppressed', reason });
        expect(verdictOf(results, 5)).toEqual({ outcome: 'accepted', channel: 'email' });
        expect(state.pending.size).toBe(0);
      },
    );

    it('decides the message again under the policy the release names', () => {
      // Prepare: version 3 adds quiet hours; the reserved moment, 09:00 UTC, is inside them
      const quiet = aPolicy(
        {
          caps: [{ id: 'daily', limit: 1, window: 'P1D' }],
          quietHours: { start: '08:00', end: '10:00', defaultTimezone: 'UTC' },
        },
        3,
      );
      const withQuiet = policies(dailyThree, dailyOne, quiet);
      const log = [
        ...deferred,
        releaseEntry(releaseAt, 'm-1', releaseAt, 3),
        releaseEntry(releaseAt + HOUR, 'm-1', releaseAt + HOUR, 3),
      ];

      // Act
      const { state, results } = replay(emptyBase(), log, withQuiet);

      // Assess
      expect(verdictOf(results, 2)).toEqual({
        outcome: 'deferred',
        channel: 'email',
        releaseAt: releaseAt + HOUR,
        reason: 'quiet_hours_expired',
        rule: 'quietHours',
      });
      expect(resultOf(results, 3)).toMatchObject({
        stale: false,
        decided: { verdict: { outcome: 'accepted' } },
      });
      expect(state.sends.filter((s) => s.key === 'm-1').map((s) => s.at)).toEqual([releaseAt + HOUR]);
    });

    it.each([
      ['for another moment than the one reserved', [releaseEntry(releaseAt, 'm-1', releaseAt + MINUTE, 2)]],
      ['twice', [releaseEntry(releaseAt, 'm-1', releaseAt, 2), releaseEntry(releaseAt, 'm-1', releaseAt, 2)]],
      ['for a message never deferred', [releaseEntry(releaseAt, 'm-0', releaseAt, 2)]],
    ])('ignores as stale a release %s', (_, releases) => {
      // Prepare
      const log = [...deferred, ...releases];
      const before = replay(emptyBase(), log.slice(0, log.length - 1), lookup).state;

      // Act
      const { state, results } = replay(emptyBase(), log, lookup);

      // Assess
      expect(results.at(-1)).toMatchObject({ type: 'release', stale: true });
      expect(state).toEqual(before);
    });

    it('reports a stale release with the first decision of its message', () => {
      // Prepare
      const log = [...deferred, releaseEntry(releaseAt, 'm-1', releaseAt + MINUTE, 2)];

      // Act
      const { results } = replay(emptyBase(), log, lookup);

      // Assess
      expect(resultOf(results, 2)).toMatchObject({
        decided: { verdict: { outcome: 'deferred', releaseAt } },
      });
    });
  });
});

describe('release of a deferred message', () => {
  it('does not judge relevance again: the slot was reserved for it', () => {
    // Prepare: deferred by the daily cap under a lenient threshold, released under a strict one
    const lenient = aPolicy(
      { caps: [{ id: 'daily', limit: 1, window: 'P1D' }], relevance: { default: 0.2 } },
      1,
    );
    const strict = aPolicy(
      { caps: [{ id: 'daily', limit: 1, window: 'P1D' }], relevance: { default: 0.9 } },
      2,
    );
    const log: LogEntry[] = [
      messageEntry(T0, { key: 'm-0' }, 1),
      messageEntry(T0 + MINUTE, { key: 'm-1', relevance: 0.35, expiresAt: T0 + 2 * DAY }, 1),
      releaseEntry(T0 + DAY, 'm-1', T0 + DAY, 2),
    ];

    // Act
    const { results } = replay(emptyBase(), log, policies(lenient, strict));

    // Assess
    expect(verdictOf(results, 1)).toMatchObject({ outcome: 'deferred', releaseAt: T0 + DAY });
    expect(verdictOf(results, 2)).toEqual({ outcome: 'accepted', channel: 'email' });
  });
});

describe('replay of what compaction left', () => {
  it('describes settled and folded entries as other entries, deciding nothing', () => {
    // Prepare
    const log: LogEntry[] = [
      {
        type: 'settled',
        key: 'a',
        at: T0,
        policyVersion: 1,
        first: { outcome: 'accepted', channel: 'email' },
        send: { key: 'a', at: T0, channel: 'email', kind: 'marketing' },
      },
      {
        type: 'folded',
        at: T0,
        send: { key: '', at: T0, since: T0 - DAY, channel: 'email', kind: 'marketing', count: 2 },
      },
    ];

    // Act
    const { state, results } = replay(emptyBase(), log, lookup);

    // Assess
    expect(results).toEqual([{ type: 'other' }, { type: 'other' }]);
    expect(state.sends).toHaveLength(2);
  });

  it('takes no retry for a conflict on the channel or kind of a decision that did not record them', () => {
    // Prepare: a decision settled before decisions recorded the channel and kind they were asked for
    const earlier: Decided = { verdict: { outcome: 'accepted', channel: 'email' }, policyVersion: 1, at: T0 };

    // Act, Assess
    expect(conflictsWith(earlier, facts({ channel: 'sms' }))).toBe(false);
    expect(conflictsWith(earlier, facts({ kind: 'transactional' }))).toBe(false);
    expect(conflictsWith({ ...earlier, channel: 'email' }, facts({ channel: 'sms' }))).toBe(true);
    expect(conflictsWith({ ...earlier, kind: 'marketing' }, facts({ kind: 'transactional' }))).toBe(true);
  });
});

describe('hard suppressions and preference changes', () => {
  it('keeps a hard suppression when the new preferences opt the channel out', () => {
    // Prepare
    const log = [
      feedbackEntry(T0, 'email', 'complained'),
      preferencesEntry(T0 + MINUTE, { channels: { email: { optIn: false, source: 'preference-centre' } } }),
      messageEntry(T0 + 2 * MINUTE, { kind: 'transactional' }),
    ];

    // Act
    const { state, results } = replay(emptyBase(), log, lookup);

    // Assess
    expect(verdictOf(results, 2)).toMatchObject({ outcome: 'suppressed', reason: 'complained' });
    expect(state.suppressions).toEqual({ email: 'complained' });
  });
});

describe('the release margin a writer decided under', () => {
  // One message a minute: b, a second after a, can go a minute after a
  const perMinute = aPolicy({ caps: [{ id: 'per-minute', limit: 1, window: 'PT1M' }] }, 1);
  // and, from version 2, one every two minutes
  const perTwoMinutes = aPolicy({ caps: [{ id: 'per-minute', limit: 1, window: 'PT2M' }] }, 2);
  const versions = policies(perMinute, perTwoMinutes);
  const withMargin = (entry: LogEntry, releaseMarginMs: number): LogEntry =>
    entry.type === 'message' || entry.type === 'release' ? { ...entry, releaseMarginMs } : entry;

  it.each([
    ['without one, the default 90 s: the release could land after the expiry', undefined, 'suppressed'],
    ['of 10 s: the release lands before the expiry', 10_000, 'deferred'],
  ])(
    'defers a message to the next slot only when its release lands before its expiry, %s',
    (_, margin, outcome) => {
      // Prepare: b expires two minutes after a, a minute after its slot
      const b = messageEntry(T0 + 1000, { key: 'b', expiresAt: T0 + 2 * MINUTE });
      const log = [messageEntry(T0, { key: 'a' }), margin === undefined ? b : withMargin(b, margin)];

      // Act
      const { results } = replay(emptyBase(), log, versions);

      // Assess
      expect(verdictOf(results, 1)).toMatchObject({ outcome });
    },
  );

  it.each([
    ['without one, the default 90 s', undefined, 'suppressed'],
    ['of 10 s', 10_000, 'deferred'],
  ])(
    'defers a released message again only when its next release lands before its expiry, %s',
    (_, margin, outcome) => {
      // Prepare: b is deferred to a minute after a, expiring 2.5 min after a; its release, under version 2,
      // finds its next slot at two minutes after a
      const b = withMargin(messageEntry(T0 + 1000, { key: 'b', expiresAt: T0 + 150_000 }), 10_000);
      const release = releaseEntry(T0 + MINUTE, 'b', T0 + MINUTE, 2);
      const log = [
        messageEntry(T0, { key: 'a' }),
        b,
        margin === undefined ? release : withMargin(release, margin),
      ];

      // Act
      const { results } = replay(emptyBase(), log, versions);

      // Assess
      expect(verdictOf(results, 1)).toMatchObject({ outcome: 'deferred', releaseAt: T0 + MINUTE });
      expect(verdictOf(results, 2)).toMatchObject({ outcome });
    },
  );
});
