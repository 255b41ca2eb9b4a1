import { describe, expect, it } from 'vitest';
import { decodeBase, encodeBase } from '#shared/adapters/dynamodb/entry-codec.ts';
import { KeyedHash } from '#shared/app/keyed-hash.ts';
import { compact, emptyBase, replay } from '#shared/domain/customer-log.ts';
import { decide } from '#shared/domain/decision.ts';
import {
  type Assignment,
  armFor,
  armOf,
  armPolicy,
  armVariants,
  assignmentNumber,
  forCustomer,
} from '#shared/domain/experiments.ts';
import { experimentSchema, policyDocumentSchema } from '#shared/domain/schemas.ts';
import { countedOf, groupKey, parseGroupKey, tally } from '#shared/domain/tally.ts';
import { aPolicy, aSend, aView, compiled, DAY, facts, HOUR, messageEntry, policies, T0 } from './builders.ts';

const weekly = { id: 'weekly', limit: 2, window: 'P7D' };
const strict = { id: 'strict', limit: 1, window: 'P7D' };
const holdout = (extra: { from?: string; to?: string } = {}) => ({
  id: 'lift',
  salt: 's1',
  arms: [
    { id: 'holdout', share: 0.1, policy: 'control' as const },
    { id: 'governed', share: 0.6, policy: 'current' as const },
    { id: 'strict', share: 0.3, policy: { caps: [strict] } },
  ],
  ...extra,
});
const withHoldout = (extra: { from?: string; to?: string } = {}) =>
  compiled({ caps: [weekly], experiments: [holdout(extra)] });

/** An assignment that puts the customer at `u` in every experiment. */
const at =
  (u: number): Assignment =>
  () =>
    u;
const threeSends = aView({ sends: [aSend(T0 - 2 * DAY), aSend(T0 - DAY)] });

describe('armFor', () => {
  it('gives each arm the slice of [0, 1) its share covers, in the order of the arms', () => {
    // Prepare
    const experiment = experimentSchema.parse(holdout());

    // Act
    const arms = [0, 0.0999, 0.1, 0.6999, 0.7, 0.9999].map((u) => armFor(experiment, u).id);

    // Assess
    expect(arms).toEqual(['holdout', 'holdout', 'governed', 'governed', 'strict', 'strict']);
  });
});

describe('assignmentNumber', () => {
  it('spreads keyed hashes of customer ids evenly: the shares hold within 2% over 10,000 customers', () => {
    // Prepare
    const hashes = new KeyedHash('a-test-secret-of-at-least-32-characters!!');
    const experiment = experimentSchema.parse(holdout());

    // Act
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const u = assignmentNumber(hashes.of('experiment', `${experiment.salt}\0customer-${i}`, 8));
      const arm = armFor(experiment, u).id;
      counts.set(arm, (counts.get(arm) ?? 0) + 1);
    }

    // Assess
    for (const arm of experiment.arms)
      expect(Math.abs((counts.get(arm.id) ?? 0) / 10_000 - arm.share)).toBeLessThan(0.02);
  });

  it('is a number in [0, 1) read from the hash', () => {
    expect(assignmentNumber('AAAAAAAA')).toBe(0);
    expect(assignmentNumber('gAAAAAAA')).toBe(0.5);
    expect(assignmentNumber('________')).toBeLessThan(1);
  });
});

