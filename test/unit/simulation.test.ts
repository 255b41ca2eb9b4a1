import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CustomerLog } from '#shared/app/customers.ts';
import { recordEvents } from '#shared/app/events.ts';
import { KeyedHash } from '#shared/app/keyed-hash.ts';
import type { LogEntry } from '#shared/domain/customer-log.ts';
import { compilePolicy } from '#shared/domain/decision.ts';
import { assumptionsTable } from '../../bench/simulation/assumptions.ts';
import type { SimMessage } from '../../bench/simulation/campaigns.ts';
import { renderChart } from '../../bench/simulation/chart.ts';
import { probabilities } from '../../bench/simulation/engagement.ts';
import { Accumulator, busiestWindow, exceedsInSomeWindow, figures } from '../../bench/simulation/metrics.ts';
import {
  fcfsPolicy,
  GOVERNOR_DIGESTS,
  GOVERNOR_FATIGUE,
  governorPolicy,
  governorWithDigestsPolicy,
  governorWithFatiguePolicy,
} from '../../bench/simulation/policy.ts';
import type { SimCustomer } from '../../bench/simulation/population.ts';
import {
  FIXED_IDS,
  MATCH_TOLERANCE,
  MATCHED_TO,
  STRATEGIES,
  simulate,
  withinMatchTolerance,
} from '../../bench/simulation/simulation.ts';
import {
  boundAt,
  type CustomerRun,
  logEntriesFor,
  relevanceBound,
  runNoGovernor,
  runThroughEngine,
} from '../../bench/simulation/strategies.ts';
import { summarise } from '../../bench/simulation/summary.ts';
import { targets } from '../../bench/simulation/targets.ts';
import { at, DAY, HOUR } from './builders.ts';

const small = { seed: 7, customers: 300, days: 14 };
const report = simulate(small);

/** A customer of the simulation, Paris-based, with no preferences unless given. */
function aCustomer(overrides: Partial<SimCustomer> = {}): SimCustomer {
  return {
    id: 'c000001',
    preferences: { channels: {}, topics: {} },
    timeZone: 'Europe/Paris',
    heavy: false,
    uninterested: false,
    interest: {
      promotions: 0.5,
      'new-arrivals': 0.5,
      newsletter: 0.5,
      loyalty: 0.5,
      events: 0.5,
      partners: 0.5,
    },
    wantedPerWeek: 3,
    statedWish: false,
    smsAudience: true,
    hasApp: true,
    ...overrides,
  };
}

/** Marketing e-mails at the given instants (daytime in Paris), each valid for two days. */
function emails(times: number[], relevance = 0.6): SimMessage[] {
  return times.map((t, i) => ({
    at: t,
    facts: {
      key: `m${i}`,
      channel: 'email',
      kind: 'marketing',
      category: 'promotions',
      campaignId: `e${i}`,
      relevance,
      expiresAt: t + 2 * DAY,
    },
  }));
}

/** Uniforms per message (open, click, unsubscribe, complaint): `1` never reacts, `0` always does. */
function draws(
  count: number,
  react: (i: number) => Partial<Record<'open' | 'click' | 'unsubscribe' | 'complaint', number>>,
) {
  const d = new Float64Array(count * 4).fill(1);
  for (let i = 0; i < count; i++) {
    const r = react(i);
    d[i * 4] = r.open ?? 1;
    d[i * 4 + 1] = r.click ?? 1;
    d[i * 4 + 2] = r.unsubscribe ?? 1;
    d[i * 4 + 3] = r.complaint ?? 1;
  }
  return d;
}

const MONDAY_NOON = at('2026-03-02T11:00:00Z');
const daily = (n: number) => Array.from({ length: n }, (_, i) => MONDAY_NOON + i * DAY);

