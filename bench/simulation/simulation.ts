/**
 * The simulation of one seed: a population, a month of campaigns, what customers do with what they get,
 * and every strategy run over each customer with the clock the messages carry (nothing reads the wall
 * clock). Deterministic per seed.
 */
import { compilePolicy } from '#shared/domain/decision.ts';
import { CHANNELS, type Channel, type Policy } from '#shared/domain/schemas.ts';
import { instantOfLocal } from '#shared/domain/time-zone.ts';
import { createCampaigns, messagesFor, type SimMessage } from './campaigns.ts';
import { drawsFor } from './engagement.ts';
import { Accumulator, figures, type StrategyFigures } from './metrics.ts';
import {
  type DigestSettings,
  type FatigueSettings,
  type FixedThresholds,
  fcfsPolicy,
  fixedThresholdPolicy,
  GOVERNOR_DIGESTS,
  GOVERNOR_FATIGUE,
  GOVERNOR_RELEVANCE,
  governorPolicy,
  governorWithDigestsPolicy,
  governorWithFatiguePolicy,
  type RelevanceSettings,
  TUNING_SEEDS,
} from './policy.ts';
import { allowedByPreferences, createCustomer, HOME_TIME_ZONE, type SimCustomer } from './population.ts';
import {
  boundAt,
  type CustomerRun,
  type EngineOptions,
  relevanceBound,
  runNoGovernor,
  runThroughEngine,
} from './strategies.ts';

export interface SimulationOptions {
  seed: number;
  customers: number;
  days: number;
  relevance?: RelevanceSettings;
  /** The governor with fatigue's `fatigue` section (default: GOVERNOR_FATIGUE). */
  fatigue?: FatigueSettings;
  /** The digest rule of the governor + pre-emption + digests (default: GOVERNOR_DIGESTS). */
  digests?: DigestSettings;
}

/**
 * The strategies run, in the order they are reported: each fixed threshold just before the strategy
 * whose volume it is matched to (MATCHED_TO).
 */
export const STRATEGIES = [
  'noGovernor',
  'fcfs',
  'fixedAtNoPreemption',
  'governorNoPreemption',
  'fixedThreshold',
  'governor',
  'governorWithFatigue',
  'fixedAtDigests',
  'governorWithDigests',
] as const;
export type StrategyId = (typeof STRATEGIES)[number];
export const STRATEGY_LABELS: Record<StrategyId | 'upperBound', string> = {
  noGovernor: 'no governor',
  fcfs: 'FCFS caps',
  fixedAtNoPreemption: 'fixed (no pre-emption) @ vol.',
  governorNoPreemption: 'governor (no pre-emption)',
  fixedThreshold: 'fixed + pre-emption @ volume',
  governor: 'governor + pre-emption',
  governorWithFatigue: 'governor + fatigue',
  fixedAtDigests: 'fixed + pre-emption @ dig. vol.',
  governorWithDigests: 'gov. + pre-emption + digests',
  upperBound: 'upper bound @ gov. volume',
};

/**
 * The fixed thresholds (one per channel, no pressure slope), each matched channel by channel to the
 * volume of one strategy and running the engine as that strategy does (pre-emption on or off), so that
 * each pair differs by the governor's pressure slope only. `fixedThreshold` is the governor's.
 */
export const MATCHED_TO = {
  fixedAtNoPreemption: 'governorNoPreemption',
  fixedThreshold: 'governor',
  fixedAtDigests: 'governorWithDigests',
} as const satisfies Partial<Record<StrategyId, StrategyId>>;
const FIXED_ENGINE: Record<FixedId, EngineOptions> = {
  fixedAtNoPreemption: { preemption: false },
  fixedThreshold: { preemption: true },
  fixedAtDigests: { preemption: true },
};
export type FixedId = keyof typeof MATCHED_TO;
export const FIXED_IDS = Object.keys(MATCHED_TO) as FixedId[];

/** A message "interests" the customer from this relevance on; below `UNINTERESTING` it does not. */
export const UNINTERESTING = 0.4;

