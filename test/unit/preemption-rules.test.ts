/**
 * Pre-emption's rules one by one: which held messages a newcomer may bump and in what order, which
 * refusals never bump, and where a bumped message goes when another channel takes it at its moment.
 */
import { describe, expect, it } from 'vitest';
import { emptyBase, replay } from '#shared/domain/customer-log.ts';
import type { Verdict } from '#shared/domain/decision.ts';
import { bumpable, type Held, MAX_PREEMPTION_TRIES, preempt } from '#shared/domain/preemption.ts';
import type { Reason } from '#shared/domain/schemas.ts';
import {
  aPolicy,
  aSend,
  aView,
  compiled,
  DAY,
  facts,
  MINUTE,
  messageEntry,
  policies,
  T0,
} from './builders.ts';

function held(
  key: string,
  relevance: number | undefined,
  releaseAt: number,
  kind = 'marketing' as const,
): Held {
  return { facts: facts({ key, relevance, kind }), releaseAt };
}

const deferredTo = (releaseAt: number): Verdict => ({
  outcome: 'deferred',
  channel: 'email',
  releaseAt,
  reason: 'frequency_cap',
  rule: 'per-minute',
});

const keys = (list: Held[]) => list.map((h) => h.facts.key);

describe('bumpable', () => {
  const refused: Verdict = {
    outcome: 'suppressed',
    channel: 'email',
    reason: 'frequency_cap',
    rule: 'daily',
  };

  it('offers only marketing messages held with a relevance lower than the newcomer’s', () => {
    // Prepare
    const pending = [
      held('lower', 0.2, T0 + MINUTE),
      held('equal', 0.5, T0 + MINUTE),
      held('higher', 0.8, T0 + MINUTE),
      held('no-relevance', undefined, T0 + MINUTE),
      {
        facts: facts({ key: 'transactional', relevance: 0.1, kind: 'transactional' }),
        releaseAt: T0 + MINUTE,
      },
    ];

    // Act, Assess
    expect(keys(bumpable(pending, 0.5, refused, T0))).toEqual(['lower']);
  });

  it('offers only reservations still ahead of the decision', () => {
    // Prepare
    const pending = [held('due', 0.1, T0), held('ahead', 0.1, T0 + 1)];

    // Act, Assess
    expect(keys(bumpable(pending, 0.5, refused, T0))).toEqual(['ahead']);
  });

  it('offers, to a deferred newcomer, only the reservations before the moment it was given', () => {
    // Prepare
    const pending = [held('before', 0.1, T0 + MINUTE - 1), held('same', 0.1, T0 + MINUTE)];

    // Act, Assess
    expect(keys(bumpable(pending, 0.5, deferredTo(T0 + MINUTE), T0))).toEqual(['before']);
  });

  it('tries the least relevant first, then the latest reservation, then the key', () => {
    // Prepare
    const pending = [
      held('b-late', 0.2, T0 + 2 * MINUTE),
      held('a-late', 0.2, T0 + 2 * MINUTE),
      held('early', 0.2, T0 + MINUTE),
      held('more-relevant', 0.3, T0 + 3 * MINUTE),
      held('least-relevant', 0.1, T0 + MINUTE),
    ];

    // Act, Assess
    expect(keys(bumpable(pending, 0.5, refused, T0))).toEqual([
      'least-relevant',
      'a-late',
      'b-late',
      'early',
      'more-relevant',
    ]);
  });

  it(`tries at most ${MAX_PREEMPTION_TRIES} of them`, () => {
    // Prepare
    const pending = Array.from({ length: MAX_PREEMPTION_TRIES + 2 }, (_, i) =>
      held(`h${i}`, 0.01 * (i + 1), T0 + MINUTE),
    );

    // Act, Assess
    expect(keys(bumpable(pending, 0.5, refused, T0))).toEqual(
      pending.slice(0, MAX_PREEMPTION_TRIES).map((h) => h.facts.key),
    );
  });
});