describe('simulate', () => {
  it('gives the same figures and the same chart for the same seed', () => {
    // Act
    const again = simulate(small);

    // Assess
    expect(again).toEqual(report);
    expect(renderChart(summarise([again]), [again])).toBe(renderChart(summarise([report]), [report]));
  });

  it('gives other figures for another seed', () => {
    const other = simulate({ ...small, seed: 8 });

    expect(other.messages).not.toBe(report.messages);
    expect(other.strategies.governor.clicks).not.toBe(report.strategies.governor.clicks);
  });

  it("matches each fixed threshold to its own governor's volume on each channel within the stated tolerance", () => {
    expect(FIXED_IDS).toEqual(['fixedAtNoPreemption', 'fixedThreshold', 'fixedAtDigests']);
    expect(report.matching).toBe(report.matchings.fixedThreshold);
    for (const id of FIXED_IDS) {
      const matching = report.matchings[id];
      const governor = report.strategies[MATCHED_TO[id]].deliveredByChannel;
      const fixed = report.strategies[id].deliveredByChannel;

      for (const channel of ['email', 'sms', 'push'] as const) {
        expect(matching.target[channel], `${id} ${channel}`).toBe(governor[channel]);
        expect(matching.achieved[channel], `${id} ${channel}`).toBe(fixed[channel]);
        expect(
          withinMatchTolerance(fixed[channel], governor[channel]),
          `${id} ${channel}: ${fixed[channel]} vs ${governor[channel]}`,
        ).toBe(true);
      }
      // A threshold that does not move with pressure, and not the governor's own base thresholds.
      expect(report.policies[id].relevance.pressureSlope, id).toBe(0);
      expect(matching.thresholds.email, id).toBeGreaterThan(governorPolicy().relevance.default);
    }
    expect(MATCH_TOLERANCE.share).toBeLessThanOrEqual(0.02);
  });

  it("runs today's governor without pre-emption, and each fixed threshold as the governor it is matched to", () => {
    const { strategies: s } = report;

    // Pre-emption is the only difference: the same policy, no message preempted without it.
    expect(s.governorNoPreemption.suppressedByReason.preempted).toBeUndefined();
    expect(s.fixedAtNoPreemption.suppressedByReason.preempted).toBeUndefined();
    expect(s.governor.suppressedByReason.preempted ?? 0).toBeGreaterThan(0);
    expect(s.fixedThreshold.suppressedByReason.preempted ?? 0).toBeGreaterThan(0);
    expect(s.governorNoPreemption).not.toEqual(s.governor);
    for (const id of ['governorNoPreemption', 'governor'] as const)
      expect(s[id].relevancePerCustomer, id).toBeCloseTo(s[id].totalRelevanceDelivered / small.customers, 9);
  });

  it('counts the messages dropped for lack of a slot, not those refused for their relevance or consent', () => {
    const { strategies: s } = report;
    const slotReasons = [
      'frequency_cap',
      'min_gap',
      'quiet_hours_expired',
      'expired',
      'fatigue',
      'preempted',
    ];

    for (const id of STRATEGIES) {
      const expected = Object.entries(s[id].suppressedByReason)
        .filter(([reason]) => slotReasons.includes(reason))
        .reduce((a, [, n]) => a + n, 0);
      expect(s[id].droppedForLackOfASlot, id).toBe(expected);
    }
    expect(s.noGovernor.droppedForLackOfASlot).toBe(0);
    expect(s.fcfs.droppedForLackOfASlot).toBeGreaterThan(s.governor.droppedForLackOfASlot);
  });

  it("puts the upper bound at or above every strategy's total relevance at that strategy's volume", () => {
    for (const id of STRATEGIES) {
      const s = report.strategies[id];
      expect(s.totalRelevanceDelivered, id).toBeLessThanOrEqual(s.relevanceBoundAtSameVolume + 1e-9);
      expect(s.shareOfRelevanceBound, id).toBeGreaterThan(0);
    }
    const { upperBound, strategies } = report;
    expect(upperBound.delivered).toBe(strategies.governor.delivered);
    expect(upperBound.totalRelevanceDelivered).toBeCloseTo(strategies.governor.relevanceBoundAtSameVolume, 6);
    expect(upperBound.totalRelevanceDelivered).toBeGreaterThan(strategies.governor.totalRelevanceDelivered);
  });

  it('keeps every engine strategy within the caps, out of quiet hours, and within every stated wish', () => {
    expect(report.strategies.noGovernor.overCapShare).toBeGreaterThan(0.5);
    expect(report.strategies.noGovernor.overWishedShareStated).toBeGreaterThan(0.5);
    for (const id of [
      'fcfs',
      'fixedAtNoPreemption',
      'governorNoPreemption',
      'fixedThreshold',
      'governor',
    ] as const) {
      expect(report.strategies[id].overCapShare, id).toBe(0);
      expect(report.strategies[id].nightShare, id).toBe(0);
      expect(report.strategies[id].overWishedShareStated, id).toBe(0);
    }
  });

  it('prints, for --json, one object keyed by strategy with the documented figures', () => {
    const summary = summarise([report, simulate({ ...small, seed: 8 })]);

    expect(Object.keys(summary)).toEqual([...STRATEGIES, 'upperBound']);
    for (const id of STRATEGIES) {
      for (const key of [
        'overWishedShare',
        'clicks',
        'unsubscribes',
        'delivered',
        'meanRelevanceDelivered',
        'totalRelevanceDelivered',
        'relevancePerCustomer',
        'droppedForLackOfASlot',
      ] as const) {
        expect(typeof summary[id][key], `${id}.${key}`).toBe('number');
        const [lo, hi] = summary[id].range[key];
        expect(lo).toBeLessThanOrEqual(summary[id][key]);
        expect(hi).toBeGreaterThanOrEqual(summary[id][key]);
      }
      expect(Object.keys(summary[id].bySeed)).toEqual(['7', '8']);
    }
    for (const id of FIXED_IDS) expect(summary[id].bySeed['7']?.matching).toEqual(report.matchings[id]);
    expect(summary.upperBound.kind).toBe('bound');
    expect(summary.upperBound.clicks).toBeNull();
  });
});

