import { describe, expect, it } from 'vitest';
import { decide } from '#shared/domain/decision.ts';
import { explain } from '#shared/domain/explain.ts';
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
    expect(why.threshold).toMatchObject({ base: 0.5, fromPressure: 0.5, required: 1 });
  });

  it('holds a transactional message to no threshold and to no marketing cap', () => {
    const view = aView({ sends: [aSend(T0 - HOUR)] });

    const why = explain(view, facts({ kind: 'transactional', relevance: 0.1 }), policy, 'email', T0);

    expect(why).toEqual({ channel: 'email', pressure: 0, caps: [], gaps: [] });
  });
});
