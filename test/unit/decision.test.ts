import { describe, expect, it } from 'vitest';
import {
  baseThreshold,
  capMatches,
  compilePolicy,
  decide,
  MAX_DEFERRED,
  pressure,
  sendMatches,
} from '#shared/domain/decision.ts';
import type { Channel } from '#shared/domain/schemas.ts';
import { aPolicy, aSend, at, aView, compiled, DAY, facts, HOUR, MINUTE, T0, WEEK } from './builders.ts';

const noRules = compiled();

describe('decide', () => {
  it('accepts a marketing message on its channel when nothing stands in its way', () => {
    // Act
    const verdict = decide(aView(), facts(), noRules, T0);

    // Assess
    expect(verdict).toEqual({ outcome: 'accepted', channel: 'email' });
  });

  describe('transactional messages', () => {
    const strict = compiled({
      caps: [{ id: 'daily', limit: 1, window: 'P1D' }],
      relevance: { default: 0.9 },
      quietHours: { start: '00:00', end: '23:59', defaultTimezone: 'UTC' },
    });
    const busy = [aSend(T0 - HOUR)];

    it('bypass marketing caps, relevance thresholds and quiet hours', () => {
      // Prepare
      const view = aView({ sends: busy });
      const receipt = facts({ kind: 'transactional', relevance: 0 });

      // Act
      const verdict = decide(view, receipt, strict, T0);

      // Assess
      expect(verdict).toEqual({ outcome: 'accepted', channel: 'email' });
    });

    it.each([
      ['a channel opt-out', { channels: { email: { optIn: false } } }],
      ['a topic opt-out', { topics: { orders: false } }],
      ['a pause', { pausedUntil: '2026-04-01T00:00:00Z' }],
      ['a customer maximum of zero a week', { maxPerWeek: 0 }],
    ])('bypass %s', (_, preferences) => {
      // Prepare
      const view = aView({ preferences });
      const receipt = facts({ kind: 'transactional', category: 'orders' });

      // Act
      const verdict = decide(view, receipt, noRules, T0);

      // Assess
      expect(verdict).toEqual({ outcome: 'accepted', channel: 'email' });
    });

    it.each(['hard_bounce', 'complained'] as const)(
      'still never go to a channel with a %s',
      (suppression) => {
        // Prepare
        const view = aView({ suppressions: { email: suppression } });

        // Act
        const verdict = decide(view, facts({ kind: 'transactional' }), noRules, T0);

        // Assess
        expect(verdict).toEqual({
          outcome: 'suppressed',
          channel: 'email',
          reason: suppression,
          rule: 'suppression',
        });
      },
    );

    it('go to an alternate channel when theirs has a hard suppression', () => {
      // Prepare
      const view = aView({ suppressions: { email: 'hard_bounce' } });

      // Act
      const verdict = decide(view, facts({ kind: 'transactional', alternateChannels: ['sms'] }), noRules, T0);

      // Assess
      expect(verdict).toEqual({ outcome: 'accepted', channel: 'sms' });
    });

    it('still expire', () => {
      const verdict = decide(aView(), facts({ kind: 'transactional', expiresAt: T0 }), noRules, T0);

      expect(verdict).toEqual({
        outcome: 'suppressed',
        channel: 'email',
        reason: 'expired',
        rule: 'expiresAt',
      });
    });

    it('are capped only by caps that name the transactional kind', () => {
      // Prepare
      const policy = compiled({
        caps: [{ id: 'otp', limit: 1, window: 'PT1H', match: { kind: 'transactional' } }],
      });
      const view = aView({ sends: [aSend(T0 - 10 * MINUTE, { kind: 'transactional' })] });

      // Act
      const receipt = decide(view, facts({ kind: 'transactional' }), policy, T0);
      const promotion = decide(view, facts(), policy, T0);

      // Assess
      expect(receipt).toEqual({
        outcome: 'suppressed',
        channel: 'email',
        reason: 'frequency_cap',
        rule: 'otp',
      });
      expect(promotion).toEqual({ outcome: 'accepted', channel: 'email' });
    });

    it('do not use up marketing slots', () => {
      // Prepare
      const policy = compiled({ caps: [{ id: 'daily', limit: 1, window: 'P1D' }] });
      const view = aView({ sends: [aSend(T0 - HOUR, { kind: 'transactional' })] });

      // Act
      const verdict = decide(view, facts(), policy, T0);

      // Assess
      expect(verdict).toEqual({ outcome: 'accepted', channel: 'email' });
    });
  });

  describe('consent and preferences', () => {
    it('suppresses a marketing message on a channel the customer opted out of', () => {
      // Prepare
      const view = aView({ preferences: { channels: { email: { optIn: false, source: 'footer-link' } } } });

      // Act
      const verdict = decide(view, facts(), noRules, T0);

      // Assess
      expect(verdict).toEqual({
        outcome: 'suppressed',
        channel: 'email',
        reason: 'opted_out',
        rule: 'preferences',
      });
    });

    it('still accepts on a channel when the customer opted out of another one', () => {
      const view = aView({ preferences: { channels: { sms: { optIn: false } }, topics: {} } });

      expect(decide(view, facts(), noRules, T0)).toEqual({ outcome: 'accepted', channel: 'email' });
    });

    it.each([
      ['opted out of the topic', { promotions: false }, 'promotions', 'suppressed'],
      ['opted into the topic', { promotions: true }, 'promotions', 'accepted'],
      ['opted out of another topic', { news: false }, 'promotions', 'accepted'],
      ['opted out of a topic, for a message without category', { promotions: false }, undefined, 'accepted'],
    ] as const)(
      'when the customer %s (%j, category %s), the message is %s',
      (_, topics, category, outcome) => {
        // Prepare
        const view = aView({ preferences: { topics } });

        // Act
        const verdict = decide(view, facts({ category }), noRules, T0);

        // Assess
        expect(verdict.outcome).toBe(outcome);
        if (outcome === 'suppressed')
          expect(verdict).toMatchObject({ reason: 'topic_opted_out', rule: 'preferences' });
      },
    );

    it.each([
      ['a minute after now', T0 + MINUTE, 'suppressed'],
      ['a millisecond after now', T0 + 1, 'suppressed'],
      ['exactly now', T0, 'accepted'],
      ['in the past', T0 - DAY, 'accepted'],
    ] as const)('with a pause until %s (%i), the message is %s', (_, until, outcome) => {
      // Prepare
      const view = aView({ preferences: { pausedUntil: new Date(until).toISOString() } });

      // Act
      const verdict = decide(view, facts({ expiresAt: T0 + WEEK }), noRules, T0);

      // Assess
      expect(verdict.outcome).toBe(outcome);
      if (outcome === 'suppressed') expect(verdict).toMatchObject({ reason: 'paused', rule: 'preferences' });
    });

    describe('the customer’s maximum per week', () => {
      it.each([
        // customer max, policy weekly limit, sends this week, outcome, rule that refuses
        [2, 5, 1, 'accepted', undefined],
        [2, 5, 2, 'suppressed', 'customer.maxPerWeek'],
        [5, 2, 2, 'suppressed', 'weekly'],
        [5, 2, 1, 'accepted', undefined],
        [0, 5, 0, 'suppressed', 'customer.maxPerWeek'],
        [3, 3, 3, 'suppressed', 'weekly'],
      ] as const)(
        'customer %i a week and policy %i a week, after %i sends: %s (%s) — the stricter wins',
        (maxPerWeek, limit, sent, outcome, rule) => {
          // Prepare
          const policy = compiled({ caps: [{ id: 'weekly', limit, window: 'P7D' }] });
          const sends = Array.from({ length: sent }, (_, i) => aSend(T0 - (i + 1) * DAY));
          const view = aView({ preferences: { maxPerWeek }, sends });

          // Act
          const verdict = decide(view, facts(), policy, T0);

          // Assess
          expect(verdict.outcome).toBe(outcome);
          if (rule) expect(verdict).toMatchObject({ reason: 'frequency_cap', rule });
        },
      );

      it('counts marketing sends on every channel', () => {
        // Prepare
        const sends = [aSend(T0 - DAY, { channel: 'sms' }), aSend(T0 - 2 * DAY, { channel: 'push' })];
        const view = aView({ preferences: { maxPerWeek: 2 }, sends });

        // Act
        const verdict = decide(view, facts({ channel: 'whatsapp' }), noRules, T0);

        // Assess
        expect(verdict).toMatchObject({
          outcome: 'suppressed',
          reason: 'frequency_cap',
          rule: 'customer.maxPerWeek',
        });
      });

      it('defers a message to the moment the weekly maximum frees a slot', () => {
        // Prepare
        const view = aView({ preferences: { maxPerWeek: 1 }, sends: [aSend(T0 - 2 * DAY)] });

        // Act
        const verdict = decide(view, facts({ expiresAt: T0 + WEEK }), noRules, T0);

        // Assess
        expect(verdict).toEqual({
          outcome: 'deferred',
          channel: 'email',
          releaseAt: T0 + 5 * DAY,
          reason: 'frequency_cap',
          rule: 'customer.maxPerWeek',
        });
      });
    });
  });

  describe('channels', () => {
    it('moves to the first alternate channel when the customer opted out of the message’s channel', () => {
      // Prepare
      const view = aView({ preferences: { channels: { email: { optIn: false } } } });

      // Act
      const verdict = decide(view, facts({ alternateChannels: ['sms', 'push'] }), noRules, T0);

      // Assess
      expect(verdict).toEqual({ outcome: 'accepted', channel: 'sms' });
    });

    it.each([
      [['push', 'sms', 'email'], 'push'],
      [['sms', 'email'], 'sms'],
      [['whatsapp', 'email'], 'email'],
      [['whatsapp'], 'email'],
    ] as const)(
      'tries the channels in the customer’s order of preference %j: %s',
      (preferredChannels, channel) => {
        // Prepare
        const view = aView({ preferences: { preferredChannels: [...preferredChannels] } });

        // Act
        const verdict = decide(
          view,
          facts({ channel: 'email', alternateChannels: ['sms', 'push'] }),
          noRules,
          T0,
        );

        // Assess
        expect(verdict).toEqual({ outcome: 'accepted', channel });
      },
    );

    it('keeps the message’s own channel when it offers no alternate, whatever the customer prefers', () => {
      const view = aView({ preferences: { preferredChannels: ['sms'] } });

      expect(decide(view, facts({ channel: 'email' }), noRules, T0)).toEqual({
        outcome: 'accepted',
        channel: 'email',
      });
    });

    it('skips a preferred channel the customer opted out of', () => {
      // Prepare
      const view = aView({
        preferences: { preferredChannels: ['push', 'sms'], channels: { push: { optIn: false } } },
      });

      // Act
      const verdict = decide(view, facts({ alternateChannels: ['push', 'sms'] }), noRules, T0);

      // Assess
      expect(verdict).toEqual({ outcome: 'accepted', channel: 'sms' });
    });

    it('takes the channel that frees a slot first when every channel is capped', () => {
      // Prepare: email frees at T0 + 2h, sms at T0 + 1h
      const policy = compiled({
        caps: [
          { id: 'email-daily', limit: 1, window: 'P1D', match: { channel: 'email' } },
          { id: 'sms-daily', limit: 1, window: 'P1D', match: { channel: 'sms' } },
        ],
      });
      const view = aView({ sends: [aSend(T0 + 2 * HOUR - DAY), aSend(T0 + HOUR - DAY, { channel: 'sms' })] });

      // Act
      const verdict = decide(view, facts({ alternateChannels: ['sms'], expiresAt: T0 + DAY }), policy, T0);

      // Assess
      expect(verdict).toEqual({
        outcome: 'deferred',
        channel: 'sms',
        releaseAt: T0 + HOUR,
        reason: 'frequency_cap',
        rule: 'sms-daily',
      });
    });

    it('accepts now on an alternate channel rather than deferring on a preferred one', () => {
      // Prepare
      const policy = compiled({
        caps: [{ id: 'email-daily', limit: 1, window: 'P1D', match: { channel: 'email' } }],
      });
      const view = aView({ sends: [aSend(T0 - HOUR)] });

      // Act
      const verdict = decide(view, facts({ alternateChannels: ['push'], expiresAt: T0 + WEEK }), policy, T0);

      // Assess
      expect(verdict).toEqual({ outcome: 'accepted', channel: 'push' });
    });

    it('explains a refusal by the rules on an open channel rather than a closed channel', () => {
      // Prepare
      const policy = compiled({ relevance: { default: 0.2, byChannel: { sms: 0.8 } } });
      const view = aView({ preferences: { channels: { email: { optIn: false } } } });

      // Act
      const verdict = decide(view, facts({ relevance: 0.5, alternateChannels: ['sms'] }), policy, T0);

      // Assess
      expect(verdict).toEqual({
        outcome: 'suppressed',
        channel: 'sms',
        reason: 'relevance_below_threshold',
        rule: 'relevance',
      });
    });

    it('explains a refusal on every channel by the first closed channel', () => {
      // Prepare
      const view = aView({
        preferences: { channels: { sms: { optIn: false } } },
        suppressions: { email: 'complained' },
      });

      // Act
      const verdict = decide(view, facts({ alternateChannels: ['sms'] }), noRules, T0);

      // Assess
      expect(verdict).toEqual({
        outcome: 'suppressed',
        channel: 'email',
        reason: 'complained',
        rule: 'suppression',
      });
    });
  });

  describe('expiry and notBefore', () => {
    it.each([
      ['a day ago', T0 - DAY, 'suppressed'],
      ['exactly now', T0, 'suppressed'],
      ['a millisecond from now', T0 + 1, 'accepted'],
    ] as const)('a message expiring %s (%i) is %s', (_, expiresAt, outcome) => {
      // Act
      const verdict = decide(aView(), facts({ expiresAt }), noRules, T0);

      // Assess
      expect(verdict.outcome).toBe(outcome);
      if (outcome === 'suppressed') expect(verdict).toMatchObject({ reason: 'expired', rule: 'expiresAt' });
    });

    it('checks expiry before anything else', () => {
      const view = aView({
        suppressions: { email: 'hard_bounce' },
        preferences: { pausedUntil: '2027-01-01T00:00:00Z' },
      });

      expect(decide(view, facts({ expiresAt: T0 }), noRules, T0)).toMatchObject({ reason: 'expired' });
    });

    it.each([
      ['in the past', T0 - HOUR],
      ['exactly now', T0],
    ])('accepts now a message whose notBefore is %s', (_, notBefore) => {
      expect(decide(aView(), facts({ notBefore }), noRules, T0)).toEqual({
        outcome: 'accepted',
        channel: 'email',
      });
    });

    it('defers a message to its notBefore', () => {
      // Act
      const verdict = decide(aView(), facts({ notBefore: T0 + 3 * HOUR }), noRules, T0);

      // Assess
      expect(verdict).toMatchObject({ outcome: 'deferred', channel: 'email', releaseAt: T0 + 3 * HOUR });
    });

    it('applies the caps at notBefore, not now', () => {
      // Prepare: the slot used at T0 - 20h frees at T0 + 4h
      const policy = compiled({ caps: [{ id: 'daily', limit: 1, window: 'P1D' }] });
      const view = aView({ sends: [aSend(T0 - 20 * HOUR)] });

      // Act
      const early = decide(view, facts({ notBefore: T0 + 3 * HOUR, expiresAt: T0 + DAY }), policy, T0);
      const late = decide(view, facts({ notBefore: T0 + 5 * HOUR }), policy, T0);

      // Assess
      expect(early).toMatchObject({ outcome: 'deferred', releaseAt: T0 + 4 * HOUR, reason: 'frequency_cap' });
      expect(late).toMatchObject({ outcome: 'deferred', releaseAt: T0 + 5 * HOUR });
    });

    it.each([
      ['after', T0 + 2 * HOUR],
      ['exactly at', T0 + HOUR],
    ])('suppresses as expired a message whose notBefore is %s its expiry', (_, notBefore) => {
      // Act
      const verdict = decide(aView(), facts({ notBefore, expiresAt: T0 + HOUR }), noRules, T0);

      // Assess
      expect(verdict).toMatchObject({ outcome: 'suppressed', reason: 'expired' });
    });
  });

  describe('the release margin', () => {
    const daily = compiled({ caps: [{ id: 'daily', limit: 1, window: 'P1D' }] });
    const view = aView({ sends: [aSend(T0 - 20 * HOUR)] }); // the slot frees at T0 + 4h
    const margin = 90_000;

    it.each([
      ['exactly at the slot and the margin', T0 + 4 * HOUR + margin, 'suppressed'],
      ['a millisecond after the slot and the margin', T0 + 4 * HOUR + margin + 1, 'deferred'],
      ['inside the margin after the slot', T0 + 4 * HOUR + margin / 2, 'suppressed'],
    ] as const)(
      'defers a message expiring %s only when the release has its margin: %s',
      (_, expiresAt, outcome) => {
        // Act
        const verdict = decide(view, facts({ expiresAt }), daily, T0, { releaseMarginMs: margin });

        // Assess
        expect(verdict.outcome).toBe(outcome);
        if (outcome === 'suppressed')
          expect(verdict).toMatchObject({ reason: 'frequency_cap', rule: 'daily' });
      },
    );

    it('still accepts now a message expiring within the margin', () => {
      expect(decide(aView(), facts({ expiresAt: T0 + 1 }), daily, T0, { releaseMarginMs: margin })).toEqual({
        outcome: 'accepted',
        channel: 'email',
      });
    });

    it('counts the margin from when a late release runs, for a message it defers again', () => {
      // Prepare: decided again at its reserved moment T0 - 2h by a release running at T0; a slot frees
      // at T0 - 1h, before the release runs, and the message expires 45 s after the release
      const reserved = T0 - 2 * HOUR;
      const busy = aView({ sends: [aSend(reserved - 23 * HOUR)] });
      const message = facts({ expiresAt: T0 + margin / 2 });

      // Act
      const asIfOnTime = decide(busy, message, daily, reserved, { releaseMarginMs: margin });
      const fromTheRelease = decide(busy, message, daily, reserved, {
        releaseMarginMs: margin,
        releasableFrom: T0,
      });

      // Assess
      expect(asIfOnTime).toMatchObject({ outcome: 'deferred', releaseAt: T0 - HOUR });
      expect(fromTheRelease).toMatchObject({ outcome: 'suppressed', reason: 'frequency_cap' });
    });
  });

  describe('the deferrals a customer holds', () => {
    it('are at most MAX_DEFERRED: past it a message that would wait is suppressed frequency_cap', () => {
      // Prepare
      const daily = compiled({ caps: [{ id: 'daily', limit: 1, window: 'P1D' }] });
      const sends = [aSend(T0 - HOUR)];
      const message = facts({ expiresAt: T0 + 3 * DAY });

      // Act
      const under = decide({ ...aView({ sends }), pending: { size: MAX_DEFERRED - 1 } }, message, daily, T0);
      const full = decide({ ...aView({ sends }), pending: { size: MAX_DEFERRED } }, message, daily, T0);

      // Assess
      expect(under).toMatchObject({ outcome: 'deferred' });
      expect(full).toEqual({
        outcome: 'suppressed',
        channel: 'email',
        reason: 'frequency_cap',
        rule: 'maxDeferred',
      });
    });
  });

  describe('folded sends', () => {
    const weekly = compiled({
      caps: [{ id: 'weekly-promo', limit: 5, window: 'P7D', match: { category: 'promotions' } }],
    });
    const folded = { ...aSend(T0 - 2 * DAY), key: '', since: T0 - 6 * DAY, count: 5, category: undefined };

    it('count wholly, whatever their category, in every window their span meets', () => {
      // Act
      const now = decide(aView({ sends: [folded] }), facts({ category: 'promotions' }), weekly, T0);
      const afterSpan = decide(
        aView({ sends: [folded] }),
        facts({ category: 'promotions' }),
        weekly,
        T0 + 5 * DAY,
      );

      // Assess: held until the span's end leaves the window, not its start
      expect(now).toMatchObject({ outcome: 'suppressed', reason: 'frequency_cap', rule: 'weekly-promo' });
      expect(afterSpan).toEqual({ outcome: 'accepted', channel: 'email' });
    });

    it('keep a minimum gap from every moment of their span', () => {
      const gap = compiled({ caps: [{ id: 'gap', minGap: 'PT4H' }] });
      const span = { ...aSend(T0 + HOUR), key: '', since: T0 - HOUR, count: 2 };

      expect(decide(aView({ sends: [span] }), facts({ expiresAt: T0 + DAY }), gap, T0)).toMatchObject({
        outcome: 'deferred',
        releaseAt: T0 + 5 * HOUR,
        reason: 'min_gap',
      });
    });
  });

  describe('relevance threshold', () => {
    it.each([
      [0.49, 'suppressed'],
      [0.5, 'accepted'],
      [0.51, 'accepted'],
    ] as const)('against a default threshold of 0.5, a relevance of %d is %s', (relevance, outcome) => {
      // Prepare
      const policy = compiled({ relevance: { default: 0.5 } });

      // Act
      const verdict = decide(aView(), facts({ relevance }), policy, T0);

      // Assess
      expect(verdict.outcome).toBe(outcome);
      if (outcome === 'suppressed') {
        expect(verdict).toMatchObject({ reason: 'relevance_below_threshold', rule: 'relevance' });
      }
    });

    it.each([
      // channel, category, relevance, outcome — default 0.5, sms 0.2, email 0.3, promotions 0.6
      ['sms', undefined, 0.25, 'accepted'],
      ['push', undefined, 0.25, 'suppressed'],
      ['email', 'news', 0.35, 'accepted'],
      ['email', 'promotions', 0.55, 'suppressed'],
      ['email', 'promotions', 0.6, 'accepted'],
      ['push', 'promotions', 0.55, 'suppressed'],
    ] as const)(
      'on %s in category %s, a relevance of %d is %s (the stricter of channel and category)',
      (channel, category, relevance, outcome) => {
        // Prepare
        const policy = compiled({
          relevance: { default: 0.5, byChannel: { sms: 0.2, email: 0.3 }, byCategory: { promotions: 0.6 } },
        });

        // Act
        const verdict = decide(aView(), facts({ channel, category, relevance }), policy, T0);

        // Assess
        expect(verdict.outcome).toBe(outcome);
      },
    );

    it.each([
      // sends in the window of a cap of 4, relevance, outcome — default 0.25, pressureSlope 0.5
      [0, 0.25, 'accepted'],
      [1, 0.374, 'suppressed'],
      [1, 0.375, 'accepted'],
      [2, 0.499, 'suppressed'],
      [2, 0.5, 'accepted'],
      [3, 0.624, 'suppressed'],
      [3, 0.625, 'accepted'],
    ] as const)(
      'after %i of 4 slots used, a relevance of %d is %s: the threshold rises with pressure',
      (used, relevance, outcome) => {
        // Prepare
        const policy = compiled({
          caps: [{ id: 'weekly', limit: 4, window: 'P7D' }],
          relevance: { default: 0.25, pressureSlope: 0.5 },
        });
        const sends = Array.from({ length: used }, (_, i) => aSend(T0 - (i + 1) * HOUR));

        // Act
        const verdict = decide(aView({ sends }), facts({ relevance }), policy, T0);

        // Assess
        expect(verdict.outcome).toBe(outcome);
      },
    );

    it('measures pressure on the fullest window that applies to the message', () => {
      // Prepare: the daily cap is half full, the weekly one a tenth full, the sms cap full
      const policy = compiled({
        caps: [
          { id: 'daily', limit: 2, window: 'P1D' },
          { id: 'weekly', limit: 10, window: 'P7D' },
          { id: 'sms', limit: 1, window: 'P7D', match: { channel: 'sms' } },
        ],
        relevance: { default: 0.2, pressureSlope: 0.5 },
      });
      const view = aView({ sends: [aSend(T0 - HOUR), aSend(T0 - 2 * DAY, { channel: 'sms' })] });

      // Act: threshold 0.2 + 0.5 × 0.5 = 0.45
      const below = decide(view, facts({ relevance: 0.44 }), policy, T0);
      const at = decide(view, facts({ relevance: 0.45 }), policy, T0);

      // Assess
      expect(below).toMatchObject({ outcome: 'suppressed', reason: 'relevance_below_threshold' });
      expect(at).toEqual({ outcome: 'accepted', channel: 'email' });
    });

    it.each([
      ['first', ['daily', 'weekly', 'sms']],
      ['second', ['weekly', 'daily', 'sms']],
      ['last', ['weekly', 'sms', 'daily']],
    ])('takes the pressure of the fullest applicable cap when it is listed %s', (_, order) => {
      // Prepare: daily half full, weekly a tenth full, the sms cap (full) does not apply to email
      const caps = {
        daily: { id: 'daily', limit: 2, window: 'P1D' },
        weekly: { id: 'weekly', limit: 10, window: 'P7D' },
        sms: { id: 'sms', limit: 1, window: 'P7D', match: { channel: 'sms' as const } },
      };
      const policy = compiled({
        caps: order.map((id) => caps[id as keyof typeof caps]),
        relevance: { default: 0.2, pressureSlope: 0.5 },
      });
      const view = aView({ sends: [aSend(T0 - HOUR), aSend(T0 - 2 * DAY, { channel: 'sms' })] });

      // Act: threshold 0.2 + 0.5 × 0.5 = 0.45
      const below = decide(view, facts({ relevance: 0.44 }), policy, T0);
      const atThreshold = decide(view, facts({ relevance: 0.45 }), policy, T0);

      // Assess
      expect(below).toMatchObject({ outcome: 'suppressed', reason: 'relevance_below_threshold' });
      expect(atThreshold).toEqual({ outcome: 'accepted', channel: 'email' });
    });

    it('counts the customer’s own maximum per week in the pressure', () => {
      // Prepare: the policy's weekly cap is a tenth full, the customer's maximum of 2 half full
      const policy = compiled({
        caps: [{ id: 'weekly', limit: 10, window: 'P7D' }],
        relevance: { default: 0.2, pressureSlope: 0.5 },
      });
      const view = aView({ preferences: { maxPerWeek: 2 }, sends: [aSend(T0 - 2 * DAY)] });

      // Act: threshold 0.2 + 0.5 × 0.5 = 0.45
      const below = decide(view, facts({ relevance: 0.44 }), policy, T0);
      const atThreshold = decide(view, facts({ relevance: 0.45 }), policy, T0);

      // Assess
      expect(below).toMatchObject({ outcome: 'suppressed', reason: 'relevance_below_threshold' });
      expect(atThreshold).toEqual({ outcome: 'accepted', channel: 'email' });
    });

    it('leaves the customer’s maximum per week out of the pressure on a transactional message', () => {
      // Prepare: the customer's maximum is full; transactional messages do not count against it
      const policy = compiled({ relevance: { default: 0.2, pressureSlope: 1 } });
      const view = aView({ preferences: { maxPerWeek: 1 }, sends: [aSend(T0 - DAY)] });

      // Act
      const verdict = decide(view, facts({ kind: 'transactional', relevance: 0.1 }), policy, T0);

      // Assess
      expect(verdict).toEqual({ outcome: 'accepted', channel: 'email' });
    });

    it('measures pressure at notBefore, when a send that counts now has left the window by then', () => {
      // Prepare: the daily cap is full now; its send leaves the window at T0 + 4 h
      const policy = compiled({
        caps: [{ id: 'daily', limit: 1, window: 'P1D' }],
        relevance: { default: 0.2, pressureSlope: 0.5 },
      });
      const view = aView({ sends: [aSend(T0 - 20 * HOUR)] });

      // Act: at notBefore the pressure is 0, so the threshold is 0.2 (it would be 0.7 now)
      const verdict = decide(view, facts({ relevance: 0.3, notBefore: T0 + 5 * HOUR }), policy, T0);

      // Assess
      expect(verdict).toMatchObject({ outcome: 'deferred', releaseAt: T0 + 5 * HOUR });
    });

    it('measures pressure at notBefore, when a send reserved before it counts by then', () => {
      // Prepare: a send reserved at T0 + 3 h fills half the daily cap from then on
      const policy = compiled({
        caps: [{ id: 'daily', limit: 2, window: 'P1D' }],
        relevance: { default: 0.2, pressureSlope: 0.5 },
      });
      const view = aView({ sends: [aSend(T0 + 3 * HOUR)] });

      // Act: threshold 0.2 + 0.5 × 0.5 = 0.45 at notBefore (0.2 now)
      const below = decide(view, facts({ relevance: 0.44, notBefore: T0 + 4 * HOUR }), policy, T0);
      const atThreshold = decide(view, facts({ relevance: 0.45, notBefore: T0 + 4 * HOUR }), policy, T0);

      // Assess
      expect(below).toMatchObject({ outcome: 'suppressed', reason: 'relevance_below_threshold' });
      expect(atThreshold).toMatchObject({ outcome: 'deferred', releaseAt: T0 + 4 * HOUR });
    });

    it('never asks for more than a relevance of 1', () => {
      // Prepare: a full cap would put the threshold at 0.8 + 1 × 1
      const policy = compiled({
        caps: [{ id: 'daily', limit: 1, window: 'P1D' }],
        relevance: { default: 0.8, pressureSlope: 1 },
      });
      const view = aView({ sends: [aSend(T0 - HOUR)] });

      // Act
      const verdict = decide(view, facts({ relevance: 1, expiresAt: T0 + DAY }), policy, T0);

      // Assess: judged by the cap, not by relevance
      expect(verdict).toMatchObject({
        outcome: 'deferred',
        reason: 'frequency_cap',
        releaseAt: T0 + 23 * HOUR,
      });
    });

    it('judges each channel with its own threshold', () => {
      // Prepare
      const policy = compiled({ relevance: { default: 0.5, byChannel: { email: 0.9, push: 0.1 } } });

      // Act
      const verdict = decide(aView(), facts({ relevance: 0.3, alternateChannels: ['push'] }), policy, T0);

      // Assess
      expect(verdict).toEqual({ outcome: 'accepted', channel: 'push' });
    });
  });

  describe('quiet hours', () => {
    const parisNights = compiled({
      quietHours: { start: '21:00', end: '08:00', defaultTimezone: 'Europe/Paris' },
    });
    const evening = at('2026-03-02T21:30:00Z'); // 22:30 in Paris, 16:30 in New York
    const morning = at('2026-03-03T07:00:00Z'); // 08:00 in Paris

    it('defers a marketing message sent at night to the end of the quiet hours', () => {
      // Act
      const verdict = decide(aView(), facts(), parisNights, evening);

      // Assess
      expect(verdict).toEqual({
        outcome: 'deferred',
        channel: 'email',
        releaseAt: morning,
        reason: 'quiet_hours_expired',
        rule: 'quietHours',
      });
    });

    it('accepts outside the quiet hours', () => {
      expect(decide(aView(), facts(), parisNights, T0)).toEqual({ outcome: 'accepted', channel: 'email' });
    });

    it('reads the quiet hours in the customer’s own time zone', () => {
      // Prepare
      const view = aView({ preferences: { timezone: 'America/New_York' } });

      // Act
      const verdict = decide(view, facts(), parisNights, evening);

      // Assess
      expect(verdict).toEqual({ outcome: 'accepted', channel: 'email' });
    });

    it('uses the customer’s own quiet hours instead of the policy’s', () => {
      // Prepare: 22:30 in Paris, inside 22:00-07:00, which ends at 06:00 UTC
      const view = aView({ preferences: { quietHours: { start: '22:00', end: '07:00' } } });

      // Act
      const verdict = decide(view, facts(), parisNights, evening);

      // Assess
      expect(verdict).toMatchObject({ outcome: 'deferred', releaseAt: at('2026-03-03T06:00:00Z') });
    });

    it('applies the customer’s quiet hours in UTC when neither they nor the policy name a zone', () => {
      // Prepare
      const view = aView({ preferences: { quietHours: { start: '21:00', end: '08:00' } } });

      // Act
      const verdict = decide(view, facts(), noRules, evening);

      // Assess
      expect(verdict).toMatchObject({ outcome: 'deferred', releaseAt: at('2026-03-03T08:00:00Z') });
    });

    it.each([
      ['an hour after they end', morning + HOUR, 'deferred', undefined],
      ['a millisecond after they end', morning + 1, 'deferred', undefined],
      ['exactly when they end', morning, 'suppressed', 'quiet_hours_expired'],
      ['before they end', morning - HOUR, 'suppressed', 'quiet_hours_expired'],
    ] as const)('a message expiring %s (%i) is %s', (_, expiresAt, outcome, reason) => {
      // Act
      const verdict = decide(aView(), facts({ expiresAt }), parisNights, evening);

      // Assess
      expect(verdict.outcome).toBe(outcome);
      if (outcome === 'deferred') expect(verdict).toMatchObject({ releaseAt: morning });
      if (reason) expect(verdict).toEqual({ outcome, channel: 'email', reason, rule: 'quietHours' });
    });

    it.each([
      ['Europe/Paris', 'the spring change', '2026-03-28T22:00:00Z', '2026-03-29T06:00:00Z'],
      ['Europe/Paris', 'the autumn change', '2026-10-24T20:00:00Z', '2026-10-25T07:00:00Z'],
      ['America/New_York', 'the spring change', '2026-03-08T03:00:00Z', '2026-03-08T12:00:00Z'],
      ['America/New_York', 'the autumn change', '2026-11-01T02:00:00Z', '2026-11-01T13:00:00Z'],
    ])('in %s, across %s, defers to 08:00 local time', (timezone, _, now, releaseAt) => {
      // Prepare
      const view = aView({ preferences: { timezone } });

      // Act
      const verdict = decide(view, facts(), parisNights, at(now));

      // Assess
      expect(verdict).toMatchObject({
        outcome: 'deferred',
        releaseAt: at(releaseAt),
        reason: 'quiet_hours_expired',
      });
    });

    it('defers past the quiet hours to the moment a cap frees a slot', () => {
      // Prepare: the cap frees at 08:30 Paris, half an hour after the night ends
      const policy = compiled({
        caps: [{ id: 'daily', limit: 1, window: 'P1D' }],
        quietHours: { start: '21:00', end: '08:00', defaultTimezone: 'Europe/Paris' },
      });
      const view = aView({ sends: [aSend(at('2026-03-02T07:30:00Z'))] });

      // Act
      const verdict = decide(view, facts({ expiresAt: at('2026-03-04T00:00:00Z') }), policy, evening);

      // Assess
      expect(verdict).toEqual({
        outcome: 'deferred',
        channel: 'email',
        releaseAt: at('2026-03-03T07:30:00Z'),
        reason: 'frequency_cap',
        rule: 'daily',
      });
    });

    it('defers to the end of the quiet hours when a cap frees a slot in the middle of the night', () => {
      // Prepare: the cap frees at 23:00 Paris
      const policy = compiled({
        caps: [{ id: 'daily', limit: 1, window: 'P1D' }],
        quietHours: { start: '21:00', end: '08:00', defaultTimezone: 'Europe/Paris' },
      });
      const view = aView({ sends: [aSend(at('2026-03-01T22:00:00Z'))] });

      // Act
      const verdict = decide(view, facts({ expiresAt: at('2026-03-04T00:00:00Z') }), policy, T0);

      // Assess
      expect(verdict).toMatchObject({
        outcome: 'deferred',
        releaseAt: morning,
        reason: 'quiet_hours_expired',
      });
    });

    it('defers a message whose notBefore falls in the quiet hours to their end', () => {
      const verdict = decide(aView(), facts({ notBefore: evening }), parisNights, T0);

      expect(verdict).toMatchObject({
        outcome: 'deferred',
        releaseAt: morning,
        reason: 'quiet_hours_expired',
      });
    });
  });
});