describe('over their wish, on rolling 7-day windows', () => {
  const WEEK = 7 * DAY;

  it('counts a window (t − 7 days, t]: three messages within 7 days break a wish of two', () => {
    expect(exceedsInSomeWindow([0, 3 * DAY, 7 * DAY - 1], 2, WEEK)).toBe(true);
    expect(busiestWindow([0, 3 * DAY, 7 * DAY - 1], WEEK)).toBe(3);
  });

  it('lets a message exactly 7 days after another start a new window', () => {
    expect(exceedsInSomeWindow([0, 3 * DAY, 7 * DAY], 2, WEEK)).toBe(false);
    expect(busiestWindow([0, 3 * DAY, 7 * DAY, 10 * DAY], WEEK)).toBe(2);
  });

  it('finds a burst that a weekly average hides, and splits customers by whether they stated their wish', () => {
    // Prepare: 4 messages in 3 days, then nothing: 4 over 14 days is 2 a week on average.
    const burst = [0, DAY, 2 * DAY, 3 * DAY].map((d) => MONDAY_NOON + d);
    const run = (times: number[]): CustomerRun => ({
      delivered: times.map((t, index) => ({ index, at: t, channel: 'email', relevance: 0.5 })),
      opens: 0,
      clicks: 0,
      unsubscribes: 0,
      complaints: 0,
      suppressedByReason: {},
      suppressedAtReleaseByReason: {},
      deferred: 0,
      deferredDelivered: 0,
      deferralWaitMs: 0,
      joinedDigests: 0,
    });
    const acc = new Accumulator(14, compilePolicy(fcfsPolicy()));

    // Act
    acc.add(aCustomer({ wantedPerWeek: 2 }), run(burst), 0);
    acc.add(aCustomer({ wantedPerWeek: 2, statedWish: true }), run([MONDAY_NOON, MONDAY_NOON + 7 * DAY]), 0);
    acc.add(aCustomer({ wantedPerWeek: 3, statedWish: true }), run(burst), 0);
    const f = figures(acc, undefined, fcfsPolicy());

    // Assess
    expect(f.overWishedShare).toBeCloseTo(2 / 3);
    expect(f.overWishedShareUnstated).toBe(1);
    expect(f.overWishedShareStated).toBe(0.5);
    expect(f.overWishedUnstatedPart).toBe(0.5);
    expect(f.overWishedShareByAverage).toBe(0);
  });
});