/** The upper bound is a bound on relevance, not a strategy: only these figures exist for it. */
export interface BoundFigures {
  delivered: number;
  meanRelevanceDelivered: number;
  totalRelevanceDelivered: number;
}

/** How the fixed threshold was matched to the governor's volume, channel by channel. */
export interface Matching {
  thresholds: FixedThresholds;
  /** The governor's delivered messages per channel (the target), and what the thresholds delivered. */
  target: Record<MatchedChannel, number>;
  achieved: Record<MatchedChannel, number>;
  /** The largest relative gap between achieved and target over the channels. */
  worstGap: number;
  /** Bisection steps (each a run of the whole population, reusing customers whose passing set is unchanged). */
  steps: number;
  /** What the steps cost: customers run through the engine, in whole populations. */
  populationRuns: number;
}
/**
 * How close the fixed threshold's volume must come to the governor's on each channel: 2%, or 3
 * messages where 2% is fewer (on small populations one thousandth of threshold can move a few).
 */
export const MATCH_TOLERANCE = { share: 0.02, messages: 3 } as const;
export function withinMatchTolerance(achieved: number, target: number): boolean {
  return Math.abs(achieved - target) <= Math.max(MATCH_TOLERANCE.share * target, MATCH_TOLERANCE.messages);
}

const MATCHED = ['email', 'sms', 'push'] as const satisfies readonly Channel[];
type MatchedChannel = (typeof MATCHED)[number];

export interface SimulationReport {
  options: Required<SimulationOptions>;
  start: number;
  campaigns: number;
  messages: number;
  population: {
    /** Customers for whom most messages sent have relevance below UNINTERESTING (survey: 86%). */
    mostlyUninterestingShare: number;
    /** Customers who state their wish in the preference centre. */
    statedWishShare: number;
    otherTimeZoneShare: number;
    optedOutShare: number;
    meanRelevanceSent: number;
  };
  /** The policies run (today's governor runs the governor's policy, without pre-emption). */
  policies: {
    governor: Policy;
    fcfs: Policy;
    fixedThreshold: Policy;
    fixedAtNoPreemption: Policy;
    governorWithFatigue: Policy;
    governorWithDigests: Policy;
    fixedAtDigests: Policy;
  };
  /** How each fixed threshold was matched to its strategy's volume; `matching` is the governor's. */
  matchings: Record<FixedId, Matching>;
  matching: Matching;
  strategies: Record<StrategyId, StrategyFigures>;
  upperBound: BoundFigures;
}

/** Monday 2 March 2026, 00:00 in Paris: a month that crosses the European and American DST changes. */
export const SIMULATION_START = instantOfLocal(2026, 3, 2, 0, HOME_TIME_ZONE);

interface World {
  customers: SimCustomer[];
  /**
   * Per customer, the volumes per channel the fixed threshold delivered for a set of passing messages
   * and a way of running the engine (see `matchFixedThreshold`), kept over every matching of the seed.
   */
  fixedVolumes: Map<string, Record<MatchedChannel, number>>[];
  messages: SimMessage[][];
  draws: Float64Array[];
  /** Per customer, the relevance bound over all their messages, and over those their preferences allow. */
  boundAll: Float64Array[];
  boundAllowed: Float64Array[];
}

function world(seed: number, count: number, campaigns: ReturnType<typeof createCampaigns>): World {
  const w: World = {
    customers: [],
    fixedVolumes: [],
    messages: [],
    draws: [],
    boundAll: [],
    boundAllowed: [],
  };
  for (let i = 0; i < count; i++) {
    const customer = createCustomer(seed, i);
    const mine = messagesFor(seed, i, customer, campaigns);
    w.customers.push(customer);
    w.fixedVolumes.push(new Map());
    w.messages.push(mine);
    w.draws.push(drawsFor(seed, i, mine));
    w.boundAll.push(relevanceBound(mine.map((m) => m.facts.relevance)));
    w.boundAllowed.push(
      relevanceBound(
        mine
          .filter((m) => allowedByPreferences(customer, m.facts.channel, m.facts.category))
          .map((m) => m.facts.relevance),
      ),
    );
  }
  return w;
}