describe('capMatches', () => {
  const send = {
    kind: 'marketing',
    channel: 'sms',
    category: 'promotions',
    campaignId: 'spring-sale',
  } as const;

  it.each([
    [{}, true],
    [{ kind: 'marketing' }, true],
    [{ kind: 'transactional' }, false],
    [{ channel: 'sms' }, true],
    [{ channel: 'email' }, false],
    [{ category: 'promotions' }, true],
    [{ category: 'news' }, false],
    [{ campaignId: 'spring-sale' }, true],
    [{ campaignId: 'summer-sale' }, false],
    [{ channel: 'sms', category: 'promotions', campaignId: 'spring-sale' }, true],
    [{ channel: 'sms', category: 'news' }, false],
  ] as const)(
    'a cap matching %j applies to a marketing sms in promotions of spring-sale: %s',
    (match, expected) => {
      expect(capMatches(match, send)).toBe(expected);
    },
  );

  it('applies a cap that names no kind to marketing only', () => {
    expect(capMatches({}, { ...send, kind: 'transactional' })).toBe(false);
  });

  it('applies a cap on a category only to messages in that category', () => {
    expect(capMatches({ category: 'promotions' }, { kind: 'marketing', channel: 'sms' })).toBe(false);
  });
});

describe('baseThreshold', () => {
  const policy = aPolicy({
    relevance: { default: 0.5, byChannel: { sms: 0.2 }, byCategory: { alerts: 0.1 } },
  });

  it.each([
    ['email', undefined, 0.5],
    ['sms', undefined, 0.2],
    ['email', 'alerts', 0.1],
    ['sms', 'alerts', 0.2],
    ['email', 'unknown', 0.5],
  ] as [Channel, string | undefined, number][])(
    'on %s in category %s is %d',
    (channel, category, expected) => {
      expect(baseThreshold(policy, channel, category)).toBe(expected);
    },
  );
});