describe('the engagement model', () => {
  it('opens and clicks more as relevance rises, and opens less as pressure passes the wish', () => {
    const low = probabilities('email', 0.2, 1, 3);
    const high = probabilities('email', 0.8, 1, 3);
    const pressed = probabilities('email', 0.8, 6, 3);

    expect(high.open).toBeGreaterThan(low.open);
    expect(high.clickGivenOpen).toBeGreaterThan(low.clickGivenOpen);
    expect(pressed.open).toBeLessThan(high.open);
    expect(probabilities('email', 0.8, 3, 3)).toEqual(high); // at the wish, no over-pressure yet
  });

  it('unsubscribes and complains more as pressure passes the wish', () => {
    const calm = probabilities('sms', 0.5, 2, 2);
    const pressed = probabilities('sms', 0.5, 6, 2);

    expect(pressed.unsubscribe).toBeGreaterThan(calm.unsubscribe);
    expect(pressed.complaint).toBeGreaterThan(calm.complaint);
  });
});

describe('feedback into the engine', () => {
  const policy = compilePolicy(governorPolicy());

  it('sends no more marketing on a channel once the customer unsubscribed from it, through the customer log', () => {
    // Prepare: one e-mail a day for five days; the customer unsubscribes from the first one.
    const messages = emails(daily(5), 0.7);
    const d = draws(messages.length, (i) => (i === 0 ? { unsubscribe: 0 } : {}));

    // Act
    const run = runThroughEngine(aCustomer({ wantedPerWeek: 5 }), messages, policy, d);

    // Assess
    expect(run.unsubscribes).toBe(1);
    expect(run.delivered.map((x) => x.index)).toEqual([0]);
    expect(run.suppressedByReason).toEqual({ opted_out: 4 });
  });

  it('blocks the channel after a complaint, as the engine records it', () => {
    const messages = emails(daily(4), 0.7);
    const d = draws(messages.length, (i) => (i === 1 ? { complaint: 0 } : {}));

    const run = runThroughEngine(aCustomer({ wantedPerWeek: 5 }), messages, policy, d);

    expect(run.complaints).toBe(1);
    expect(run.delivered.map((x) => x.index)).toEqual([0, 1]);
    expect(run.suppressedByReason).toEqual({ complained: 2 });
  });

  it('without a governor, stops a channel from the moment the unsubscribe reaches the platform', () => {
    // Prepare: two e-mails 30 minutes apart (before the unsubscribe arrives), then one a day later.
    const messages = emails([MONDAY_NOON, MONDAY_NOON + HOUR / 2, MONDAY_NOON + DAY], 0.7);
    const d = draws(messages.length, (i) => (i === 0 ? { unsubscribe: 0 } : {}));

    const run = runNoGovernor(aCustomer(), messages, d);

    expect(run.delivered.map((x) => x.index)).toEqual([0, 1]);
  });

  it('counts reported opens and clicks, the same for the same draws under the same pressure', () => {
    const messages = emails(daily(3), 0.7);
    const d = draws(messages.length, () => ({ open: 0, click: 0 }));

    const viaEngine = runThroughEngine(aCustomer({ wantedPerWeek: 5 }), messages, policy, d);
    const without = runNoGovernor(aCustomer({ wantedPerWeek: 5 }), messages, d);

    expect(viaEngine.delivered).toHaveLength(3);
    expect([viaEngine.opens, viaEngine.clicks]).toEqual([3, 3]);
    expect([without.opens, without.clicks]).toEqual([3, 3]);
  });
});