interface StrategyResult {
  acc: Accumulator;
  /** Messages delivered to each customer. */
  volumes: Int32Array;
}

/**
 * Runs a strategy over every customer. `respectsPreferences`: the strategy delivers only what the
 * customer's stated preferences allow, so its bound is over those messages; otherwise over all of them.
 */
function run(
  w: World,
  acc: Accumulator,
  respectsPreferences: boolean,
  runCustomer: (i: number) => CustomerRun,
): StrategyResult {
  const volumes = new Int32Array(w.customers.length);
  w.customers.forEach((customer, i) => {
    const result = runCustomer(i);
    // Messages, not sends: a digest's items each reach the customer.
    volumes[i] = result.delivered.reduce((n, d) => n + (d.items ?? 1), 0);
    const bound = (respectsPreferences ? w.boundAllowed : w.boundAll)[i] ?? new Float64Array(1);
    acc.add(customer, result, boundAt(bound, volumes[i] ?? 0));
  });
  return { acc, volumes };
}

const THRESHOLD_STEPS = 1000; // relevances are given to the thousandth: no finer threshold differs

/**
 * The fixed thresholds (one per channel, no pressure slope) that deliver what the governor delivered on
 * each channel: a bisection on each channel's threshold over thousandths, the three channels stepped
 * together (they interact only through the minimum gap and the customers' reactions), 10 steps. Each
 * step runs the whole population through the engine; a customer whose set of messages above the
 * thresholds did not change since an earlier step (or an earlier matching of the seed running the
 * engine the same way) is not run again (the engine's decisions depend on which messages pass, not on
 * the threshold itself; the final run checks it). Then the closer end of each channel's last interval.
 */
function matchFixedThreshold(
  w: World,
  target: Record<MatchedChannel, number>,
  engine: EngineOptions,
): Matching {
  const sortedByChannel = w.messages.map((mine) =>
    MATCHED.map((channel) =>
      mine
        .filter((m) => m.facts.channel === channel)
        .map((m) => m.facts.relevance)
        .sort((a, b) => b - a),
    ),
  );
  const memo = w.fixedVolumes;
  let customerRuns = 0;
  const evaluate = (steps: Record<MatchedChannel, number>): Record<MatchedChannel, number> => {
    const thresholds = toThresholds(steps);
    const compiled = compilePolicy(fixedThresholdPolicy(thresholds));
    const total: Record<MatchedChannel, number> = { email: 0, sms: 0, push: 0 };
    w.customers.forEach((customer, i) => {
      const key = `${engine.preemption === false ? 'plain' : 'preempting'}:${MATCHED.map((c, ci) => passing(sortedByChannel[i]?.[ci] ?? [], thresholds[c])).join('.')}`;
      const cache = memo[i];
      let volume = cache?.get(key);
      if (!volume) {
        customerRuns++;
        const delivered = runThroughEngine(
          customer,
          w.messages[i] ?? [],
          compiled,
          w.draws[i] ?? new Float64Array(),
          engine,
        ).delivered;
        volume = { email: 0, sms: 0, push: 0 };
        for (const d of delivered) if (d.channel in volume) volume[d.channel as MatchedChannel]++;
        cache?.set(key, volume);
      }
      for (const c of MATCHED) total[c] += volume[c];
    });
    return total;
  };

  const lo: Record<MatchedChannel, number> = { email: 0, sms: 0, push: 0 };
  const hi: Record<MatchedChannel, number> = {
    email: THRESHOLD_STEPS,
    sms: THRESHOLD_STEPS,
    push: THRESHOLD_STEPS,
  };
  const seen: Record<MatchedChannel, Map<number, number>> = {
    email: new Map(),
    sms: new Map(),
    push: new Map(),
  };
  let steps = 0;
  while (MATCHED.some((c) => hi[c] - lo[c] > 1)) {
    const mid = { email: 0, sms: 0, push: 0 };
    for (const c of MATCHED) mid[c] = Math.floor((lo[c] + hi[c]) / 2);
    const volume = evaluate(mid);
    steps++;
    for (const c of MATCHED) {
      if (hi[c] - lo[c] <= 1) continue;
      seen[c].set(mid[c], volume[c]);
      if (volume[c] > target[c]) lo[c] = mid[c];
      else hi[c] = mid[c];
    }
  }
  const chosen = { email: 0, sms: 0, push: 0 };
  for (const c of MATCHED) {
    const atLo = seen[c].get(lo[c]);
    const atHi = seen[c].get(hi[c]);
    chosen[c] =
      atLo !== undefined && (atHi === undefined || Math.abs(atLo - target[c]) < Math.abs(atHi - target[c]))
        ? lo[c]
        : hi[c];
  }
  const achieved = evaluate(chosen);
  const worstGap = Math.max(
    ...MATCHED.map((c) => Math.abs(achieved[c] - target[c]) / Math.max(1, target[c])),
  );
  return {
    thresholds: toThresholds(chosen),
    target,
    achieved,
    worstGap,
    steps,
    populationRuns: customerRuns / Math.max(1, w.customers.length),
  };
}

