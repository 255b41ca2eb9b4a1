import { describe, expect, it } from 'vitest';
import { decide } from '#shared/domain/decision.ts';
import { type Explanation, explain, explanationSchema } from '#shared/domain/explain.ts';
import { aSend, aView, compiled, DAY, facts, HOUR, T0 } from './builders.ts';

const policy = compiled({
  caps: [
    { id: 'weekly', limit: 4, window: 'P7D' },
    { id: 'daily', limit: 1, window: 'P1D' },
    { id: 'sms-weekly', limit: 1, window: 'P7D', match: { channel: 'sms' } },
    { id: 'gap', minGap: 'PT4H' },
  ],
  relevance: { default: 0.25, byChannel: { sms: 0.5 }, pressureSlope: 0.5 },
});

describe('explain', () => {
  it('gives the threshold applied as its base and what the pressure of the fullest cap adds', () => {
    // Prepare: 2 of 4 weekly sends used (pressure 0.5), none in the last day
    const view = aView({ sends: [aSend(T0 - 3 * DAY), aSend(T0 - 2 * DAY)] });
    const message = facts({ relevance: 0.4 });

    // Act
    const why = explain(view, message, policy, 'email', T0);

    // Assess: 0.25 + 0.5 × 0.5 = 0.5 > 0.4, which is why the decision suppresses it
    expect(why.pressure).toBe(0.5);
    expect(why.threshold).toEqual({ base: 0.25, fromPressure: 0.25, required: 0.5, relevance: 0.4 });
    expect(decide(view, message, policy, T0)).toMatchObject({ reason: 'relevance_below_threshold' });
  });

  it('tells how full each applicable cap is and when its oldest counted send frees a slot', () => {
    const view = aView({ sends: [aSend(T0 - 3 * DAY), aSend(T0 - 2 * HOUR)] });

    const why = explain(view, facts(), policy, 'email', T0);

    expect(why.caps).toEqual([
      { id: 'weekly', used: 2, limit: 4, window: 'P7D', freesAt: new Date(T0 + 4 * DAY).toISOString() },
      { id: 'daily', used: 1, limit: 1, window: 'P1D', freesAt: new Date(T0 + 22 * HOUR).toISOString() },
    ]);
    expect(why.gaps).toEqual([{ id: 'gap', minGap: 'PT4H', freesAt: new Date(T0 + 2 * HOUR).toISOString() }]);
    expect(why.pressure).toBe(1);
    // No relevance given: the message is held to no threshold.
    expect(why.threshold).toBeUndefined();
  });

  it("lists only the caps that apply on the channel explained, the customer's own cap included", () => {
    const view = aView({
      preferences: { maxPerWeek: 2 },
      sends: [aSend(T0 - DAY - HOUR, { channel: 'sms' })],
    });

    const why = explain(view, facts({ channel: 'sms', relevance: 0.9 }), policy, 'sms', T0);

    expect(why.caps.map((c) => [c.id, c.used, c.limit])).toEqual([
      ['weekly', 1, 4],
      ['daily', 0, 1],
      ['sms-weekly', 1, 1],
      ['customer.maxPerWeek', 1, 2],
    ]);
    // The customer's own cap is weekly: it is in no policy cap's list, but its window is the week.
    expect(why.caps.at(-1)?.window).toBe('P7D');
    expect(why.threshold).toMatchObject({ base: 0.5, fromPressure: 0.5, required: 1 });
  });

  it('holds a transactional message to no threshold and to no marketing cap', () => {
    const view = aView({ sends: [aSend(T0 - HOUR)] });

    const why = explain(view, facts({ kind: 'transactional', relevance: 0.1 }), policy, 'email', T0);

    expect(why).toEqual({ channel: 'email', pressure: 0, caps: [], gaps: [] });
  });

  it('explains a message held to notBefore as it will be then: the caps and pressure at that moment', () => {
    // Prepare: one weekly send that leaves the week's window half a day from now
    const view = aView({ sends: [aSend(T0 - 6 * DAY - 12 * HOUR)] });
    const message = facts({ relevance: 0.4, notBefore: T0 + DAY });

    // Act
    const now = explain(view, facts({ relevance: 0.4 }), policy, 'email', T0);
    const then = explain(view, message, policy, 'email', T0);

    // Assess: counted now (a quarter of the weekly cap), gone by notBefore
    expect(now.caps.find((c) => c.id === 'weekly')?.used).toBe(1);
    expect(now.pressure).toBe(0.25);
    expect(then.caps.find((c) => c.id === 'weekly')).toEqual({
      id: 'weekly',
      used: 0,
      limit: 4,
      window: 'P7D',
    });
    expect(then.pressure).toBe(0);
    expect(then.threshold).toMatchObject({ fromPressure: 0, required: 0.25 });
  });
});

