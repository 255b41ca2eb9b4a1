/**
 * The simulation: a population, a month of campaigns, and every strategy run over each customer with
 * the clock the messages carry (nothing reads the wall clock). The figures are aggregated as customers
 * are run, so memory stays flat with the population size.
 */
import { type CompiledPolicy, compilePolicy } from '#shared/domain/decision.ts';
import { quietHoursEnd } from '#shared/domain/quiet-hours.ts';
import { CHANNELS, type Channel, type Policy } from '#shared/domain/schemas.ts';
import { instantOfLocal } from '#shared/domain/time-zone.ts';
import { createCampaigns, messagesFor } from './campaigns.ts';
import { fcfsPolicy, GOVERNOR_RELEVANCE, governorPolicy, type RelevanceSettings } from './policy.ts';
import { createCustomer, HOME_TIME_ZONE, type SimCustomer } from './population.ts';
import { type Delivery, runBefore, runOptimum, runThroughEngine, type StrategyRun } from './strategies.ts';

export interface SimulationOptions {
  seed: number;
  customers: number;
  days: number;
  relevance?: RelevanceSettings;
}

export const STRATEGIES = ['before', 'fcfs', 'governor', 'optimum', 'optimumAtGovernorVolume'] as const;
export type StrategyId = (typeof STRATEGIES)[number];
export const STRATEGY_LABELS: Record<StrategyId, string> = {
  before: 'before (no governor)',
  fcfs: 'FCFS caps',
  governor: 'governor',
  optimum: 'offline optimum',
  optimumAtGovernorVolume: 'optimum @ gov. volume',
};

/** A message "interests" the customer from this relevance on; below `UNINTERESTING` it does not. */
export const INTERESTING = 0.5;
export const UNINTERESTING = 0.4;
/** Bins of the messages-per-customer-per-week histogram: 0, 1, …, and the last one for that many or more. */
export const WEEK_BINS = 13;

export interface StrategyFigures {
  delivered: number;
  byChannel: Record<Channel, number>;
  relevanceSum: number;
  meanRelevance: number;
  /** Share of the delivered messages with relevance of at least INTERESTING. */
  interestingShare: number;
  perWeek: { mean: number; p10: number; p50: number; p90: number; max: number; histogram: number[] };
  /** Customers who got more than a cap allows in some rolling window (the policy's caps and their own). */
  overCapShare: number;
  /** Customers who got more per week than they want. */
  overWishShare: number;
  /** Delivered messages that reached the customer during their quiet hours. */
  nightShare: number;
  /** Messages not sent compared with before, and what that saved. */
  notSent: Record<Channel, number>;
  avoidedCost: Record<Channel, number>;
  avoidedCostTotal: number;
}

export interface EngineOutcomes {
  deferred: number;
  deferredDelivered: number;
  meanWaitHours: number;
  suppressed: number;
  suppressedAtRelease: number;
  suppressedByReason: Record<string, number>;
  /** Deferred messages dropped when their release came, by reason. */
  suppressedAtReleaseByReason: Record<string, number>;
}

export interface SimulationReport {
  options: Required<SimulationOptions>;
  start: number;
  campaigns: number;
  messages: number;
  population: {
    /** Customers for whom most messages received before have relevance below UNINTERESTING (survey: 86%). */
    mostlyUninterestingShare: number;
    /** Customers who received more than they want per week before (survey: 75%). */
    overWishBeforeShare: number;
    preferenceCentreShare: number;
    otherTimeZoneShare: number;
    optedOutShare: number;
    meanRelevanceSent: number;
  };
  policy: Policy;
  strategies: Record<StrategyId, StrategyFigures>;
  outcomes: { governor: EngineOutcomes; fcfs: EngineOutcomes };
  targets: {
    /** Governor mean delivered relevance over FCFS's, minus one. */
    vsFcfs: number;
    /** Governor mean delivered relevance over the optimum's, minus one. */
    vsOptimum: number;
    vsOptimumAtGovernorVolume: number;
    /** Governor total delivered relevance as a share of the optimum's. */
    totalVsOptimum: number;
  };
}

/** Monday 2 March 2026, 00:00 in Paris: a month that crosses the European and American DST changes. */
export const SIMULATION_START = instantOfLocal(2026, 3, 2, 0, HOME_TIME_ZONE);

interface Accumulator {
  delivered: number;
  byChannel: Record<Channel, number>;
  relevanceSum: number;
  interesting: number;
  rates: number[];
  overCap: number;
  overWish: number;
  night: number;
}