describe('preempt', () => {
  // One email a minute: a was sent at T0, low holds the next minute
  const perMinute = compiled({ caps: [{ id: 'per-minute', limit: 1, window: 'PT1M' }] });
  const low: Held = {
    facts: facts({ key: 'low', relevance: 0.2, expiresAt: T0 + DAY }),
    releaseAt: T0 + MINUTE,
  };
  const view = {
    ...aView({ sends: [aSend(T0, { key: 'a' }), aSend(T0 + MINUTE, { key: 'low' })] }),
    pending: new Map([['low', low]]),
  };
  const high = facts({ key: 'high', relevance: 0.9, expiresAt: T0 + DAY });

  it.each<Reason>([
    'relevance_below_threshold',
    'opted_out',
    'topic_opted_out',
    'paused',
    'hard_bounce',
    'complained',
    'expired',
  ])('bumps nothing for a message suppressed %s, which no slot cures', (reason) => {
    // Prepare
    const verdict: Verdict = { outcome: 'suppressed', channel: 'email', reason };

    // Act, Assess
    expect(preempt(view, high, verdict, perMinute, T0 + 2000, {})).toBeUndefined();
  });

  it('takes a slot for a message suppressed for lack of one', () => {
    // Prepare
    const verdict: Verdict = {
      outcome: 'suppressed',
      channel: 'email',
      reason: 'frequency_cap',
      rule: 'per-minute',
    };

    // Act
    const taken = preempt(view, high, verdict, perMinute, T0 + 2000, {});

    // Assess: low goes to the minute after
    expect(taken).toEqual({
      verdict: deferredTo(T0 + MINUTE),
      bumped: { key: 'low', verdict: deferredTo(T0 + 2 * MINUTE) },
    });
  });

  it('takes no slot that would not bring its message forward', () => {
    // Prepare: the newcomer is deferred to the very moment low holds already
    const verdict = deferredTo(T0 + MINUTE);

    // Act, Assess
    expect(preempt(view, high, verdict, perMinute, T0 + 2000, {})).toBeUndefined();
  });
});

describe('pre-emption of a message that another channel takes at its moment', () => {
  it('keeps the bumped message at the moment it held, on that channel, as preempted', () => {
    // Prepare: one email and one sms a minute; a and s used both at T0, so both free at T0 + 1 min, where
    // low (email, or sms) is deferred on its own channel
    const policy = aPolicy({
      caps: [
        { id: 'email', limit: 1, window: 'PT1M', match: { channel: 'email' } },
        { id: 'sms', limit: 1, window: 'PT1M', match: { channel: 'sms' } },
      ],
    });
    const expiresAt = T0 + DAY;
    const log = [
      messageEntry(T0, { key: 'a' }),
      messageEntry(T0, { key: 's', channel: 'sms' }),
      messageEntry(T0 + 1000, { key: 'low', relevance: 0.2, alternateChannels: ['sms'], expiresAt }),
      // Act: a more relevant email takes the email slot
      messageEntry(T0 + 2000, { key: 'high', relevance: 0.9, expiresAt }),
    ];
    const { state, results } = replay(emptyBase(), log, policies(policy));

    // Assess
    expect(results[2]).toMatchObject({
      decided: { verdict: { outcome: 'deferred', channel: 'email', releaseAt: T0 + MINUTE } },
    });
    expect(results[3]).toMatchObject({
      decided: { verdict: { outcome: 'deferred', channel: 'email', releaseAt: T0 + MINUTE } },
      bumped: [
        {
          key: 'low',
          verdict: {
            outcome: 'deferred',
            channel: 'sms',
            releaseAt: T0 + MINUTE,
            reason: 'preempted',
            rule: 'preemption',
          },
        },
      ],
    });
    expect(state.pending.get('low')?.releaseAt).toBe(T0 + MINUTE);
  });
});
