import { describe, expect, it } from 'vitest';
import { decodeBase, decodeEntry, encodeBase, encodeEntry } from '#shared/adapters/dynamodb/entry-codec.ts';
import { compact, emptyBase, type LogEntry, replay } from '#shared/domain/customer-log.ts';
import { decide } from '#shared/domain/decision.ts';
import { explain } from '#shared/domain/explain.ts';
import {
  applyEngagement,
  ENGAGEMENT_HALF_LIFE_MS,
  type EngagementEvent,
  type EngagementType,
  fatigueAt,
  fatiguedLimit,
  neutralEngagement,
} from '#shared/domain/fatigue.ts';
import { aPolicy, DAY, facts, HOUR, messageEntry, policies, preferencesEntry, T0 } from './builders.ts';

const fatigue = {
  threshold: 0.2,
  minDelivered: 4,
  capScale: 0.5,
  relevanceBoost: 0.2,
  unengagedRun: 6,
  runCapScale: 0.25,
  runRelevanceBoost: 0.4,
};
const weeklyFour = aPolicy({ caps: [{ id: 'weekly', limit: 4, window: 'P7D' }], fatigue }, 1);
const lookup = policies(weeklyFour);

let ids = 0;
const events = (...types: EngagementType[]): EngagementEvent[] =>
  types.map((type) => ({ id: `e${ids++}`, type }));
const engagementEntry = (when: number, list: EngagementEvent[]): LogEntry => ({
  type: 'engagement',
  at: when,
  events: list,
});
const delivered = (n: number) => events(...Array.from({ length: n }, () => 'delivered' as const));

describe('engagement', () => {
  it('starts neutral: no score, no fatigue, caps as the policy sets them', () => {
    const state = fatigueAt(neutralEngagement(), weeklyFour.fatigue, T0);
    expect(state).toMatchObject({ score: undefined, rule: undefined, capScale: 1, relevanceBoost: 0 });
  });

  it('counts deliveries minutes old whole towards minDelivered', () => {
    const { engagement } = applyEngagement(neutralEngagement(), delivered(4), T0);
    expect(fatigueAt(engagement, weeklyFour.fatigue, T0 + 10 * 60_000).score).toBe(0);
  });

  it('counts opens per delivered, each event id once', () => {
    // Prepare
    const list = events('delivered', 'delivered', 'delivered', 'delivered', 'delivered', 'opened');
    // Act
    const once = applyEngagement(neutralEngagement(), list, T0);
    const again = applyEngagement(once.engagement, list, T0 + HOUR);
    // Assess
    expect(once.counted).toHaveLength(6);
    expect(again.counted).toEqual([]);
    expect(again.engagement.delivered).toBeCloseTo(5 * 2 ** (-HOUR / ENGAGEMENT_HALF_LIFE_MS), 10);
    expect(fatigueAt(again.engagement, weeklyFour.fatigue, T0 + HOUR).score).toBeCloseTo(0.2, 10);
  });

  it('halves the deliveries every half-life, so an idle customer becomes neutral again', () => {
    const { engagement } = applyEngagement(neutralEngagement(), delivered(5), T0);
    expect(fatigueAt(engagement, weeklyFour.fatigue, T0).rule).toBe('fatigue.threshold');
    const later = fatigueAt(engagement, weeklyFour.fatigue, T0 + ENGAGEMENT_HALF_LIFE_MS);
    expect(later.delivered).toBeCloseTo(2.5, 10);
    expect(later.score).toBeUndefined();
  });

  it('backs off further after a run of N deliveries with no open or click', () => {
    const { engagement } = applyEngagement(neutralEngagement(), delivered(6), T0);
    expect(fatigueAt(engagement, weeklyFour.fatigue, T0)).toMatchObject({
      rule: 'fatigue.unengagedRun',
      capScale: 0.25,
      relevanceBoost: 0.4,
    });
  });

  it('is restored by a click', () => {
    const tired = applyEngagement(neutralEngagement(), delivered(8), T0).engagement;
    const clicked = applyEngagement(tired, events('clicked'), T0 + HOUR).engagement;
    expect(fatigueAt(clicked, weeklyFour.fatigue, T0 + HOUR)).toMatchObject({
      score: undefined,
      run: 0,
      rule: undefined,
    });
  });

  it('scales a cap down, rounding down, never below one', () => {
    expect([
      fatiguedLimit(4, 0.5),
      fatiguedLimit(3, 0.5),
      fatiguedLimit(1, 0.25),
      fatiguedLimit(5, 1),
    ]).toEqual([2, 1, 1, 5]);
  });
});