const zeroChannels = (): Record<Channel, number> => ({ email: 0, sms: 0, push: 0, whatsapp: 0 });

function accumulator(): Accumulator {
  return {
    delivered: 0,
    byChannel: zeroChannels(),
    relevanceSum: 0,
    interesting: 0,
    rates: [],
    overCap: 0,
    overWish: 0,
    night: 0,
  };
}

/** Whether the deliveries break a count cap of the policy, or the customer's own weekly maximum. */
function breaksCaps(
  deliveries: readonly Delivery[],
  compiled: CompiledPolicy,
  customer: SimCustomer,
): boolean {
  const rules = compiled.counts.map((r) => ({
    limit: r.limit,
    windowMs: r.windowMs,
    channel: r.match.channel,
  }));
  const own = customer.preferences.maxPerWeek;
  if (own !== undefined) rules.push({ limit: own, windowMs: 7 * 24 * 3600_000, channel: undefined });
  for (const rule of rules) {
    // Rules here match marketing by channel only; the simulation sends only marketing messages.
    const times = deliveries
      .filter((d) => rule.channel === undefined || d.channel === rule.channel)
      .map((d) => d.at)
      .sort((a, b) => a - b);
    let first = 0;
    for (let last = 0; last < times.length; last++) {
      const end = times[last] ?? 0;
      while ((times[first] ?? 0) <= end - rule.windowMs) first++;
      if (last - first + 1 > rule.limit) return true;
    }
  }
  return false;
}

function add(
  acc: Accumulator,
  deliveries: readonly Delivery[],
  customer: SimCustomer,
  ctx: RunContext,
): void {
  const quiet = customer.preferences.quietHours ?? ctx.policy.quietHours;
  let night = 0;
  for (const d of deliveries) {
    acc.byChannel[d.channel]++;
    acc.relevanceSum += d.relevance;
    if (d.relevance >= INTERESTING) acc.interesting++;
    if (quiet && quietHoursEnd(d.at, quiet, customer.timeZone) !== undefined) night++;
  }
  acc.delivered += deliveries.length;
  acc.night += night;
  const rate = deliveries.length / (ctx.days / 7);
  acc.rates.push(rate);
  if (rate > customer.wantedPerWeek) acc.overWish++;
  if (breaksCaps(deliveries, ctx.compiledFcfs, customer)) acc.overCap++;
}

interface RunContext {
  days: number;
  policy: Policy;
  compiledFcfs: CompiledPolicy;
}