describe('compilePolicy', () => {
  it('compiles a policy once: the same compiled rules for the same policy object', () => {
    const policy = aPolicy({ caps: [{ id: 'daily', limit: 1, window: 'P1D' }] });

    expect(compilePolicy(policy)).toBe(compilePolicy(policy));
  });

  it('counts with the caps that have a limit and window, spaces with those that have a gap, and looks back as far as the longest (at least a week)', () => {
    // Act
    const c = compiled({
      caps: [
        { id: 'monthly', limit: 10, window: 'P30D' },
        { id: 'spaced', minGap: 'P14D' },
        { id: 'both', limit: 1, window: 'PT1H', minGap: 'PT10M' },
      ],
    });

    // Assess
    expect(c.counts.map((r) => [r.id, r.limit, r.windowMs])).toEqual([
      ['monthly', 10, 30 * DAY],
      ['both', 1, HOUR],
    ]);
    expect(c.gaps.map((r) => [r.id, r.gapMs])).toEqual([
      ['spaced', 14 * DAY],
      ['both', 10 * MINUTE],
    ]);
    expect(c.horizonMs).toBe(30 * DAY);
    expect(compiled({ caps: [{ id: 'spaced', minGap: 'P14D' }] }).horizonMs).toBe(14 * DAY);
    expect(compiled({ caps: [{ id: 'hourly', limit: 1, window: 'PT1H' }] }).horizonMs).toBe(WEEK);
  });
});