describe('decide under fatigue', () => {
  const sent = (n: number) =>
    Array.from({ length: n }, (_, i) => messageEntry(T0 + i * HOUR, { key: `s-${i}` }));

  it('suppresses a message the scaled-down cap refuses, saying fatigue and the rule', () => {
    // Prepare: two sends this week, then six deliveries nobody opened
    const log = [...sent(2), engagementEntry(T0 + 3 * HOUR, delivered(6))];
    const { state } = replay(emptyBase(), log, lookup);
    // Act
    const verdict = decide(state, facts({ key: 'next' }), lookup(1), T0 + 4 * HOUR);
    // Assess: the weekly cap of 4 would take a third; scaled to 1 it does not
    expect(verdict).toEqual({
      outcome: 'suppressed',
      channel: 'email',
      reason: 'fatigue',
      rule: 'fatigue.unengagedRun',
    });
  });

  it('accepts the same message for a customer who engages', () => {
    const log = [
      ...sent(2),
      engagementEntry(T0 + 3 * HOUR, events('delivered', 'opened', 'delivered', 'opened')),
    ];
    const { state } = replay(emptyBase(), log, lookup);
    expect(decide(state, facts({ key: 'next' }), lookup(1), T0 + 4 * HOUR).outcome).toBe('accepted');
  });

  it('raises the relevance threshold of a fatigued customer', () => {
    const log = [engagementEntry(T0, delivered(5))];
    const { state } = replay(emptyBase(), log, lookup);
    const verdict = decide(state, facts({ key: 'next', relevance: 0.1 }), lookup(1), T0 + HOUR);
    expect(verdict).toMatchObject({ outcome: 'suppressed', reason: 'fatigue', rule: 'fatigue.threshold' });
    expect(decide(state, facts({ key: 'next', relevance: 0.3 }), lookup(1), T0 + HOUR).outcome).toBe(
      'accepted',
    );
  });

  it('changes nothing without a fatigue section in the policy', () => {
    const plain = aPolicy({ caps: [{ id: 'weekly', limit: 4, window: 'P7D' }] }, 1);
    const log = [...sent(2), engagementEntry(T0 + 3 * HOUR, delivered(6))];
    const { state } = replay(emptyBase(), log, policies(plain));
    expect(decide(state, facts({ key: 'next' }), policies(plain)(1), T0 + 4 * HOUR).outcome).toBe('accepted');
  });

  it('is restored by an explicit preference change', () => {
    const log = [
      ...sent(2),
      engagementEntry(T0 + 3 * HOUR, delivered(6)),
      preferencesEntry(T0 + 3 * HOUR, {}),
    ];
    const { state } = replay(emptyBase(), log, lookup);
    expect(decide(state, facts({ key: 'next' }), lookup(1), T0 + 4 * HOUR).outcome).toBe('accepted');
  });

  it('explains the engagement score and the effective caps', () => {
    const log = [...sent(2), engagementEntry(T0 + 3 * HOUR, delivered(6))];
    const { state } = replay(emptyBase(), log, lookup);
    const explanation = explain(
      state,
      facts({ key: 'next', relevance: 0.9 }),
      lookup(1),
      'email',
      T0 + 4 * HOUR,
    );
    expect(explanation.engagement).toMatchObject({ score: 0, run: 6, fatigue: 'fatigue.unengagedRun' });
    expect(explanation.caps).toEqual([
      expect.objectContaining({ id: 'weekly', limit: 4, effectiveLimit: 1, used: 2 }),
    ]);
    expect(explanation.threshold?.fromFatigue).toBeCloseTo(0.4, 10);
  });
});

describe('engagement in the log', () => {
  it('round-trips an engagement entry', () => {
    const entry = engagementEntry(T0, [
      { id: 'AbC-_123', type: 'delivered' },
      { id: 'zz', type: 'opened' },
      { id: 'q%|,~', type: 'clicked' },
    ]);
    expect(decodeEntry(encodeEntry(entry))).toEqual(entry);
  });

  it('is folded into the base by compaction, with the ids seen in the last day, and decides the same after', () => {
    // Prepare
    const log = [
      engagementEntry(T0 - 2 * DAY, delivered(3)),
      engagementEntry(T0, delivered(4)),
      ...Array.from({ length: 2 }, (_, i) => messageEntry(T0 + i * HOUR, { key: `s-${i}` })),
    ];
    const before = replay(emptyBase(), log, lookup).state;
    // Act
    const compacted = compact(before, T0 + 2 * HOUR, { horizonMs: 7 * DAY, idempotencyMs: DAY });
    const base = decodeBase(encodeBase(compacted.base));
    const after = replay(base, compacted.entries, lookup).state;
    // Assess
    expect(base.engagement?.seen).toHaveLength(4);
    expect(after.engagement.run).toBe(7);
    const next = facts({ key: 'next' });
    expect(decide(after, next, lookup(1), T0 + 3 * HOUR)).toEqual(
      decide(before, next, lookup(1), T0 + 3 * HOUR),
    );
    // a redelivered event of the last day still counts nothing after compaction
    const redelivered = replay(
      base,
      [
        ...compacted.entries,
        engagementEntry(T0 + 3 * HOUR, log[1]?.type === 'engagement' ? log[1].events : []),
      ],
      lookup,
    );
    expect(redelivered.state.engagement.run).toBe(7);
  });
});