describe('pre-emption in the simulation', () => {
  it('gives a reserved slot to a more relevant e-mail with pre-emption, and leaves it to the first without', () => {
    // Prepare: three e-mails an hour apart on Monday; the first takes the day's one e-mail, the second
    // reserves Tuesday's, the third (far more relevant) arrives after it.
    const messages = [
      ...emails([MONDAY_NOON, MONDAY_NOON + HOUR], 0.6),
      ...emails([MONDAY_NOON + 2 * HOUR], 0.95).map((m) => ({ ...m, facts: { ...m.facts, key: 'm2' } })),
    ];
    const never = draws(messages.length, () => ({}));
    const policy = compilePolicy(governorPolicy());

    // Act
    const on = runThroughEngine(aCustomer(), messages, policy, never);
    const off = runThroughEngine(aCustomer(), messages, policy, never, { preemption: false });

    // Assess: with it the third goes on Tuesday and the second on Wednesday; without, in arrival order.
    const days = (run: CustomerRun) => run.delivered.map((d) => [d.index, (d.at - MONDAY_NOON) / DAY]);
    expect(days(on)).toEqual([
      [0, 0],
      [2, 1],
      [1, 2],
    ]);
    expect(days(off)).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
  });
});

describe('digests in the simulation', () => {
  const withDigests = compilePolicy(governorWithDigestsPolicy());

  it('delivers capped e-mails as one digest: one send, its items each delivered, one contact for the customer', () => {
    // Prepare: four e-mails on Monday within 90 minutes, without an expiry (a capped message is then
    // dropped, not held); the e-mail cap allows one a day.
    const messages = emails(
      [MONDAY_NOON, MONDAY_NOON + HOUR / 2, MONDAY_NOON + HOUR, MONDAY_NOON + 1.5 * HOUR],
      0.6,
    ).map((m, i) => ({
      at: m.at,
      facts: { ...m.facts, expiresAt: undefined, relevance: 0.5 + i / 10 },
    })) as unknown as SimMessage[];
    const always = draws(messages.length, () => ({ open: 0, click: 0 }));

    // Act
    const run = runThroughEngine(aCustomer({ wantedPerWeek: 5 }), messages, withDigests, always);
    const without = runThroughEngine(
      aCustomer({ wantedPerWeek: 5 }),
      messages,
      compilePolicy(governorPolicy()),
      always,
    );

    // Assess: without digests three are dropped by the cap; with them, they go on Tuesday as one send.
    expect(without.delivered).toHaveLength(1);
    expect(without.suppressedByReason).toEqual({ frequency_cap: 3 });
    expect(run.joinedDigests).toBe(3);
    expect(run.delivered).toEqual([
      { index: 0, at: MONDAY_NOON, channel: 'email', relevance: 0.5 },
      {
        index: 1,
        at: MONDAY_NOON + DAY,
        channel: 'email',
        relevance: expect.closeTo(0.6 + 0.7 + 0.8, 9),
        items: 3,
      },
    ]);
    expect(run.suppressedByReason).toEqual({});
    // One contact: one open and one click for the digest, as for any message.
    expect([run.opens, run.clicks]).toEqual([2, 2]);
    const acc = new Accumulator(14, compilePolicy(fcfsPolicy()));
    acc.add(aCustomer(), run, 0);
    const f = figures(acc, undefined, fcfsPolicy());
    expect([f.delivered, f.messagesDelivered, f.digestsDelivered, f.itemsInDigests]).toEqual([2, 4, 1, 3]);
    expect(f.meanRelevanceDelivered).toBeCloseTo((0.5 + 0.6 + 0.7 + 0.8) / 4, 9);
    expect(f.relevanceInDigests).toBeCloseTo(2.1, 9);
  });

  it('carries a capped e-mail with an expiry, which no slot before its expiry would take, in a digest at its deadline', () => {
    // Prepare: four e-mails on Monday, each expiring two days later: the first three fill the week's
    // three e-mails (Monday, Tuesday, Wednesday), the fourth finds no slot before it expires
    const messages = emails([
      MONDAY_NOON,
      MONDAY_NOON + HOUR / 2,
      MONDAY_NOON + HOUR,
      MONDAY_NOON + 1.5 * HOUR,
    ]);
    const always = draws(messages.length, () => ({ open: 0, click: 0 }));

    // Act
    const run = runThroughEngine(aCustomer({ wantedPerWeek: 5 }), messages, withDigests, always);
    const without = runThroughEngine(
      aCustomer({ wantedPerWeek: 5 }),
      messages,
      compilePolicy(governorPolicy()),
      always,
    );

    // Assess: dropped without digests; with them, delivered a day after it came (the rule's maxWait)
    expect(without.suppressedByReason).toEqual({ frequency_cap: 1 });
    expect(run.suppressedByReason).toEqual({});
    expect(run.joinedDigests).toBe(1);
    expect(run.delivered).toHaveLength(4);
    expect(run.delivered.find((d) => d.index === 3)).toMatchObject({
      at: MONDAY_NOON + 1.5 * HOUR + DAY,
      items: 1,
    });
  });

  it('is run beside the governor with its digest rule, each item counted once, against a fixed threshold at its volume', () => {
    const s = report.strategies.governorWithDigests;

    expect(report.policies.governorWithDigests.digests).toEqual([
      { id: 'email.digest', match: { channel: 'email' }, ...GOVERNOR_DIGESTS },
    ]);
    expect(report.policies.governorWithDigests.caps).toEqual(report.policies.governor.caps);
    expect(MATCHED_TO.fixedAtDigests).toBe('governorWithDigests');
    expect(s.messagesDelivered).toBe(s.delivered - s.digestsDelivered + s.itemsInDigests);
    expect(s.relevanceInDigests).toBeLessThanOrEqual(s.totalRelevanceDelivered);
  });
});