const toThresholds = (steps: Record<MatchedChannel, number>): FixedThresholds => ({
  email: steps.email / THRESHOLD_STEPS,
  sms: steps.sms / THRESHOLD_STEPS,
  push: steps.push / THRESHOLD_STEPS,
});

/** How many of the relevances (most relevant first) reach the threshold, as the engine compares them. */
function passing(sortedDesc: readonly number[], threshold: number): number {
  let n = 0;
  while (n < sortedDesc.length && !((sortedDesc[n] ?? 0) < threshold)) n++;
  return n;
}

/** One seed's world and the strategies that do not depend on the fatigue settings, run once. */
interface Baseline {
  w: World;
  campaigns: number;
  relevance: RelevanceSettings;
  governor: Policy;
  fcfs: Policy;
  fixed: Policy;
  matching: Matching;
  accumulator: () => Accumulator;
  through: (policy: Policy, options?: EngineOptions) => (i: number) => CustomerRun;
  /** A fixed threshold matched to a strategy's volume, and its run (checked against the matching). */
  fixedAt: (
    id: FixedId,
    volume: StrategyResult,
  ) => { matching: Matching; policy: Policy; result: StrategyResult };
  noGovernor: StrategyResult;
  viaFcfs: StrategyResult;
  viaFixed: StrategyResult;
  viaGovernor: StrategyResult;
}

function baseline(options: SimulationOptions): Baseline {
  const relevance = options.relevance ?? GOVERNOR_RELEVANCE;
  const { seed, customers, days } = options;
  const campaigns = createCampaigns(seed, SIMULATION_START, days);
  const w = world(seed, customers, campaigns);
  const governor = governorPolicy(relevance);
  const fcfs = fcfsPolicy();
  const caps = compilePolicy(fcfs);
  const accumulator = () => new Accumulator(days, caps);
  const through = (policy: Policy, options: EngineOptions = {}) => {
    const compiled = compilePolicy(policy);
    return (i: number) =>
      runThroughEngine(
        w.customers[i]!,
        w.messages[i] ?? [],
        compiled,
        w.draws[i] ?? new Float64Array(),
        options,
      );
  };

  const noGovernor = run(w, accumulator(), false, (i) =>
    runNoGovernor(w.customers[i]!, w.messages[i] ?? [], w.draws[i] ?? new Float64Array()),
  );
  const viaFcfs = run(w, accumulator(), true, through(fcfs, { firstComeFirstServed: true }));
  const viaGovernor = run(w, accumulator(), true, through(governor));
  const fixedAt = (id: FixedId, volume: StrategyResult) => {
    const target = { email: 0, sms: 0, push: 0 };
    for (const c of MATCHED) target[c] = volume.acc.byChannel[c];
    const matching = matchFixedThreshold(w, target, FIXED_ENGINE[id]);
    const policy = fixedThresholdPolicy(matching.thresholds);
    const result = run(w, accumulator(), true, through(policy, FIXED_ENGINE[id]));
    for (const c of MATCHED)
      if (result.acc.byChannel[c] !== matching.achieved[c])
        throw new Error(
          `the fixed threshold's run delivered ${result.acc.byChannel[c]} on ${c}, its matching ${matching.achieved[c]}`,
        );
    return { matching, policy, result };
  };
  const { matching, policy: fixed, result: viaFixed } = fixedAt('fixedThreshold', viaGovernor);
  return {
    w,
    campaigns: campaigns.length,
    relevance,
    governor,
    fcfs,
    fixed,
    matching,
    accumulator,
    through,
    fixedAt,
    noGovernor,
    viaFcfs,
    viaFixed,
    viaGovernor,
  };
}