describe('decide in an experiment', () => {
  it('holds a customer of the current arm to the policy’s caps', () => {
    const verdict = decide(threeSends, facts(), forCustomer(withHoldout(), at(0.5)), T0);
    expect(verdict).toMatchObject({ outcome: 'suppressed', reason: 'frequency_cap', rule: 'weekly' });
  });

  it('lets a customer of the control arm through a full cap and a relevance threshold', () => {
    // Prepare
    const policy = compiled({
      caps: [weekly],
      relevance: { default: 0.9, pressureSlope: 0 },
      experiments: [holdout()],
    });

    // Act
    const verdict = decide(threeSends, facts({ relevance: 0.2 }), forCustomer(policy, at(0.05)), T0);

    // Assess
    expect(verdict.outcome).toBe('accepted');
  });

  it('keeps quiet hours and opt-outs for the control arm', () => {
    const policy = compiled({
      caps: [weekly],
      quietHours: { start: '09:00', end: '12:00', defaultTimezone: 'UTC' },
      experiments: [holdout()],
    });
    const control = forCustomer(policy, at(0.05));
    expect(decide(aView(), facts(), control, T0)).toMatchObject({ reason: 'quiet_hours_expired' });
    const optedOut = aView({ preferences: { channels: { email: { optIn: false } } } });
    expect(decide(optedOut, facts(), control, T0 - 2 * HOUR)).toMatchObject({ reason: 'opted_out' });
  });

  it('holds a customer of an alternative arm to the arm’s caps instead', () => {
    const oneSend = aView({ sends: [aSend(T0 - DAY)] });
    expect(decide(oneSend, facts(), forCustomer(withHoldout(), at(0.8)), T0)).toMatchObject({
      outcome: 'suppressed',
      rule: 'strict',
    });
    expect(decide(oneSend, facts(), forCustomer(withHoldout(), at(0.5)), T0).outcome).toBe('accepted');
  });

  it('decides under the policy itself before the experiment starts and once it ended', () => {
    // Prepare
    const window = { from: new Date(T0).toISOString(), to: new Date(T0 + DAY).toISOString() };
    const control = forCustomer(withHoldout(window), at(0.05));

    // Act
    const before = decide(threeSends, facts(), control, T0 - 1);
    const during = decide(threeSends, facts(), control, T0);
    const after = decide(threeSends, facts(), control, T0 + DAY);

    // Assess
    expect([before.outcome, during.outcome, after.outcome]).toEqual(['suppressed', 'accepted', 'suppressed']);
    expect([armOf(control, T0 - 1), armOf(control, T0), armOf(control, T0 + DAY)]).toEqual([
      undefined,
      { id: 'lift', arm: 'holdout' },
      undefined,
    ]);
  });
});

describe('replay in an experiment', () => {
  const lookupAt = (u: number) => {
    const lookup = policies(aPolicy({ caps: [weekly], experiments: [holdout()] }));
    return (version: number) => forCustomer(lookup(version), at(u));
  };

  it('records the arm on every decision and enrols the customer with its first one only', () => {
    // Prepare
    const log = [
      messageEntry(T0, { key: 'a' }),
      messageEntry(T0, { key: 'b' }),
      messageEntry(T0, { key: 'a' }),
    ];

    // Act
    const { state, results } = replay(emptyBase(), log, lookupAt(0.05));

    // Assess
    expect(results.map((r) => (r.type === 'message' ? r.decided.experiment : undefined))).toEqual([
      { id: 'lift', arm: 'holdout' },
      { id: 'lift', arm: 'holdout' },
      { id: 'lift', arm: 'holdout' },
    ]);
    expect(results.map((r) => r.type === 'message' && !r.duplicate && r.enrolled === true)).toEqual([
      true,
      false,
      false,
    ]);
    expect(state.enrolled).toEqual(['lift']);
  });

  it('does not enrol again a customer whose base says it joined', () => {
    const base = { ...emptyBase(), enrolled: ['lift'] };
    const { results } = replay(base, [messageEntry(T0, { key: 'c' })], lookupAt(0.05));
    expect(results[0]).toMatchObject({ type: 'message', duplicate: false });
    expect(results[0]).not.toHaveProperty('enrolled');
  });

  it('counts the arm in the finance group of each decision', () => {
    // Prepare
    const { results } = replay(emptyBase(), [messageEntry(T0, { key: 'a' })], lookupAt(0.8));
    const decided = results[0]?.type === 'message' ? results[0].decided : undefined;
    if (!decided) throw new Error('no decision');

    // Act
    const counts = tally([countedOf(decided, 'decision'), countedOf(decided, 'enrolment')]);

    // Assess
    const groups = [...(counts.get('2026-03-02')?.keys() ?? [])].map((k) => parseGroupKey('2026-03-02', k));
    expect(groups.map((g) => [g.stage, g.experiment, g.arm])).toEqual([
      ['decision', 'lift', 'strict'],
      ['enrolment', 'lift', 'strict'],
    ]);
  });
});