describe('the governor with fatigue', () => {
  const governor = compilePolicy(governorPolicy());
  const withFatigue = compilePolicy(governorWithFatiguePolicy());
  // Two e-mails a day, 10:00 and 16:00 Paris time, for four weeks, all relevant: the governor's caps
  // (e-mail 3 a week, 1 a day) are what limits them.
  const twiceDaily = emails(
    daily(28).flatMap((t) => [t - 2 * HOUR, t + 4 * HOUR]),
    0.7,
  );

  it('delivers fewer messages than the governor to a customer who never opens nor clicks, saying fatigue', () => {
    // Prepare: draws that never react
    const never = draws(twiceDaily.length, () => ({}));

    // Act
    const plain = runThroughEngine(aCustomer({ wantedPerWeek: 5 }), twiceDaily, governor, never);
    const fatigued = runThroughEngine(aCustomer({ wantedPerWeek: 5 }), twiceDaily, withFatigue, never);

    // Assess: the same first N deliveries, then fewer, suppressed or deferred for fatigue
    const n = GOVERNOR_FATIGUE.unengagedRun;
    expect(fatigued.delivered.slice(0, n)).toEqual(plain.delivered.slice(0, n));
    expect(fatigued.delivered.length).toBeLessThan(plain.delivered.length);
    expect(fatigued.suppressedByReason.fatigue ?? 0).toBeGreaterThan(0);
  });

  it('delivers what the governor delivers to a customer who opens and clicks everything', () => {
    const always = draws(twiceDaily.length, () => ({ open: 0, click: 0 }));

    const plain = runThroughEngine(aCustomer({ wantedPerWeek: 5 }), twiceDaily, governor, always);
    const engaged = runThroughEngine(aCustomer({ wantedPerWeek: 5 }), twiceDaily, withFatigue, always);

    expect(engaged.delivered).toEqual(plain.delivered);
    expect(engaged.suppressedByReason.fatigue).toBeUndefined();
  });

  it('feeds the log the entries POST /v1/events appends for the same events (ids aside)', async () => {
    // Prepare: one request's events about one customer, as the simulation sends them for a delivery
    const at = MONDAY_NOON + HOUR;
    const events = (['delivered', 'opened', 'clicked', 'unsubscribed'] as const).map((type) => ({
      type,
      channel: 'email' as const,
      at,
      messageKey: 'm1',
    }));
    const appended: LogEntry[][] = [];
    const customers = {
      append: async (_: string, entries: LogEntry[]) => {
        appended.push(entries);
        return undefined;
      },
    } as unknown as CustomerLog;

    // Act
    await recordEvents(
      { customers, clock: { now: () => at }, hashes: new KeyedHash('s'.repeat(32)) },
      events.map((e) => ({
        customerId: 'c1',
        messageId: e.messageKey,
        channel: e.channel,
        type: e.type,
        at: new Date(e.at).toISOString(),
      })),
    );
    const sim = logEntriesFor(events, at);

    // Assess
    const withoutIds = (entries: LogEntry[]) =>
      entries.map((e) => (e.type === 'engagement' ? { ...e, events: e.events.map((x) => x.type) } : e));
    expect(appended).toHaveLength(1);
    expect(withoutIds(sim)).toEqual(withoutIds(appended[0] ?? []));
    expect(sim.map((e) => e.type)).toEqual(['feedback', 'engagement']);
  });

  it('is run and reported beside the other strategies, and judged against its targets', () => {
    const f = report.strategies.governorWithFatigue;

    expect(STRATEGIES).toContain('governorWithFatigue');
    expect(report.policies.governorWithFatigue.fatigue).toEqual(GOVERNOR_FATIGUE);
    expect(report.policies.governorWithFatigue.caps).toEqual(report.policies.governor.caps);
    expect(f.suppressedByReason.fatigue ?? 0).toBeGreaterThan(0);
    expect(f.delivered).toBeLessThan(report.strategies.governor.delivered);
    const ts = targets({ ...report.strategies, candidate: f });
    expect(ts.map((t) => t.id)).toEqual([
      'overWish',
      'overWishStated',
      'overWishUnstated',
      'clicks',
      'unsubscribes',
      'clicksVsFixed',
      'unsubscribesVsFixed',
    ]);
    expect(ts.find((t) => t.id === 'clicks')?.value).toBeCloseTo(
      f.clicks / report.strategies.noGovernor.clicks,
    );
  });
});