describe('pressure', () => {
  it('is full under a cap of zero, and otherwise the share of the fullest cap used', () => {
    const none = { id: 'none', limit: 0, windowMs: DAY, match: {} };
    const daily = { id: 'daily', limit: 4, windowMs: DAY, match: {} };
    const weekly = { id: 'weekly', limit: 2, windowMs: WEEK, match: {} };

    expect(pressure([none], [], T0)).toBe(1);
    expect(pressure([daily], [aSend(T0 - HOUR)], T0)).toBe(0.25);
    expect(pressure([daily, weekly], [aSend(T0 - HOUR)], T0)).toBe(0.5);
  });
});

describe('baseThreshold without category thresholds', () => {
  it('is the default for a message with a category', () => {
    expect(baseThreshold(aPolicy({ relevance: { default: 0.3 } }), 'email', 'promotions')).toBe(0.3);
  });
});

describe('decide, searching for a free slot', () => {
  it('holds a message back when the window ending now is full, even if a later window has room', () => {
    // Prepare: two sends in the last hour, one reserved 50 minutes from now
    const policy = compiled({ caps: [{ id: 'hourly', limit: 2, window: 'PT1H' }] });
    const view = aView({
      sends: [aSend(T0 - 30 * MINUTE), aSend(T0 - 20 * MINUTE), aSend(T0 + 50 * MINUTE)],
    });

    // Act
    const verdict = decide(view, facts(), policy, T0);

    // Assess
    expect(verdict).toEqual({
      outcome: 'suppressed',
      channel: 'email',
      reason: 'frequency_cap',
      rule: 'hourly',
    });
  });

  it('defers to the moment a send in the window leaves it, not to when an older one left', () => {
    // Prepare
    const policy = compiled({ caps: [{ id: 'hourly', limit: 1, window: 'PT1H' }] });
    const view = aView({ sends: [aSend(T0 - 2 * HOUR), aSend(T0 - 30 * MINUTE)] });

    // Act
    const verdict = decide(view, facts({ expiresAt: T0 + DAY }), policy, T0);

    // Assess
    expect(verdict).toEqual({
      outcome: 'deferred',
      channel: 'email',
      releaseAt: T0 + 30 * MINUTE,
      reason: 'frequency_cap',
      rule: 'hourly',
    });
  });

  it('defers a message to its notBefore when nothing else holds it', () => {
    const verdict = decide(aView(), facts({ notBefore: T0 + HOUR }), noRules, T0);

    expect(verdict).toEqual({
      outcome: 'deferred',
      channel: 'email',
      releaseAt: T0 + HOUR,
      reason: 'expired',
      rule: 'notBefore',
    });
  });
});

