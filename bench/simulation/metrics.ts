/**
 * The figures of one strategy, aggregated customer by customer as they are run (memory stays flat with
 * the population). "Over their wish" is measured on rolling 7-day windows: a customer is over it when
 * some 7 days hold more of their marketing messages than they would accept.
 */
import type { CompiledPolicy } from '#shared/domain/decision.ts';
import { CHANNELS, type Channel, type Policy, type QuietHours, type Reason } from '#shared/domain/schemas.ts';
import { localTime } from '#shared/domain/time-zone.ts';
import type { SimCustomer } from './population.ts';
import type { CustomerRun, Delivery } from './strategies.ts';

export const WEEK_MS = 7 * 24 * 3600_000;

/**
 * Whether some rolling window (t − window, t] holds more than `limit` of the instants (sorted, earliest
 * first). The busiest window ends at one of them, so only those windows are looked at.
 */
export function exceedsInSomeWindow(sorted: readonly number[], limit: number, windowMs: number): boolean {
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    const end = sorted[last] ?? 0;
    while ((sorted[first] ?? end) <= end - windowMs) first++;
    if (last - first + 1 > limit) return true;
  }
  return false;
}

/** The most instants any rolling window (t − window, t] holds. */
export function busiestWindow(sorted: readonly number[], windowMs: number): number {
  let first = 0;
  let most = 0;
  for (let last = 0; last < sorted.length; last++) {
    const end = sorted[last] ?? 0;
    while ((sorted[first] ?? end) <= end - windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

const minuteCache = new Map<string, Map<number, number>>();

/**
 * The local minute of the day of an instant, with the engine's `localTime`, remembered per zone and UTC
 * minute (offsets are whole minutes, so the minute of the day is a function of the UTC minute).
 */
function localMinute(at: number, timeZone: string): number {
  let zone = minuteCache.get(timeZone);
  if (!zone) {
    zone = new Map();
    minuteCache.set(timeZone, zone);
  }
  const minute = Math.floor(at / 60_000);
  let m = zone.get(minute);
  if (m === undefined) {
    m = localTime(minute * 60_000, timeZone).minuteOfDay;
    zone.set(minute, m);
  }
  return m;
}

const hhmm = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

/** Whether an instant falls in quiet hours (start inclusive, end exclusive, wrapping past midnight). */
export function inQuietHours(at: number, quiet: QuietHours, timeZone: string): boolean {
  const start = hhmm(quiet.start);
  const end = hhmm(quiet.end);
  const m = localMinute(at, timeZone);
  return start > end ? m >= start || m < end : m >= start && m < end;
}

const zeroChannels = (): Record<Channel, number> => ({ email: 0, sms: 0, push: 0, whatsapp: 0 });

/** Sums over customers; `figures` turns them into the reported figures. */
export class Accumulator {
  customers = 0;
  statedCustomers = 0;
  delivered = 0;
  /** Messages that reached customers: each send's, a digest's items one by one. */
  messagesDelivered = 0;
  digests = 0;
  itemsInDigests = 0;
  relevanceInDigests = 0;
  joinedDigests = 0;
  byChannel = zeroChannels();
  relevanceSum = 0;
  /** The upper bound on relevanceSum at the same per-customer volumes (see `relevanceBound`). */
  boundAtSameVolume = 0;
  overWish = 0;
  overWishStated = 0;
  overWishByAverage = 0;
  overCap = 0;
  night = 0;
  opens = 0;
  clicks = 0;
  unsubscribes = 0;
  complaints = 0;
  deferred = 0;
  deferredDelivered = 0;
  deferralWaitMs = 0;
  suppressedByReason: Record<string, number> = {};
  suppressedAtReleaseByReason: Record<string, number> = {};

  constructor(
    readonly days: number,
    private readonly caps: CompiledPolicy,
  ) {}

  add(customer: SimCustomer, run: CustomerRun, boundAtSameVolume: number): void {
    const deliveries = run.delivered;
    this.customers++;
    if (customer.statedWish) this.statedCustomers++;
    this.delivered += deliveries.length;
    this.boundAtSameVolume += boundAtSameVolume;
    const quiet = customer.preferences.quietHours ?? this.caps.policy.quietHours;
    this.joinedDigests += run.joinedDigests;
    for (const d of deliveries) {
      this.byChannel[d.channel]++;
      this.messagesDelivered += d.items ?? 1;
      if (d.items !== undefined) {
        this.digests++;
        this.itemsInDigests += d.items;
        this.relevanceInDigests += d.relevance;
      }
      this.relevanceSum += d.relevance;
      if (quiet && inQuietHours(d.at, quiet, customer.timeZone)) this.night++;
    }
    const times = deliveries.map((d) => d.at).sort((a, b) => a - b);
    if (exceedsInSomeWindow(times, customer.wantedPerWeek, WEEK_MS)) {
      this.overWish++;
      if (customer.statedWish) this.overWishStated++;
    }
    if (deliveries.length / (this.days / 7) > customer.wantedPerWeek) this.overWishByAverage++;
    if (breaksCaps(deliveries, this.caps, customer)) this.overCap++;
    this.opens += run.opens;
    this.clicks += run.clicks;
    this.unsubscribes += run.unsubscribes;
    this.complaints += run.complaints;
    this.deferred += run.deferred;
    this.deferredDelivered += run.deferredDelivered;
    this.deferralWaitMs += run.deferralWaitMs;
    for (const [reason, n] of Object.entries(run.suppressedByReason))
      this.suppressedByReason[reason] = (this.suppressedByReason[reason] ?? 0) + n;
    for (const [reason, n] of Object.entries(run.suppressedAtReleaseByReason))
      this.suppressedAtReleaseByReason[reason] = (this.suppressedAtReleaseByReason[reason] ?? 0) + n;
  }
}

/** Whether the deliveries break a count cap of the policy, or the customer's own stated weekly maximum. */
function breaksCaps(
  deliveries: readonly Delivery[],
  compiled: CompiledPolicy,
  customer: SimCustomer,
): boolean {
  const rules: { limit: number; windowMs: number; channel: Channel | undefined }[] = compiled.counts.map(
    (r) => ({
      limit: r.limit,
      windowMs: r.windowMs,
      channel: r.match.channel,
    }),
  );
  const own = customer.preferences.maxPerWeek;
  if (own !== undefined) rules.push({ limit: own, windowMs: WEEK_MS, channel: undefined });
  // The policy's rules match marketing by channel only, and the simulation sends only marketing.
  return rules.some((rule) =>
    exceedsInSomeWindow(
      deliveries
        .filter((d) => rule.channel === undefined || d.channel === rule.channel)
        .map((d) => d.at)
        .sort((a, b) => a - b),
      rule.limit,
      rule.windowMs,
    ),
  );
}

/** The figures of one strategy on one seed. The JSON output's keys; README "The simulation" documents them. */
export interface StrategyFigures {
  /** Sends that reached customers (a digest is one). */
  delivered: number;
  /** Messages that reached customers: the sends, a digest's items one by one. */
  messagesDelivered: number;
  deliveredByChannel: Record<Channel, number>;
  /** Delivered per customer per week, on average. */
  perCustomerPerWeek: number;
  /** Customers over their wished frequency in some rolling 7 days: all, those who stated it, the others. */
  overWishedShare: number;
  overWishedShareStated: number;
  overWishedShareUnstated: number;
  /** Of the customers over their wish, the share who never stated it. */
  overWishedUnstatedPart: number;
  /** The former measure: more a week than wished on average over the whole period. */
  overWishedShareByAverage: number;
  /** Customers who got more than a policy cap or their own maximum allows in some rolling window. */
  overCapShare: number;
  /** Delivered messages that reached the customer in their quiet hours. */
  nightShare: number;
  opens: number;
  clicks: number;
  unsubscribes: number;
  complaints: number;
  /** Over the messages delivered (a digest's items one by one), and their total. */
  meanRelevanceDelivered: number;
  totalRelevanceDelivered: number;
  /** Total relevance delivered over the customers (all of them, those who got nothing too). */
  relevancePerCustomer: number;
  /** The most relevance the same per-customer volumes could have had (the upper bound), and the share reached. */
  relevanceBoundAtSameVolume: number;
  shareOfRelevanceBound: number;
  /** The sending cost of the messages not sent compared with no governor, in the policy's currency. */
  avoidedCost: number;
  avoidedCostByChannel: Record<Channel, number>;
  /** The engine's work: messages deferred, the mean wait of those delivered later, suppressions by reason. */
  deferred: number;
  meanWaitHours: number;
  suppressedByReason: Record<string, number>;
  suppressedAtReleaseByReason: Record<string, number>;
  /**
   * Messages dropped for lack of a slot (SLOT_REASONS): the ones a cap, a gap, quiet hours, fatigue's
   * scaled caps or a more relevant message kept from the customer, rather than their relevance or
   * their consent.
   */
  droppedForLackOfASlot: number;
  /**
   * Digests (policy section `digests`): messages that joined one instead of being dropped, digests
   * delivered, the items they carried to customers, and those items' relevance (in the total above).
   */
  joinedDigests: number;
  digestsDelivered: number;
  itemsInDigests: number;
  relevanceInDigests: number;
}

/** The suppressions for lack of a slot: what a digest could carry instead of dropping. */
export const SLOT_REASONS: ReadonlySet<string> = new Set<Reason>([
  'frequency_cap',
  'min_gap',
  'quiet_hours_expired',
  'expired',
  'fatigue',
  'preempted',
]);

export function figures(
  acc: Accumulator,
  noGovernor: Accumulator | undefined,
  policy: Policy,
): StrategyFigures {
  const unstated = acc.customers - acc.statedCustomers;
  const avoidedCostByChannel = zeroChannels();
  for (const channel of CHANNELS) {
    const notSent = noGovernor ? noGovernor.byChannel[channel] - acc.byChannel[channel] : 0;
    avoidedCostByChannel[channel] = notSent * policy.channelCosts[channel];
  }
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  return {
    delivered: acc.delivered,
    messagesDelivered: acc.messagesDelivered,
    deliveredByChannel: acc.byChannel,
    perCustomerPerWeek: ratio(acc.delivered, acc.customers * (acc.days / 7)),
    overWishedShare: ratio(acc.overWish, acc.customers),
    overWishedShareStated: ratio(acc.overWishStated, acc.statedCustomers),
    overWishedShareUnstated: ratio(acc.overWish - acc.overWishStated, unstated),
    overWishedUnstatedPart: ratio(acc.overWish - acc.overWishStated, acc.overWish),
    overWishedShareByAverage: ratio(acc.overWishByAverage, acc.customers),
    overCapShare: ratio(acc.overCap, acc.customers),
    nightShare: ratio(acc.night, acc.delivered),
    opens: acc.opens,
    clicks: acc.clicks,
    unsubscribes: acc.unsubscribes,
    complaints: acc.complaints,
    meanRelevanceDelivered: ratio(acc.relevanceSum, acc.messagesDelivered),
    totalRelevanceDelivered: acc.relevanceSum,
    relevancePerCustomer: ratio(acc.relevanceSum, acc.customers),
    relevanceBoundAtSameVolume: acc.boundAtSameVolume,
    shareOfRelevanceBound: ratio(acc.relevanceSum, acc.boundAtSameVolume),
    avoidedCost: Object.values(avoidedCostByChannel).reduce((a, b) => a + b, 0),
    avoidedCostByChannel,
    deferred: acc.deferred,
    meanWaitHours: ratio(acc.deferralWaitMs, acc.deferredDelivered) / 3600_000,
    suppressedByReason: acc.suppressedByReason,
    suppressedAtReleaseByReason: acc.suppressedAtReleaseByReason,
    droppedForLackOfASlot: Object.entries(acc.suppressedByReason)
      .filter(([reason]) => SLOT_REASONS.has(reason))
      .reduce((a, [, n]) => a + n, 0),
    joinedDigests: acc.joinedDigests,
    digestsDelivered: acc.digests,
    itemsInDigests: acc.itemsInDigests,
    relevanceInDigests: acc.relevanceInDigests,
  };
}