describe('the targets', () => {
  const figuresOf = (over: number, clicks: number, unsubscribes: number) => ({
    overWishedShare: over,
    overWishedShareStated: 0,
    overWishedShareUnstated: over,
    clicks,
    unsubscribes,
  });

  it('meets each target on its side of the goal, and misses it on the other', () => {
    const noGovernor = figuresOf(0.8, 1000, 100);
    const fixedThreshold = figuresOf(0.2, 900, 20);

    const met = targets({ noGovernor, fixedThreshold, candidate: figuresOf(0.049, 950, 19) });
    const missed = targets({ noGovernor, fixedThreshold, candidate: figuresOf(0.05, 900, 51) });

    expect(met.every((t) => t.met)).toBe(true);
    expect(missed.filter((t) => !t.met).map((t) => t.id)).toEqual([
      'overWish',
      'overWishUnstated',
      'clicks',
      'unsubscribes',
      'clicksVsFixed',
      'unsubscribesVsFixed',
    ]);
  });
});

describe('the upper bound', () => {
  it('is the sum of the k most relevant messages, and the whole pool beyond its size', () => {
    const bound = relevanceBound([0.2, 0.9, 0.5, 0.1]);

    expect(boundAt(bound, 0)).toBe(0);
    expect(boundAt(bound, 2)).toBeCloseTo(1.4);
    expect(boundAt(bound, 10)).toBeCloseTo(1.7);
  });
});

describe('the README', () => {
  it("shows the simulation's assumptions table as the code defines it", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = '<!-- simulation assumptions: npm run simulate -- --assumptions -->';
    const from = readme.indexOf(start);

    expect(from).toBeGreaterThan(-1);
    const table = readme
      .slice(from + start.length)
      .trimStart()
      .split('\n\n')[0];
    expect(table).toBe(assumptionsTable());
  });
});
