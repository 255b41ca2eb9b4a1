import { describe, expect, it } from 'vitest';
import { decide } from '#shared/domain/decision.ts';
import { aSend, aView, compiled, DAY, facts, HOUR, MINUTE, SECOND, T0, WEEK } from './builders.ts';

const FAR = T0 + 365 * DAY;

describe('decide — frequency caps', () => {
  describe('rolling windows', () => {
    it.each([
      ['PT30S', 30 * SECOND],
      ['PT15M', 15 * MINUTE],
      ['PT1H', HOUR],
      ['P1D', DAY],
      ['P1W', WEEK],
      ['P30D', 30 * DAY],
      ['P90D', 90 * DAY],
    ])('with a window of %s, a send at s frees its slot exactly at s + window', (window, windowMs) => {
      // Prepare
      const policy = compiled({ caps: [{ id: 'cap', limit: 1, window }] });
      const view = aView({ sends: [aSend(T0)] });

      // Act
      const justBefore = decide(view, facts(), policy, T0 + windowMs - 1);
      const exactly = decide(view, facts(), policy, T0 + windowMs);
      const deferred = decide(view, facts({ expiresAt: FAR }), policy, T0 + 1);

      // Assess
      expect(justBefore).toEqual({
        outcome: 'suppressed',
        channel: 'email',
        reason: 'frequency_cap',
        rule: 'cap',
      });
      expect(exactly).toEqual({ outcome: 'accepted', channel: 'email' });
      expect(deferred).toEqual({
        outcome: 'deferred',
        channel: 'email',
        releaseAt: T0 + windowMs,
        reason: 'frequency_cap',
        rule: 'cap',
      });
    });

    it.each([
      [0, 'accepted'],
      [1, 'accepted'],
      [2, 'accepted'],
      [3, 'suppressed'],
      [4, 'suppressed'],
    ] as const)('under a limit of 3 a day, after %i sends the message is %s', (sent, outcome) => {
      // Prepare
      const policy = compiled({ caps: [{ id: 'daily', limit: 3, window: 'P1D' }] });
      const sends = Array.from({ length: sent }, (_, i) => aSend(T0 - (i + 1) * HOUR));

      // Act
      const verdict = decide(aView({ sends }), facts(), policy, T0);

      // Assess
      expect(verdict.outcome).toBe(outcome);
    });

    it('counts an exact rolling window, not a calendar day', () => {
      // Prepare: one send at 23:00 yesterday; it is 01:00 today
      const policy = compiled({ caps: [{ id: 'daily', limit: 1, window: 'P1D' }] });
      const view = aView({ sends: [aSend(T0 - 2 * HOUR)] });

      // Act
      const verdict = decide(view, facts({ expiresAt: FAR }), policy, T0);

      // Assess
      expect(verdict).toMatchObject({ outcome: 'deferred', releaseAt: T0 + 22 * HOUR });
    });

    it('defers a message to the moment the weekly cap frees a slot', () => {
      // Prepare: the oldest of three sends in the week leaves the window first
      const policy = compiled({ caps: [{ id: 'weekly', limit: 3, window: 'P7D' }] });
      const sends = [aSend(T0 - 6 * DAY), aSend(T0 - 3 * DAY), aSend(T0 - DAY)];

      // Act
      const verdict = decide(aView({ sends }), facts({ expiresAt: T0 + 2 * DAY }), policy, T0);

      // Assess
      expect(verdict).toEqual({
        outcome: 'deferred',
        channel: 'email',
        releaseAt: T0 + DAY,
        reason: 'frequency_cap',
        rule: 'weekly',
      });
    });

    it('defers to the first moment every cap has a free slot', () => {
      // Prepare: the daily cap frees at T0 + 22h, but the weekly cap only at T0 + 1d
      const policy = compiled({
        caps: [
          { id: 'daily', limit: 1, window: 'P1D' },
          { id: 'weekly', limit: 2, window: 'P7D' },
        ],
      });
      const view = aView({ sends: [aSend(T0 - 6 * DAY), aSend(T0 - 2 * HOUR)] });

      // Act
      const verdict = decide(view, facts({ expiresAt: FAR }), policy, T0);

      // Assess
      expect(verdict).toEqual({
        outcome: 'deferred',
        channel: 'email',
        releaseAt: T0 + DAY,
        reason: 'frequency_cap',
        rule: 'weekly',
      });
    });

    it.each([
      ['a millisecond after', 1, 'deferred'],
      ['exactly when', 0, 'suppressed'],
      ['an hour before', -HOUR, 'suppressed'],
    ] as const)('a message expiring %s (%i ms) the slot frees is %s', (_, offset, outcome) => {
      // Prepare: the slot frees at T0 + 23h
      const policy = compiled({ caps: [{ id: 'daily', limit: 1, window: 'P1D' }] });
      const view = aView({ sends: [aSend(T0 - HOUR)] });
      const frees = T0 + 23 * HOUR;

      // Act
      const verdict = decide(view, facts({ expiresAt: frees + offset }), policy, T0);

      // Assess
      if (outcome === 'deferred') expect(verdict).toMatchObject({ outcome, releaseAt: frees });
      else expect(verdict).toEqual({ outcome, channel: 'email', reason: 'frequency_cap', rule: 'daily' });
    });

    it('suppresses at once a capped message that has no expiry, rather than holding it', () => {
      // Prepare
      const policy = compiled({ caps: [{ id: 'daily', limit: 1, window: 'P1D' }] });
      const view = aView({ sends: [aSend(T0 - HOUR)] });

      // Act
      const verdict = decide(view, facts(), policy, T0);

      // Assess
      expect(verdict).toEqual({
        outcome: 'suppressed',
        channel: 'email',
        reason: 'frequency_cap',
        rule: 'daily',
      });
    });

    it('suppresses under a limit of zero, whatever the expiry', () => {
      // Prepare
      const policy = compiled({ caps: [{ id: 'none', limit: 0, window: 'P1D', match: { channel: 'sms' } }] });

      // Act
      const verdict = decide(aView(), facts({ channel: 'sms', expiresAt: FAR }), policy, T0);

      // Assess
      expect(verdict).toEqual({
        outcome: 'suppressed',
        channel: 'sms',
        reason: 'frequency_cap',
        rule: 'none',
      });
    });

    describe('sends reserved in the future by deferred messages', () => {
      const policy = compiled({ caps: [{ id: 'daily', limit: 1, window: 'P1D' }] });

      it.each([
        ['in two hours', 2 * HOUR, 'suppressed'],
        ['a millisecond less than a window away', DAY - 1, 'suppressed'],
        ['exactly a window away', DAY, 'accepted'],
        ['more than a window away', DAY + HOUR, 'accepted'],
      ] as const)('a reservation %s (+%i ms) leaves the message %s', (_, offset, outcome) => {
        // Prepare
        const view = aView({ sends: [aSend(T0 + offset)] });

        // Act
        const verdict = decide(view, facts(), policy, T0);

        // Assess
        expect(verdict.outcome).toBe(outcome);
      });

      it('defers a message past the window of a reservation', () => {
        // Prepare
        const view = aView({ sends: [aSend(T0 + 2 * HOUR)] });

        // Act
        const verdict = decide(view, facts({ expiresAt: FAR }), policy, T0);

        // Assess
        expect(verdict).toMatchObject({ outcome: 'deferred', releaseAt: T0 + 2 * HOUR + DAY, rule: 'daily' });
      });

      it('fits a message between a past send and a reservation when the windows allow it', () => {
        // Prepare: 2 a day; one send 20h ago, one reserved in 10h
        const twice = compiled({ caps: [{ id: 'daily', limit: 2, window: 'P1D' }] });
        const view = aView({ sends: [aSend(T0 - 20 * HOUR), aSend(T0 + 10 * HOUR)] });

        // Act
        const verdict = decide(view, facts(), twice, T0);

        // Assess
        expect(verdict).toEqual({ outcome: 'accepted', channel: 'email' });
      });

      it('does not fit a message where a window containing it and the reservation would overflow', () => {
        // Prepare: 2 a day; sends 10h ago and in 10h: the window ending at T0 + 10h would hold three
        const twice = compiled({ caps: [{ id: 'daily', limit: 2, window: 'P1D' }] });
        const view = aView({ sends: [aSend(T0 - 10 * HOUR), aSend(T0 + 10 * HOUR)] });

        // Act
        const verdict = decide(view, facts({ expiresAt: FAR }), twice, T0);

        // Assess: at T0 + 14h the send of T0 - 10h has left every window containing it
        expect(verdict).toMatchObject({ outcome: 'deferred', releaseAt: T0 + 14 * HOUR });
      });
    });
  });

  describe('scopes', () => {
    it.each([
      ['channel sms', { channel: 'sms' }, { channel: 'sms' }, { channel: 'sms' }, 'suppressed'],
      ['channel sms', { channel: 'sms' }, { channel: 'email' }, { channel: 'sms' }, 'accepted'],
      ['channel sms', { channel: 'sms' }, { channel: 'sms' }, { channel: 'email' }, 'accepted'],
      [
        'category promotions',
        { category: 'promotions' },
        { category: 'promotions' },
        { category: 'promotions' },
        'suppressed',
      ],
      [
        'category promotions',
        { category: 'promotions' },
        { category: 'news' },
        { category: 'promotions' },
        'accepted',
      ],
      [
        'category promotions',
        { category: 'promotions' },
        { category: 'promotions' },
        { category: 'news' },
        'accepted',
      ],
      ['category promotions', { category: 'promotions' }, {}, { category: 'promotions' }, 'accepted'],
      [
        'campaign spring',
        { campaignId: 'spring' },
        { campaignId: 'spring' },
        { campaignId: 'spring' },
        'suppressed',
      ],
      [
        'campaign spring',
        { campaignId: 'spring' },
        { campaignId: 'summer' },
        { campaignId: 'spring' },
        'accepted',
      ],
      [
        'campaign spring',
        { campaignId: 'spring' },
        { campaignId: 'spring' },
        { campaignId: 'summer' },
        'accepted',
      ],
      ['kind marketing', { kind: 'marketing' }, { kind: 'marketing' }, { kind: 'marketing' }, 'suppressed'],
      ['kind marketing', { kind: 'marketing' }, { kind: 'transactional' }, { kind: 'marketing' }, 'accepted'],
      [
        'kind transactional',
        { kind: 'transactional' },
        { kind: 'transactional' },
        { kind: 'transactional' },
        'suppressed',
      ],
      [
        'kind transactional',
        { kind: 'transactional' },
        { kind: 'marketing' },
        { kind: 'transactional' },
        'accepted',
      ],
      [
        'sms in promotions',
        { channel: 'sms', category: 'promotions' },
        { channel: 'sms', category: 'promotions' },
        { channel: 'sms', category: 'promotions' },
        'suppressed',
      ],
      [
        'sms in promotions',
        { channel: 'sms', category: 'promotions' },
        { channel: 'email', category: 'promotions' },
        { channel: 'sms', category: 'promotions' },
        'accepted',
      ],
      [
        'every marketing message',
        {},
        { channel: 'push', category: 'news', campaignId: 'x' },
        { channel: 'sms', category: 'promotions' },
        'suppressed',
      ],
    ] as const)(
      'a cap on %s (%j), after a send %j, leaves a message %j %s',
      (_, match, sent, message, outcome) => {
        // Prepare
        const policy = compiled({ caps: [{ id: 'scoped', limit: 1, window: 'P1D', match }] });
        const view = aView({ sends: [aSend(T0 - HOUR, sent)] });

        // Act
        const verdict = decide(view, facts(message), policy, T0);

        // Assess
        expect(verdict.outcome).toBe(outcome);
        if (outcome === 'suppressed')
          expect(verdict).toMatchObject({ reason: 'frequency_cap', rule: 'scoped' });
      },
    );

    it('names the cap that refuses when several are full', () => {
      // Prepare
      const policy = compiled({
        caps: [
          { id: 'sms-hourly', limit: 1, window: 'PT1H', match: { channel: 'sms' } },
          { id: 'promotions-daily', limit: 1, window: 'P1D', match: { category: 'promotions' } },
        ],
      });
      const view = aView({ sends: [aSend(T0 - 2 * HOUR, { channel: 'sms', category: 'promotions' })] });

      // Act
      const verdict = decide(view, facts({ channel: 'sms', category: 'promotions' }), policy, T0);

      // Assess
      expect(verdict).toMatchObject({
        outcome: 'suppressed',
        reason: 'frequency_cap',
        rule: 'promotions-daily',
      });
    });
  });

  describe('minimum gaps', () => {
    const gap = compiled({ caps: [{ id: 'gap', minGap: 'PT4H' }] });

    it.each([
      ['3 hours ago', -3 * HOUR, 'suppressed'],
      ['a millisecond less than the gap ago', -4 * HOUR + 1, 'suppressed'],
      ['exactly the gap ago', -4 * HOUR, 'accepted'],
      ['5 hours ago', -5 * HOUR, 'accepted'],
      ['reserved in 3 hours', 3 * HOUR, 'suppressed'],
      ['reserved exactly the gap ahead', 4 * HOUR, 'accepted'],
    ] as const)('with a send %s (%i ms), a message is %s', (_, offset, outcome) => {
      // Prepare
      const view = aView({ sends: [aSend(T0 + offset)] });

      // Act
      const verdict = decide(view, facts(), gap, T0);

      // Assess
      expect(verdict.outcome).toBe(outcome);
      if (outcome === 'suppressed') expect(verdict).toMatchObject({ reason: 'min_gap', rule: 'gap' });
    });

    it('defers a message to the moment the gap since the last send has passed', () => {
      // Prepare
      const view = aView({ sends: [aSend(T0 - 3 * HOUR)] });

      // Act
      const verdict = decide(view, facts({ expiresAt: FAR }), gap, T0);

      // Assess
      expect(verdict).toEqual({
        outcome: 'deferred',
        channel: 'email',
        releaseAt: T0 + HOUR,
        reason: 'min_gap',
        rule: 'gap',
      });
    });

    it('keeps the gap after a reservation too', () => {
      // Prepare
      const view = aView({ sends: [aSend(T0 + HOUR)] });

      // Act
      const verdict = decide(view, facts({ expiresAt: FAR }), gap, T0);

      // Assess
      expect(verdict).toMatchObject({ outcome: 'deferred', releaseAt: T0 + 5 * HOUR, reason: 'min_gap' });
    });

    it('keeps the gap from every matching send around the message', () => {
      // Prepare: sends 3h ago and reserved in 2h
      const view = aView({ sends: [aSend(T0 - 3 * HOUR), aSend(T0 + 2 * HOUR)] });

      // Act
      const verdict = decide(view, facts({ expiresAt: FAR }), gap, T0);

      // Assess
      expect(verdict).toMatchObject({ outcome: 'deferred', releaseAt: T0 + 6 * HOUR });
    });

    it('counts only the sends the gap’s scope matches', () => {
      // Prepare
      const policy = compiled({ caps: [{ id: 'sms-gap', minGap: 'PT4H', match: { channel: 'sms' } }] });
      const view = aView({ sends: [aSend(T0 - HOUR, { channel: 'email' })] });

      // Act
      const sms = decide(view, facts({ channel: 'sms' }), policy, T0);

      // Assess
      expect(sms).toEqual({ outcome: 'accepted', channel: 'sms' });
    });

    it('applies both the limit and the gap of a cap that has both', () => {
      // Prepare: 2 a day, 4 hours apart
      const policy = compiled({ caps: [{ id: 'daily', limit: 2, window: 'P1D', minGap: 'PT4H' }] });
      const oneSend = aView({ sends: [aSend(T0 - HOUR)] });
      const twoSends = aView({ sends: [aSend(T0 - 10 * HOUR), aSend(T0 - 5 * HOUR)] });

      // Act
      const gapped = decide(oneSend, facts({ expiresAt: FAR }), policy, T0);
      const capped = decide(twoSends, facts({ expiresAt: FAR }), policy, T0);

      // Assess
      expect(gapped).toMatchObject({
        outcome: 'deferred',
        releaseAt: T0 + 3 * HOUR,
        reason: 'min_gap',
        rule: 'daily',
      });
      expect(capped).toMatchObject({
        outcome: 'deferred',
        releaseAt: T0 + 14 * HOUR,
        reason: 'frequency_cap',
      });
    });

    it('suppresses a message that cannot keep the gap before it expires', () => {
      // Prepare
      const view = aView({ sends: [aSend(T0 - HOUR)] });

      // Act
      const verdict = decide(view, facts({ expiresAt: T0 + 3 * HOUR }), gap, T0);

      // Assess
      expect(verdict).toEqual({ outcome: 'suppressed', channel: 'email', reason: 'min_gap', rule: 'gap' });
    });
  });
});