describe('decide, among channels that all defer', () => {
  // Email frees a slot in 30 minutes, SMS in 23 hours (or in 30 minutes too).
  const policy = compiled({
    caps: [
      { id: 'email-daily', limit: 1, window: 'P1D', match: { channel: 'email' } },
      { id: 'sms-daily', limit: 1, window: 'P1D', match: { channel: 'sms' } },
    ],
  });
  const message = facts({ alternateChannels: ['sms'], expiresAt: T0 + 2 * DAY });

  it('takes the earliest deferral', () => {
    // Prepare
    const view = aView({ sends: [aSend(T0 - DAY + 30 * MINUTE), aSend(T0 - HOUR, { channel: 'sms' })] });

    // Act
    const verdict = decide(view, message, policy, T0);

    // Assess
    expect(verdict).toMatchObject({ outcome: 'deferred', channel: 'email', releaseAt: T0 + 30 * MINUTE });
  });

  it('keeps the first channel when two free at the same moment', () => {
    // Prepare
    const sends = [aSend(T0 - DAY + 30 * MINUTE), aSend(T0 - DAY + 30 * MINUTE, { channel: 'sms' })];

    // Act
    const verdict = decide(aView({ sends }), message, policy, T0);

    // Assess
    expect(verdict).toMatchObject({ outcome: 'deferred', channel: 'email', releaseAt: T0 + 30 * MINUTE });
  });

  it('prefers a deferral on one channel to a refusal on another', () => {
    // Prepare: email refuses the message's relevance; sms is full for 23 hours
    const strictEmail = compiled({
      caps: [{ id: 'sms-daily', limit: 1, window: 'P1D', match: { channel: 'sms' } }],
      relevance: { default: 0, byChannel: { email: 0.9 } },
    });
    const view = aView({ sends: [aSend(T0 - HOUR, { channel: 'sms' })] });

    // Act
    const verdict = decide(view, { ...message, relevance: 0.5 }, strictEmail, T0);

    // Assess
    expect(verdict).toMatchObject({ outcome: 'deferred', channel: 'sms', releaseAt: T0 + 23 * HOUR });
  });
});

