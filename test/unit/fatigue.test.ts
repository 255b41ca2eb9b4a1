import { describe, expect, it } from 'vitest';
import { decodeBase, decodeEntry, encodeBase, encodeEntry } from '#shared/adapters/dynamodb/entry-codec.ts';
import { compact, emptyBase, type LogEntry, replay } from '#shared/domain/customer-log.ts';
import { decide } from '#shared/domain/decision.ts';
import { explain } from '#shared/domain/explain.ts';
import {
  applyEngagement,
  compactEngagement,
  ENGAGEMENT_HALF_LIFE_MS,
  type EngagementEvent,
  type EngagementType,
  EVENT_ID_MEMORY_MS,
  fatigueAt,
  fatiguedLimit,
  isNeutral,
  MAX_SEEN_EVENT_IDS,
  neutralEngagement,
  restoredEngagement,
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

describe('the arithmetic of fatigue', () => {
  it("scales a cap's limit down, rounding down, but leaves at least one, and leaves it whole at a scale of 1 or more", () => {
    expect([
      fatiguedLimit(4, 0.5),
      fatiguedLimit(5, 0.5),
      fatiguedLimit(3, 0.25),
      fatiguedLimit(1, 0.1),
    ]).toEqual([2, 2, 1, 1]);
    expect([fatiguedLimit(4, 1), fatiguedLimit(4, 1.5), fatiguedLimit(0, 0.5), fatiguedLimit(0, 1)]).toEqual([
      4, 4, 0, 0,
    ]);
  });

  it('is no fatigue at all without a policy section, however unengaged the customer', () => {
    const { engagement } = applyEngagement(neutralEngagement(), delivered(12), T0);

    expect(fatigueAt(engagement, undefined, T0)).toEqual({
      score: undefined,
      delivered: 12,
      run: 12,
      rule: undefined,
      capScale: 1,
      relevanceBoost: 0,
    });
  });

  it('decays the engaged count with the delivered one: the score stays what it was', () => {
    const list = [...delivered(8), ...events('opened', 'opened')];
    const { engagement } = applyEngagement(neutralEngagement(), list, T0);

    const later = fatigueAt(engagement, fatigue, T0 + ENGAGEMENT_HALF_LIFE_MS / 4);

    expect(later.score).toBeCloseTo(0.25, 10);
  });

  it('is fatigued by the threshold only below it, not at it', () => {
    const at = (opens: number, deliveries: number) => {
      const list = events(
        ...Array.from({ length: deliveries }, () => 'delivered' as const),
        ...Array.from({ length: opens }, () => 'opened' as const),
      );
      return fatigueAt(applyEngagement(neutralEngagement(), list, T0).engagement, fatigue, T0).rule;
    };

    expect(at(1, 5)).toBeUndefined(); // 0.2: at the threshold
    expect(at(1, 6)).toBe('fatigue.threshold'); // below it
  });

  it('never decays backwards: an entry older than the state counts at its own weight', () => {
    const { engagement } = applyEngagement(neutralEngagement(), delivered(4), T0);

    const earlier = applyEngagement(engagement, delivered(1), T0 - HOUR).engagement;

    expect(earlier.delivered).toBe(5);
    expect(earlier.at).toBe(T0);
  });

  it('restores a customer to neutral but keeps the event ids it saw', () => {
    const { engagement } = applyEngagement(neutralEngagement(), delivered(6), T0);

    const restored = restoredEngagement(engagement);

    expect(restored).toEqual({ ...neutralEngagement(), seen: engagement.seen });
    expect(restored.seen).toHaveLength(6);
  });

  it('compacts to counts rounded to 4 decimals and the ids seen inside the memory, the most recent', () => {
    const state = {
      delivered: 2.123456,
      engaged: 0.987654,
      run: 3,
      at: T0,
      seen: [
        { id: 'old', at: T0 - EVENT_ID_MEMORY_MS },
        ...Array.from({ length: MAX_SEEN_EVENT_IDS + 2 }, (_, i) => ({ id: `e${i}`, at: T0 - HOUR + i })),
      ],
    };

    const compacted = compactEngagement(state, T0);

    expect(compacted).toMatchObject({ delivered: 2.1235, engaged: 0.9877, run: 3, at: T0 });
    expect(compacted.seen).toHaveLength(MAX_SEEN_EVENT_IDS);
    expect(compacted.seen[0]?.id).toBe('e2');
    expect(compacted.seen.at(-1)?.id).toBe(`e${MAX_SEEN_EVENT_IDS + 1}`);
  });

  it('forgets an event id once it is as old as the memory', () => {
    const state = {
      ...neutralEngagement(),
      seen: [
        { id: 'as-old-as-the-memory', at: T0 - EVENT_ID_MEMORY_MS },
        { id: 'recent', at: T0 - HOUR },
      ],
    };

    expect(compactEngagement(state, T0).seen.map((s) => s.id)).toEqual(['recent']);
  });

  it('calls neutral only a customer with nothing at all: no deliveries, engagement, run or ids', () => {
    const neutral = neutralEngagement();

    expect(isNeutral(neutral)).toBe(true);
    expect(neutral.seen).toEqual([]);
    for (const change of [{ delivered: 1 }, { engaged: 1 }, { run: 1 }, { seen: [{ id: 'x', at: T0 }] }])
      expect(isNeutral({ ...neutral, ...change }), JSON.stringify(change)).toBe(false);
  });
});