describe('explain, for a policy with a fatigue section', () => {
  const fatigue = {
    threshold: 0.2,
    minDelivered: 4,
    capScale: 0.5,
    relevanceBoost: 0.3,
    unengagedRun: 10,
    runCapScale: 0.25,
    runRelevanceBoost: 0.4,
  };
  const fatiguing = compiled({
    caps: [
      { id: 'weekly', limit: 4, window: 'P7D' },
      { id: 'daily', limit: 1, window: 'P1D' },
    ],
    relevance: { default: 0.5, pressureSlope: 0.5 },
    fatigue,
  });
  /** A customer who opened none of the last `delivered` messages (delivered just now). */
  const unengaged = (delivered: number) => ({
    ...aView({ sends: [aSend(T0 - 2 * DAY), aSend(T0 - 3 * DAY)] }),
    engagement: { delivered, engaged: 0, run: delivered, at: T0, seen: [] },
  });

  it('adds what fatigue adds to the threshold, but never past 1', () => {
    // Prepare: half the weekly cap used: 0.5 + 0.5 × 0.5 = 0.75 required; fatigue would add 0.3
    const view = unengaged(6);

    // Act
    const why = explain(view, facts({ relevance: 0.95 }), fatiguing, 'email', T0);

    // Assess: 0.25 is all that is left up to 1
    expect(why.threshold).toMatchObject({ required: 0.75, relevance: 0.95 });
    expect(why.threshold?.fromFatigue).toBeCloseTo(0.25, 10);
    expect(why.engagement).toEqual({ score: 0, delivered: 6, run: 6, fatigue: 'fatigue.threshold' });
  });

  it('gives the limit fatigue scales a cap down to, and none for a cap it cannot scale below one', () => {
    const why = explain(unengaged(6), facts(), fatiguing, 'email', T0);

    // 4 × 0.5 = 2 for the weekly cap; the daily cap of 1 stays 1 (at least one is left)
    expect(why.caps).toEqual([
      expect.objectContaining({ id: 'weekly', limit: 4, effectiveLimit: 2 }),
      expect.not.objectContaining({ effectiveLimit: expect.anything() }),
    ]);
    expect(why.caps[1]).toMatchObject({ id: 'daily', limit: 1 });
  });

  it('explains a customer too new to score: engagement without a score, no fatigue, the caps as set', () => {
    const why = explain(unengaged(2), facts({ relevance: 0.9 }), fatiguing, 'email', T0);

    expect(why.engagement).toStrictEqual({ delivered: 2, run: 2 });
    expect(why.caps.map((c) => c.effectiveLimit)).toEqual([undefined, undefined]);
    expect(why.threshold).not.toHaveProperty('fromFatigue');
  });
});

describe('the explanation schema', () => {
  const valid: Explanation = {
    channel: 'email',
    pressure: 0.25,
    threshold: { base: 0.25, fromPressure: 0.125, required: 0.375, relevance: 0.6 },
    caps: [{ id: 'weekly', used: 1, limit: 4, window: 'P7D', freesAt: '2026-03-09T09:00:00.000Z' }],
    gaps: [{ id: 'gap', minGap: 'PT4H', freesAt: '2026-03-02T13:00:00.000Z' }],
  };

  it('holds every explanation explain gives', () => {
    const view = aView({ sends: [aSend(T0 - HOUR)] });
    const given = explain(view, facts({ relevance: 0.6 }), policy, 'email', T0);

    expect(explanationSchema.parse(given)).toEqual(given);
    expect(explanationSchema.parse(valid)).toEqual(valid);
  });

  it.each([
    ['a pressure above 1', { ...valid, pressure: 1.01 }],
    ['a negative pressure', { ...valid, pressure: -0.01 }],
    ['a threshold above 1', { ...valid, threshold: { ...valid.threshold, required: 1.5 } }],
    ['a negative count', { ...valid, caps: [{ ...valid.caps[0], used: -1 }] }],
    ['a fractional count', { ...valid, caps: [{ ...valid.caps[0], used: 0.5 }] }],
    ['a negative limit', { ...valid, caps: [{ ...valid.caps[0], limit: -1 }] }],
    ['a negative effective limit', { ...valid, caps: [{ ...valid.caps[0], effectiveLimit: -1 }] }],
    ['negative deliveries', { ...valid, engagement: { delivered: -1, run: 0 } }],
    ['a negative run', { ...valid, engagement: { delivered: 1, run: -1 } }],
    ['a gap without its duration', { ...valid, gaps: [{ id: 'gap' }] }],
  ])('refuses %s', (_, explanation) => {
    expect(explanationSchema.safeParse(explanation).success).toBe(false);
  });

  it('takes the bounds themselves: a pressure of 0 or 1, counts of 0', () => {
    const full = {
      ...valid,
      pressure: 1,
      caps: [{ ...valid.caps[0], used: 0, limit: 0, effectiveLimit: 0 }],
    };
    const empty = { ...valid, pressure: 0, engagement: { delivered: 0, run: 0 } };

    expect(explanationSchema.safeParse(full).success).toBe(true);
    expect(explanationSchema.safeParse(empty).success).toBe(true);
  });
});