describe('sendMatches', () => {
  const folded = { key: '', at: T0, since: T0 - DAY, channel: 'sms', kind: 'marketing', count: 3 } as const;

  it.each([
    [{}, true],
    [{ channel: 'sms', category: 'promotions', campaignId: 'spring-sale' }, true],
    [{ channel: 'email' }, false],
    [{ kind: 'transactional' }, false],
    [{ kind: 'transactional', channel: 'sms' }, false],
  ] as const)(
    'counts a folded marketing sms, of any category and campaign, under a cap matching %j: %s',
    (match, expected) => {
      expect(sendMatches(match, folded)).toBe(expected);
    },
  );

  it('counts a folded transactional send only under caps that name its kind', () => {
    const transactional = { ...folded, kind: 'transactional' } as const;

    expect(sendMatches({}, transactional)).toBe(false);
    expect(sendMatches({ kind: 'transactional' }, transactional)).toBe(true);
  });

  it('matches a send that is not folded as capMatches does', () => {
    const plain = aSend(T0, { channel: 'sms', category: 'news' });

    expect(sendMatches({ category: 'promotions' }, plain)).toBe(false);
    expect(sendMatches({ category: 'news', channel: 'sms' }, plain)).toBe(true);
  });
});

describe('baseThreshold of a message without a category', () => {
  it('ignores a category threshold, even one for a category named "undefined"', () => {
    const policy = aPolicy({ relevance: { default: 0.3, byCategory: { undefined: 0.9 } } });

    expect(baseThreshold(policy, 'email', undefined)).toBe(0.3);
  });
});