/** The governor with fatigue under the given settings, on a baseline's world. */
function withFatigue(b: Baseline, fatigue: FatigueSettings): { policy: Policy; figures: StrategyFigures } {
  const policy = governorWithFatiguePolicy(fatigue, b.relevance);
  const result = run(b.w, b.accumulator(), true, b.through(policy));
  return { policy, figures: figures(result.acc, b.noGovernor.acc, b.governor) };
}

/** What tuning compares: the fatigue strategy's figures against no governor's and the fixed threshold's. */
export interface TuningRow {
  fatigue: FatigueSettings;
  figures: StrategyFigures;
}
export interface TuningReport {
  seed: number;
  noGovernor: StrategyFigures;
  fixedThreshold: StrategyFigures;
  governor: StrategyFigures;
  rows: TuningRow[];
}

/**
 * Runs the governor with fatigue under each candidate setting on one seed, the other strategies once.
 * Only for TUNING_SEEDS: tuning on a seed that is reported would make its report unfair.
 */
export function tuneFatigue(
  options: SimulationOptions,
  candidates: readonly FatigueSettings[],
): TuningReport {
  if (!TUNING_SEEDS.includes(options.seed))
    throw new Error(`seed ${options.seed} is not a tuning seed (${TUNING_SEEDS.join(', ')})`);
  const b = baseline(options);
  const governor = figures(b.viaGovernor.acc, b.noGovernor.acc, b.governor);
  return {
    seed: options.seed,
    noGovernor: figures(b.noGovernor.acc, undefined, b.governor),
    fixedThreshold: figures(b.viaFixed.acc, b.noGovernor.acc, b.governor),
    governor,
    rows: candidates.map((fatigue) => ({ fatigue, figures: withFatigue(b, fatigue).figures })),
  };
}

/** What the digests' tuning compares: each setting's figures on one tuning seed. */
export interface DigestTuningReport {
  seed: number;
  governor: StrategyFigures;
  rows: { digests: DigestSettings; figures: StrategyFigures }[];
}

/** Runs the governor + pre-emption + digests under each candidate setting on one tuning seed. */
export function tuneDigests(
  options: SimulationOptions,
  candidates: readonly DigestSettings[],
): DigestTuningReport {
  if (!TUNING_SEEDS.includes(options.seed))
    throw new Error(`seed ${options.seed} is not a tuning seed (${TUNING_SEEDS.join(', ')})`);
  const b = baseline(options);
  return {
    seed: options.seed,
    governor: figures(b.viaGovernor.acc, b.noGovernor.acc, b.governor),
    rows: candidates.map((digests) => {
      const policy = governorWithDigestsPolicy(digests, b.relevance);
      const result = run(b.w, b.accumulator(), true, b.through(policy));
      return { digests, figures: figures(result.acc, b.noGovernor.acc, b.governor) };
    }),
  };
}