describe('groupKey', () => {
  it('keeps the key of a group outside any experiment as it was', () => {
    const group = {
      stage: 'decision' as const,
      outcome: 'accepted' as const,
      reason: '',
      channel: 'email' as const,
      campaignId: '',
      category: '',
      policyVersion: 3,
      experiment: '',
      arm: '',
    };
    expect(groupKey(group)).toBe('["decision","accepted","","email","","",3]');
    expect(parseGroupKey('2026-03-02', groupKey(group))).toEqual({ day: '2026-03-02', ...group });
  });
});

describe('armVariants', () => {
  it('lists every arm’s policy, so that compaction keeps the sends an arm’s caps count', () => {
    const variants = armVariants(withHoldout());
    expect(variants.map((v) => v.counts.map((r) => r.id))).toEqual([[], ['weekly'], ['strict']]);
  });
});

describe('the experiments section', () => {
  const costs = { email: 0.001, sms: 0.05, push: 0.0001, whatsapp: 0.03, currency: 'EUR' };
  const parse = (experiments: unknown) =>
    policyDocumentSchema.safeParse({ channelCosts: costs, experiments });

  it('accepts arms whose shares sum to 1', () => {
    expect(parse([holdout()]).success).toBe(true);
  });

  it('refuses shares that do not sum to 1, twice the same arm, and two experiments at once', () => {
    const half = { id: 'a', share: 0.5 };
    expect(parse([{ id: 'x', salt: 's', arms: [half, { id: 'b', share: 0.4 }] }]).success).toBe(false);
    expect(parse([{ id: 'x', salt: 's', arms: [half, half] }]).success).toBe(false);
    const twice = [holdout(), { ...holdout(), id: 'other', from: new Date(T0).toISOString() }];
    expect(parse(twice).success).toBe(false);
    const apart = [
      { ...holdout(), to: new Date(T0).toISOString() },
      { ...holdout(), id: 'other', from: new Date(T0).toISOString() },
    ];
    expect(parse(apart).success).toBe(true);
  });
});

describe('the customer item', () => {
  it('keeps the experiments a customer joined through compaction and the codec', () => {
    // Prepare
    const lookup = policies(aPolicy({ caps: [weekly], experiments: [holdout()] }));
    const { state } = replay(emptyBase(), [messageEntry(T0, { key: 'a' })], (v) =>
      forCustomer(lookup(v), at(0.5)),
    );

    // Act
    const { base } = compact(state, T0 + HOUR, { horizonMs: 7 * DAY, idempotencyMs: DAY });

    // Assess
    expect(base.enrolled).toEqual(['lift']);
    expect(decodeBase(encodeBase(base)).enrolled).toEqual(['lift']);
  });
});

describe('armPolicy', () => {
  const policy = aPolicy({
    caps: [weekly],
    relevance: { default: 0.4, pressureSlope: 0.3 },
    experiments: [holdout()],
  });

  it('is the policy itself for the current arm', () => {
    expect(armPolicy(policy, { id: 'governed', share: 1, policy: 'current' })).toBe(policy);
  });

  it('has no caps and no relevance threshold for the control arm, and no experiments', () => {
    const control = armPolicy(policy, { id: 'holdout', share: 1, policy: 'control' });

    expect(control.caps).toEqual([]);
    expect(control.relevance).toEqual({ default: 0, pressureSlope: 0 });
    expect(control).not.toHaveProperty('experiments');
  });
});

describe('forCustomer', () => {
  it('is the compiled policy itself when the policy runs no experiment', () => {
    const none = compiled({ caps: [weekly] });
    const empty = compiled({ caps: [weekly], experiments: [] });

    expect(forCustomer(none, at(0.5))).toBe(none);
    expect(forCustomer(empty, at(0.5))).toBe(empty);
  });

  it('decides the current arm under the compiled policy itself, and compiles every other arm once', () => {
    const c = withHoldout();

    const governed = forCustomer(c, at(0.5)).arms?.[0];
    const strictOnce = forCustomer(c, at(0.9)).arms?.[0]?.compiled;
    const strictAgain = forCustomer(c, at(0.95)).arms?.[0]?.compiled;

    expect(governed).toMatchObject({ id: 'lift', arm: 'governed' });
    expect(governed?.compiled).toBe(c);
    expect(strictOnce?.counts.map((r) => r.id)).toEqual(['strict']);
    expect(strictAgain).toBe(strictOnce);
  });
});