describe('decide, with a folded send whose span starts after now', () => {
  it('holds a message back when the window ending where the span starts is full', () => {
    // Prepare: two a day; one send an hour ago, and one folded send somewhere between 1 h and 30 h from
    // now: the window ending in an hour may hold both and this message
    const daily = compiled({ caps: [{ id: 'daily', limit: 2, window: 'P1D' }] });
    const sends = [aSend(T0 - HOUR), { ...aSend(T0 + 30 * HOUR), key: '', since: T0 + HOUR, count: 1 }];

    // Act
    const verdict = decide(aView({ sends }), facts({ expiresAt: T0 + 10 * DAY }), daily, T0);

    // Assess: not before the send of an hour ago leaves the window
    expect(verdict).toMatchObject({ outcome: 'deferred', releaseAt: T0 + 23 * HOUR, rule: 'daily' });
  });
});

describe('decide, at the edges of the slot search', () => {
  it('never frees a slot under a cap of zero, whatever was sent before', () => {
    const none = compiled({ caps: [{ id: 'none', limit: 0, window: 'P1D' }] });

    const verdict = decide(
      aView({ sends: [aSend(T0 - HOUR)] }),
      facts({ expiresAt: T0 + 10 * DAY }),
      none,
      T0,
    );

    expect(verdict).toEqual({
      outcome: 'suppressed',
      channel: 'email',
      reason: 'frequency_cap',
      rule: 'none',
    });
  });

  it('defers to when the send that fills the window leaves it, not to now when an older one left it', () => {
    // Prepare: one a day; a send exactly a day ago has left the window ending now, one an hour ago has not
    const daily = compiled({ caps: [{ id: 'daily', limit: 1, window: 'P1D' }] });
    const sends = [aSend(T0 - DAY), aSend(T0 - HOUR)];

    // Act
    const verdict = decide(aView({ sends }), facts({ expiresAt: T0 + 10 * DAY }), daily, T0);

    // Assess
    expect(verdict).toMatchObject({ outcome: 'deferred', releaseAt: T0 + 23 * HOUR, rule: 'daily' });
  });

  it('applies no topic opt-out to a message without a category, even one for a topic named "undefined"', () => {
    const view = aView({ preferences: { topics: { undefined: false } } });

    expect(decide(view, facts(), noRules, T0)).toEqual({ outcome: 'accepted', channel: 'email' });
  });

  it('tries the alternates in the order the message gives them when the customer states no preference', () => {
    const view = aView({ preferences: { channels: { email: { optIn: false } } } });

    const verdict = decide(view, facts({ alternateChannels: ['push', 'sms'] }), noRules, T0);

    expect(verdict).toEqual({ outcome: 'accepted', channel: 'push' });
  });
});