export function simulate(options: SimulationOptions): SimulationReport {
  const { seed, customers, days } = options;
  const b = baseline(options);
  const { w, governor, fcfs, fixed, matching, noGovernor, viaFcfs, viaFixed, viaGovernor } = b;
  const fatigue = options.fatigue ?? GOVERNOR_FATIGUE;
  const viaFatigue = withFatigue(b, fatigue);
  // Today's governor, before pre-emption: the governor's policy, the engine without it.
  const viaNoPreemption = run(w, b.accumulator(), true, b.through(governor, { preemption: false }));
  const atNoPreemption = b.fixedAt('fixedAtNoPreemption', viaNoPreemption);
  const digests = options.digests ?? GOVERNOR_DIGESTS;
  const withDigests = governorWithDigestsPolicy(digests, b.relevance);
  const viaDigests = run(w, b.accumulator(), true, b.through(withDigests));
  const atDigests = b.fixedAt('fixedAtDigests', viaDigests);

  // The upper bound at the governor's volume, customer by customer.
  let boundDelivered = 0;
  let boundRelevance = 0;
  w.customers.forEach((_, i) => {
    const k = viaGovernor.volumes[i] ?? 0;
    const bound = w.boundAllowed[i] ?? new Float64Array(1);
    boundDelivered += Math.min(k, bound.length - 1);
    boundRelevance += boundAt(bound, k);
  });

  const strategies: Record<StrategyId, StrategyFigures> = {
    noGovernor: figures(noGovernor.acc, undefined, governor),
    fcfs: figures(viaFcfs.acc, noGovernor.acc, governor),
    fixedAtNoPreemption: figures(atNoPreemption.result.acc, noGovernor.acc, governor),
    governorNoPreemption: figures(viaNoPreemption.acc, noGovernor.acc, governor),
    fixedThreshold: figures(viaFixed.acc, noGovernor.acc, governor),
    governor: figures(viaGovernor.acc, noGovernor.acc, governor),
    governorWithFatigue: viaFatigue.figures,
    fixedAtDigests: figures(atDigests.result.acc, noGovernor.acc, governor),
    governorWithDigests: figures(viaDigests.acc, noGovernor.acc, governor),
  };

  let messages = 0;
  let relevanceSent = 0;
  let mostlyUninteresting = 0;
  let otherZone = 0;
  let optedOut = 0;
  let stated = 0;
  w.customers.forEach((customer, i) => {
    const mine = w.messages[i] ?? [];
    messages += mine.length;
    let uninteresting = 0;
    for (const m of mine) {
      relevanceSent += m.facts.relevance;
      if (m.facts.relevance < UNINTERESTING) uninteresting++;
    }
    if (uninteresting * 2 > mine.length) mostlyUninteresting++;
    if (customer.statedWish) stated++;
    if (customer.timeZone !== HOME_TIME_ZONE) otherZone++;
    if (CHANNELS.some((c) => customer.preferences.channels[c]?.optIn === false)) optedOut++;
  });

  return {
    options: { seed, customers, days, relevance: b.relevance, fatigue, digests },
    start: SIMULATION_START,
    campaigns: b.campaigns,
    messages,
    population: {
      mostlyUninterestingShare: mostlyUninteresting / customers,
      statedWishShare: stated / customers,
      otherTimeZoneShare: otherZone / customers,
      optedOutShare: optedOut / customers,
      meanRelevanceSent: messages === 0 ? 0 : relevanceSent / messages,
    },
    policies: {
      governor,
      fcfs,
      fixedThreshold: fixed,
      fixedAtNoPreemption: atNoPreemption.policy,
      governorWithFatigue: viaFatigue.policy,
      governorWithDigests: withDigests,
      fixedAtDigests: atDigests.policy,
    },
    matchings: {
      fixedAtNoPreemption: atNoPreemption.matching,
      fixedThreshold: matching,
      fixedAtDigests: atDigests.matching,
    },
    matching,
    strategies,
    upperBound: {
      delivered: boundDelivered,
      meanRelevanceDelivered: boundDelivered === 0 ? 0 : boundRelevance / boundDelivered,
      totalRelevanceDelivered: boundRelevance,
    },
  };
}
