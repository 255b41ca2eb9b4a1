import { describe, expect, it } from 'vitest';
import { decodeBlock, decodeEntry, encodeBlock, encodeEntry } from '#shared/adapters/dynamodb/entry-codec.ts';
import {
  CLOCK_SKEW_MARGIN_MS,
  type CompactionLimits,
  type CustomerBase,
  compact,
  type EntryResult,
  emptyBase,
  type LogEntry,
  replay,
} from '#shared/domain/customer-log.ts';
import { compilePolicy, type MessageFacts } from '#shared/domain/decision.ts';
import type { Channel, PreferencesInput } from '#shared/domain/schemas.ts';
import { propertyRuns } from '../support/property-runs.ts';
import {
  aPolicy,
  DAY,
  feedbackEntry,
  HOUR,
  MINUTE,
  messageEntry,
  policies,
  preferencesEntry,
  releaseEntry,
  SECOND,
  seeded,
  T0,
  WEEK,
} from './builders.ts';

const weeklyTwo = aPolicy({ caps: [{ id: 'weekly', limit: 2, window: 'P7D' }] }, 1);
const lookup = policies(weeklyTwo);
const limits: CompactionLimits = { horizonMs: WEEK, idempotencyMs: DAY };

function keysOf(entries: LogEntry[]): string[] {
  return entries.flatMap((e) => (e.type === 'settled' ? [e.key] : []));
}