function outcomes(runs: StrategyRun[]): EngineOutcomes {
  const suppressedByReason: Record<string, number> = {};
  const suppressedAtReleaseByReason: Record<string, number> = {};
  let deferred = 0;
  let deferredDelivered = 0;
  let waitMs = 0;
  let suppressed = 0;
  let suppressedAtRelease = 0;
  for (const run of runs) {
    deferred += run.deferred;
    deferredDelivered += run.deferredDelivered;
    waitMs += run.deferralWaitMs;
    for (const s of run.suppressed) {
      suppressed++;
      if (s.atRelease) {
        suppressedAtRelease++;
        suppressedAtReleaseByReason[s.reason] = (suppressedAtReleaseByReason[s.reason] ?? 0) + 1;
      }
      suppressedByReason[s.reason] = (suppressedByReason[s.reason] ?? 0) + 1;
    }
  }
  return {
    deferred,
    deferredDelivered,
    meanWaitHours: deferredDelivered === 0 ? 0 : waitMs / deferredDelivered / 3600_000,
    suppressed,
    suppressedAtRelease,
    suppressedByReason,
    suppressedAtReleaseByReason,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

function figures(
  acc: Accumulator,
  customers: number,
  before: Accumulator | undefined,
  policy: Policy,
): StrategyFigures {
  const rates = [...acc.rates].sort((a, b) => a - b);
  const histogram = new Array<number>(WEEK_BINS).fill(0);
  for (const r of rates) histogram[Math.min(WEEK_BINS - 1, Math.floor(r))]! += 1 / customers;
  const notSent = zeroChannels();
  const avoidedCost = zeroChannels();
  for (const channel of CHANNELS) {
    notSent[channel] = before ? before.byChannel[channel] - acc.byChannel[channel] : 0;
    avoidedCost[channel] = notSent[channel] * policy.channelCosts[channel];
  }
  return {
    delivered: acc.delivered,
    byChannel: acc.byChannel,
    relevanceSum: acc.relevanceSum,
    meanRelevance: acc.delivered === 0 ? 0 : acc.relevanceSum / acc.delivered,
    interestingShare: acc.delivered === 0 ? 0 : acc.interesting / acc.delivered,
    perWeek: {
      mean: rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length),
      p10: percentile(rates, 0.1),
      p50: percentile(rates, 0.5),
      p90: percentile(rates, 0.9),
      max: rates[rates.length - 1] ?? 0,
      histogram,
    },
    overCapShare: acc.overCap / customers,
    overWishShare: acc.overWish / customers,
    nightShare: acc.delivered === 0 ? 0 : acc.night / acc.delivered,
    notSent,
    avoidedCost,
    avoidedCostTotal: Object.values(avoidedCost).reduce((a, b) => a + b, 0),
  };
}

export function simulate(options: SimulationOptions): SimulationReport {
  const relevance = options.relevance ?? GOVERNOR_RELEVANCE;
  const { seed, customers, days } = options;
  const policy = governorPolicy(relevance);
  const fcfs = fcfsPolicy();
  const compiledGovernor = compilePolicy(policy);
  const compiledFcfs = compilePolicy(fcfs);
  const campaigns = createCampaigns(seed, SIMULATION_START, days);
  const ctx: RunContext = { days, policy, compiledFcfs };

  const acc = Object.fromEntries(STRATEGIES.map((s) => [s, accumulator()])) as Record<
    StrategyId,
    Accumulator
  >;
  const governorRuns: StrategyRun[] = [];
  const fcfsRuns: StrategyRun[] = [];
  let messages = 0;
  let relevanceSent = 0;
  let mostlyUninteresting = 0;
  let preferenceCentre = 0;
  let otherZone = 0;
  let optedOut = 0;

  for (let i = 0; i < customers; i++) {
    const customer = createCustomer(seed, i);
    const mine = messagesFor(seed, i, customer, campaigns);
    messages += mine.length;
    let uninteresting = 0;
    for (const m of mine) {
      relevanceSent += m.facts.relevance;
      if (m.facts.relevance < UNINTERESTING) uninteresting++;
    }
    if (uninteresting * 2 > mine.length) mostlyUninteresting++;
    if (customer.statedWish) preferenceCentre++;
    if (customer.timeZone !== HOME_TIME_ZONE) otherZone++;
    if (Object.values(customer.preferences.channels).some((c) => c?.optIn === false)) optedOut++;

    const before = runBefore(mine);
    const viaFcfs = runThroughEngine(customer, mine, compiledFcfs);
    const viaGovernor = runThroughEngine(customer, mine, compiledGovernor);
    const optimum = runOptimum(customer, mine, compiledFcfs);
    const sameVolume = runOptimum(customer, mine, compiledFcfs, viaGovernor.delivered.length);
    add(acc.before, before.delivered, customer, ctx);
    add(acc.fcfs, viaFcfs.delivered, customer, ctx);
    add(acc.governor, viaGovernor.delivered, customer, ctx);
    add(acc.optimum, optimum, customer, ctx);
    add(acc.optimumAtGovernorVolume, sameVolume, customer, ctx);
    governorRuns.push({ ...viaGovernor, delivered: [] });
    fcfsRuns.push({ ...viaFcfs, delivered: [] });
  }

  const strategies = Object.fromEntries(
    STRATEGIES.map((s) => [s, figures(acc[s], customers, s === 'before' ? undefined : acc.before, policy)]),
  ) as Record<StrategyId, StrategyFigures>;
  const gov = strategies.governor;
  return {
    options: { seed, customers, days, relevance },
    start: SIMULATION_START,
    campaigns: campaigns.length,
    messages,
    population: {
      mostlyUninterestingShare: mostlyUninteresting / customers,
      overWishBeforeShare: strategies.before.overWishShare,
      preferenceCentreShare: preferenceCentre / customers,
      otherTimeZoneShare: otherZone / customers,
      optedOutShare: optedOut / customers,
      meanRelevanceSent: messages === 0 ? 0 : relevanceSent / messages,
    },
    policy,
    strategies,
    outcomes: { governor: outcomes(governorRuns), fcfs: outcomes(fcfsRuns) },
    targets: {
      vsFcfs: gov.meanRelevance / strategies.fcfs.meanRelevance - 1,
      vsOptimum: gov.meanRelevance / strategies.optimum.meanRelevance - 1,
      vsOptimumAtGovernorVolume: gov.meanRelevance / strategies.optimumAtGovernorVolume.meanRelevance - 1,
      totalVsOptimum: gov.relevanceSum / strategies.optimum.relevanceSum,
    },
  };
}