describe('compact', () => {
  it.each([
    ['a millisecond inside the longest window', WEEK - 1, true],
    ['exactly the longest window old, for a writer whose clock is behind', WEEK, true],
    ['the longest window and the skew margin old, less a millisecond', WEEK + CLOCK_SKEW_MARGIN_MS - 1, true],
    ['the longest window and the skew margin old', WEEK + CLOCK_SKEW_MARGIN_MS, false],
    ['older than the longest window', WEEK + HOUR, false],
  ])('a send %s (%i ms old) is kept, as it can still count: %s', (_, age, kept) => {
    // Prepare
    const now = T0 + 30 * DAY;
    const { state } = replay(emptyBase(), [messageEntry(now - age, { key: 'a' })], lookup);

    // Act
    const { entries } = compact(state, now, limits);

    // Assess
    expect(keysOf(entries)).toEqual(kept ? ['a'] : []);
  });

  it.each([
    ['a millisecond inside the idempotency window', DAY - 1, true],
    ['exactly the idempotency window old', DAY, false],
  ])('a decision that counted nothing, %s (%i ms old), is remembered for retries: %s', (_, age, kept) => {
    // Prepare: a suppressed message counts no send
    const now = T0 + 30 * DAY;
    const log = [preferencesEntry(now - age, { maxPerWeek: 0 }), messageEntry(now - age, { key: 'a' })];
    const { state } = replay(emptyBase(), log, lookup);

    // Act
    const { entries } = compact(state, now, limits);

    // Assess
    expect(keysOf(entries)).toEqual(kept ? ['a'] : []);
  });

  it('keeps a deferral that is still pending, and the send it reserved', () => {
    // Prepare: b is deferred a week ahead, to when a frees its slot
    const log = [
      messageEntry(T0, { key: 'a' }),
      messageEntry(T0, { key: 'x' }),
      messageEntry(T0 + HOUR, { key: 'b', expiresAt: T0 + 30 * DAY }),
    ];
    const { state } = replay(emptyBase(), log, lookup);

    // Act
    const { entries } = compact(state, T0 + 3 * DAY, { horizonMs: WEEK, idempotencyMs: HOUR });

    // Assess
    const b = entries.find((e) => e.type === 'settled' && e.key === 'b');
    expect(b).toMatchObject({
      type: 'settled',
      first: { outcome: 'deferred', releaseAt: T0 + WEEK },
      send: { key: 'b', at: T0 + WEEK },
      pending: { releaseAt: T0 + WEEK },
    });
  });

  it('folds preferences and hard suppressions into the base', () => {
    // Prepare
    const log = [
      preferencesEntry(T0, { topics: { promotions: false }, maxPerWeek: 3 }),
      feedbackEntry(T0 + MINUTE, 'sms', 'bounced_hard'),
    ];
    const { state } = replay(emptyBase(), log, lookup);

    // Act
    const { base, entries } = compact(state, T0 + HOUR, limits);

    // Assess
    expect(entries).toEqual([]);
    expect(base.suppressions).toEqual({ sms: 'hard_bounce' });
    expect(base.preferences).toMatchObject({
      topics: { promotions: false },
      maxPerWeek: 3,
      channels: { sms: { optIn: false } },
    });
  });

  it('freezes the decisions it keeps, so that retries get the same answer after it', () => {
    // Prepare: a was accepted; once a preference change would refuse it, its retry must still be accepted
    const log = [messageEntry(T0, { key: 'a' })];
    const { state } = replay(emptyBase(), log, lookup);
    const compacted = compact(state, T0 + HOUR, limits);
    const later = [
      preferencesEntry(T0 + 2 * HOUR, { channels: { email: { optIn: false } } }),
      messageEntry(T0 + 3 * HOUR, { key: 'a' }),
    ];

    // Act
    const { results } = replay(compacted.base, [...compacted.entries, ...later], lookup);

    // Assess
    expect(results.at(-1)).toEqual({
      type: 'message',
      key: 'a',
      decided: {
        verdict: { outcome: 'accepted', channel: 'email' },
        policyVersion: 1,
        at: T0,
        channel: 'email',
        kind: 'marketing',
      },
      duplicate: true,
      conflict: false,
    });
  });

  it('keeps what a late release still needs: the sends its reserved moment counts', () => {
    // Prepare: a and b fill the weekly cap; c is deferred to T0 + 7d, when a frees its slot; then the
    // customer lowers their maximum to 1 a week, so at T0 + 7d b (sent 30 s after a) still holds the slot
    const releaseAt = T0 + WEEK;
    const before: LogEntry[] = [
      messageEntry(T0, { key: 'a' }),
      messageEntry(T0 + 30 * SECOND, { key: 'b' }),
      messageEntry(T0 + HOUR, { key: 'c', expiresAt: T0 + 14 * DAY }),
      preferencesEntry(T0 + 2 * HOUR, { maxPerWeek: 1 }),
      messageEntry(releaseAt + MINUTE, { key: 'd' }),
    ];
    // the release runs a minute late, after a compaction at the time of the last write
    const after = [releaseEntry(releaseAt + 2 * MINUTE, 'c', releaseAt)];
    const { state } = replay(emptyBase(), before, lookup);
    const compacted = compact(state, releaseAt + MINUTE, limits);

    // Act
    const whole = replay(emptyBase(), [...before, ...after], lookup).results.at(-1);
    const resumed = replay(compacted.base, [...compacted.entries, ...after], lookup).results.at(-1);

    // Assess
    expect(whole).toMatchObject({
      stale: false,
      decided: {
        verdict: { outcome: 'deferred', releaseAt: releaseAt + 30 * SECOND, rule: 'customer.maxPerWeek' },
      },
    });
    expect(resumed).toEqual(whole);
  });

  describe('property: replaying a compacted log decides exactly as replaying the whole log', () => {
    const richer = aPolicy(
      {
        caps: [
          { id: 'daily', limit: 2, window: 'P1D' },
          { id: 'sms-hourly', limit: 1, window: 'PT1H', match: { channel: 'sms' } },
          { id: 'promotions-gap', minGap: 'PT3H', match: { category: 'promotions' } },
          { id: 'weekly', limit: 5, window: 'P7D' },
          { id: 'otp', limit: 3, window: 'PT30S', match: { kind: 'transactional' } },
        ],
        relevance: { default: 0.2, byChannel: { push: 0.4 }, pressureSlope: 0.5 },
        quietHours: { start: '21:00', end: '08:00', defaultTimezone: 'Europe/Paris' },
      },
      1,
    );
    const stricter = aPolicy(
      {
        caps: [
          { id: 'daily', limit: 1, window: 'P1D' },
          { id: 'fortnight', limit: 2, window: 'P14D' },
          { id: 'spring', limit: 1, window: 'P3D', match: { campaignId: 'spring' } },
        ],
        relevance: { default: 0.1, byCategory: { promotions: 0.5 } },
      },
      2,
    );
    const versions = policies(richer, stricter);
    const propertyLimits: CompactionLimits = {
      horizonMs: Math.max(compilePolicy(richer).horizonMs, compilePolicy(stricter).horizonMs),
      idempotencyMs: 2 * DAY,
    };
    const channels: Channel[] = ['email', 'sms', 'push', 'whatsapp'];
    const steps = [0, 0, 30 * SECOND, MINUTE, 10 * MINUTE, HOUR, 5 * HOUR, 13 * HOUR, 2 * DAY];

    /** A random but valid log: time never goes back, releases name a pending deferral, retries are recent. */
    function randomLog(seed: number, length: number): LogEntry[] {
      const r = seeded(seed);
      const log: LogEntry[] = [];
      const firstSeen: { key: string; at: number }[] = [];
      let t = T0;
      while (log.length < length) {
        t += r.pick(steps);
        const roll = r.next();
        if (roll < 0.15) {
          const due = [...replay(emptyBase(), log, versions).state.pending].filter(
            ([, p]) => p.releaseAt <= t,
          );
          if (due.length > 0) {
            const [key, pending] = r.pick(due);
            log.push(releaseEntry(t, key, pending.releaseAt, r.pick([1, 2])));
            if (r.chance(0.2)) log.push(releaseEntry(t, key, pending.releaseAt, 1));
            continue;
          }
        }
        if (roll < 0.2) {
          const prefs: PreferencesInput = {};
          if (r.chance(0.5)) prefs.channels = { [r.pick(channels)]: { optIn: r.chance(0.4) } };
          if (r.chance(0.3)) prefs.topics = { promotions: false };
          if (r.chance(0.4)) prefs.maxPerWeek = r.int(0, 6);
          if (r.chance(0.2)) prefs.pausedUntil = new Date(t + r.int(1, 48) * HOUR).toISOString();
          if (r.chance(0.3)) prefs.timezone = r.pick(['America/New_York', 'UTC', 'Asia/Tokyo']);
          if (r.chance(0.2)) prefs.quietHours = { start: '12:00', end: '14:00' };
          if (r.chance(0.3)) prefs.preferredChannels = [r.pick(channels), r.pick(channels)];
          log.push(preferencesEntry(t, prefs));
          continue;
        }
        if (roll < 0.23) {
          log.push(
            feedbackEntry(
              t,
              r.pick(channels),
              r.pick(['unsubscribed', 'complained', 'bounced_hard'] as const),
            ),
          );
          continue;
        }
        const recent = firstSeen.filter((k) => k.at > t - DAY);
        if (roll < 0.3 && recent.length > 0) {
          log.push(messageEntry(t, { key: r.pick(recent).key, channel: r.pick(channels) }, r.pick([1, 2])));
          continue;
        }
        const key = `m-${log.length}`;
        firstSeen.push({ key, at: t });
        const facts: Partial<MessageFacts> = {
          key,
          channel: r.pick(channels),
          kind: r.chance(0.15) ? 'transactional' : 'marketing',
          category: r.pick([undefined, 'promotions', 'news']),
          campaignId: r.pick([undefined, 'spring', 'summer']),
        };
        if (r.chance(0.7)) facts.relevance = r.next();
        if (r.chance(0.2)) facts.notBefore = t + r.int(0, 30) * HOUR;
        if (r.chance(0.7))
          facts.expiresAt =
            Math.max(t, facts.notBefore ?? t) + r.pick([HOUR, 6 * HOUR, DAY, 3 * DAY, 10 * DAY]);
        if (r.chance(0.3)) facts.alternateChannels = [r.pick(channels), r.pick(channels)];
        log.push(messageEntry(t, facts, r.pick([1, 1, 2])));
      }
      return log;
    }

    /** A compacted log as the customer store writes it (one block) and reads it back. */
    function stored(compacted: { base: CustomerBase; entries: LogEntry[] }) {
      const block = encodeBlock(compacted.base, compacted.entries);
      return block === undefined ? { base: emptyBase(), entries: [] } : decodeBlock(block);
    }

    /**
     * Appends the log entry by entry, as writers do (through the store's text format), compacting before some entries at an instant between
     * the previous entry and that one.
     */
    function appendWithCompactions(log: LogEntry[], seed: number) {
      const r = seeded(seed * 7919);
      const compactBefore = new Set(Array.from({ length: 4 }, () => r.int(1, log.length - 1)));
      let base: CustomerBase = emptyBase();
      let entries: LogEntry[] = [];
      const results: EntryResult[] = [];
      const kept: { key: string; decided: unknown }[] = [];
      for (const [i, entry] of log.entries()) {
        const previous = log[i - 1];
        if (compactBefore.has(i) && previous) {
          const now = r.int(previous.at, entry.at);
          const { state } = replay(base, entries, versions);
          ({ base, entries } = stored(compact(state, now, propertyLimits)));
          const compacted = replay(base, entries, versions).state;
          for (const key of keysOf(entries)) kept.push({ key, decided: compacted.decisions.get(key) });
        }
        entries.push(decodeEntry(encodeEntry(entry)));
        const last = replay(base, entries, versions).results.at(-1);
        if (last) results.push(last);
      }
      return { results, kept };
    }

    /** What must not change: every decision, and whether a release was stale. */
    function comparable(result: EntryResult | undefined) {
      if (!result || result.type === 'other') return result;
      if (result.type === 'release' && result.stale) return { type: 'release', key: result.key, stale: true };
      return result;
    }

    const LOGS = propertyRuns(300);
    it(`holds for ${LOGS} random logs of 70 entries, each compacted 4 times`, () => {
      for (let seed = 1; seed <= LOGS; seed++) {
        // Prepare
        const log = randomLog(seed, 70);

        // Act
        const whole = replay(emptyBase(), log, versions);
        const compacted = appendWithCompactions(log, seed);

        // Assess: the kept keys keep their decisions...
        for (const { key, decided } of compacted.kept) {
          expect(decided, `seed ${seed}: decision of ${key}`).toEqual(whole.state.decisions.get(key));
        }
        // ...and every entry is decided the same with and without compaction
        expect(compacted.results.map(comparable), `seed ${seed}`).toEqual(whole.results.map(comparable));
      }
      // Seconds alone; minutes on a loaded machine, which must not fail it.
    }, 300_000);

    it('is exercised by logs that defer, release, suppress, retry and compact something', () => {
      // Prepare
      const outcomes = new Set<string>();
      let dropped = 0;

      // Act
      for (let seed = 1; seed <= 60; seed++) {
        const log = randomLog(seed, 70);
        const { state, results } = replay(emptyBase(), log, versions);
        for (const result of results) {
          if (result.type === 'other') continue;
          const kind = result.type === 'message' && result.duplicate ? 'retry' : result.type;
          outcomes.add(
            `${kind}:${result.type === 'release' && result.stale ? 'stale' : result.decided.verdict.outcome}`,
          );
        }
        const last = log.at(-1);
        if (last)
          dropped += state.decisions.size - keysOf(compact(state, last.at, propertyLimits).entries).length;
      }

      // Assess
      expect([...outcomes].sort()).toEqual(
        expect.arrayContaining([
          'message:accepted',
          'message:deferred',
          'message:suppressed',
          'release:accepted',
          'release:deferred',
          'release:stale',
          'release:suppressed',
          'retry:accepted',
        ]),
      );
      expect(dropped).toBeGreaterThan(0);
    });
  });

  describe('bounds, whatever a customer is sent', () => {
    const twoAWeekAnHourApart = aPolicy(
      {
        caps: [
          { id: 'weekly', limit: 2, window: 'P7D' },
          { id: 'gap', minGap: 'PT1H' },
        ],
      },
      1,
    );
    const rules = policies(twoAWeekAnHourApart);
    const compiledRules = [compilePolicy(twoAWeekAnHourApart)];

    it('keeps, per count rule, the most recent `limit` matching sends, and decides the next message alike', () => {
      // Prepare: six sends over six days, older than the idempotency window but the last
      const log = Array.from({ length: 6 }, (_, i) => ({
        type: 'settled' as const,
        key: `s${i}`,
        at: T0 + i * DAY,
        policyVersion: 1,
        first: { outcome: 'accepted' as const, channel: 'email' as Channel },
        send: { key: `s${i}`, at: T0 + i * DAY, channel: 'email' as Channel, kind: 'marketing' as const },
      }));
      const now = T0 + 6 * DAY;
      const { state } = replay(emptyBase(), log, rules);

      // Act
      const { entries } = compact(state, now, { ...limits, policies: compiledRules, sendBudget: 2 });
      const next = messageEntry(now + HOUR, { key: 'n', expiresAt: now + 10 * DAY });

      // Assess: the two most recent stay, and the next message waits as long as with all six (until the
      // older of the two frees its slot)
      expect(keysOf(entries)).toEqual(['s4', 's5']);
      const whole = replay(emptyBase(), [...log, next], rules).results.at(-1);
      expect(replay(emptyBase(), [...entries, next], rules).results.at(-1)).toEqual(whole);
      expect(whole).toMatchObject({
        decided: { verdict: { outcome: 'deferred', releaseAt: T0 + 11 * DAY } },
      });
    });

    it('remembers the last decisions that hold nothing, and counts by day those it has to forget', () => {
      // Prepare: ten refusals today
      const log = [
        preferencesEntry(T0, { maxPerWeek: 0 }),
        ...Array.from({ length: 10 }, (_, i) => messageEntry(T0 + i * MINUTE, { key: `r${i}` })),
      ];
      const { state } = replay(emptyBase(), log, rules);

      // Act
      const { base, entries } = compact(state, T0 + HOUR, { ...limits, maxRemembered: 3 });

      // Assess
      expect(keysOf(entries)).toEqual(['r7', 'r8', 'r9']);
      expect(base.forgotten).toEqual({ [new Date(T0).toISOString().slice(0, 10)]: 7 });
    });

    it('never lets a message through that exact windows would hold back, once it folds sends past its budget', () => {
      const generous = aPolicy(
        {
          caps: [
            { id: 'daily-sms', limit: 3, window: 'P1D', match: { channel: 'sms' } },
            { id: 'weekly-promo', limit: 6, window: 'P7D', match: { category: 'promotions' } },
            { id: 'gap', minGap: 'PT2H', match: { campaignId: 'spring' } },
          ],
        },
        1,
      );
      const versions = policies(generous);
      const channels: Channel[] = ['email', 'sms', 'push'];
      let folds = 0;
      for (let seed = 1; seed <= 60; seed++) {
        // Prepare: a random fortnight of sends, then a compaction with room for two
        const r = seeded(seed);
        const log: LogEntry[] = [];
        let t = T0;
        for (let i = 0; i < 30; i++) {
          t += r.pick([10 * MINUTE, HOUR, 3 * HOUR, 9 * HOUR, DAY]);
          log.push(
            messageEntry(t, {
              key: `m${i}`,
              channel: r.pick(channels),
              category: r.pick([undefined, 'promotions']),
              campaignId: r.pick([undefined, 'spring']),
              expiresAt: t + r.pick([HOUR, DAY]),
            }),
          );
        }
        const { state } = replay(emptyBase(), log, versions);
        const compacted = compact(state, t, {
          horizonMs: WEEK,
          idempotencyMs: HOUR,
          policies: [compilePolicy(generous)],
          sendBudget: 2,
        });
        if (compacted.entries.some((e) => e.type === 'folded')) folds++;

        // Act: the next messages, decided from the compacted log and from the whole one
        for (let j = 0; j < 10; j++) {
          const probe = messageEntry(t + r.pick([MINUTE, HOUR, 5 * HOUR, DAY, 3 * DAY, 6 * DAY]), {
            key: `p${j}`,
            channel: r.pick(channels),
            category: r.pick([undefined, 'promotions']),
            campaignId: r.pick([undefined, 'spring']),
          });
          const exact = replay(emptyBase(), [...log, probe], versions).results.at(-1);
          const bounded = replay(compacted.base, [...compacted.entries, probe], versions).results.at(-1);

          // Assess: accepted from the compacted log only if accepted from the whole one
          if (bounded?.type === 'message' && bounded.decided.verdict.outcome === 'accepted')
            expect(exact, `seed ${seed}, probe ${j}`).toMatchObject({
              decided: { verdict: { outcome: 'accepted' } },
            });
        }
      }
      expect(folds).toBeGreaterThan(30);
    });
  });
});
