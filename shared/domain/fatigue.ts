/**
 * Fatigue: what a customer's engagement says about how much marketing they still want. Deliveries,
 * opens and clicks reach the customer's log as engagement entries (one per customer per events
 * request); replay folds them, in log order, into a decayed count of delivered and engaged messages, so
 * every reader of the log computes the same score and concurrent writers agree. Pure: time comes in.
 *
 * - Decay: both counts halve every ENGAGEMENT_HALF_LIFE_MS (14 days: a fortnight of behaviour weighs
 *   as much as everything before it), decayed to each entry's time (never forward when a writer's clock
 *   is behind the last one's).
 * - Score: engaged ÷ delivered (at most 1). A customer with fewer than `minDelivered` decayed
 *   deliveries (to the hundredth) is neutral: new customers, and those Governor has not reached for weeks, start afresh.
 * - Run: deliveries since the last open or click.
 * - Restore: a click, or an explicit preference change, sets the customer back to neutral.
 * - Idempotency: each event carries a short keyed hash of its id; replay skips an id it has already
 *   seen (the log keeps the ids it saw in the last EVENT_ID_MEMORY_MS, at most MAX_SEEN_EVENT_IDS).
 */
import type { Fatigue } from './schemas.ts';

export const ENGAGEMENT_HALF_LIFE_MS = 14 * 24 * 3600_000;
/** How long an event id is remembered: a provider or a queue that redelivers does so within a day. */
export const EVENT_ID_MEMORY_MS = 24 * 3600_000;
/** At most this many event ids are remembered per customer (the most recent). */
export const MAX_SEEN_EVENT_IDS = 48;

export const ENGAGEMENT_EVENTS = ['delivered', 'opened', 'clicked'] as const;
export type EngagementType = (typeof ENGAGEMENT_EVENTS)[number];

/** One event in an engagement entry: its id (a short keyed hash) and what happened. */
export interface EngagementEvent {
  id: string;
  type: EngagementType;
}

/** A customer's engagement, as replay folds it. */
export interface Engagement {
  /** Decayed deliveries, as of `at`. */
  delivered: number;
  /** Decayed opens and clicks, as of `at`. */
  engaged: number;
  /** Deliveries since the last open or click. */
  run: number;
  /** The time the counts are decayed to (0: never). */
  at: number;
  /** Event ids seen recently, with the time of the entry that brought them, oldest first. */
  seen: { id: string; at: number }[];
}

export const neutralEngagement = (): Engagement => ({ delivered: 0, engaged: 0, run: 0, at: 0, seen: [] });

const decayFactor = (from: number, to: number) =>
  // Stryker disable next-line EqualityOperator: equivalent: at to === from the decay is 2 ** -0, which is 1
  to > from ? 2 ** (-(to - from) / ENGAGEMENT_HALF_LIFE_MS) : 1;

/**
 * The engagement after an entry of `events` written at `at`: events whose id was seen count nothing.
 * Returns the new state and the types of the events that counted, in order.
 */
export function applyEngagement(
  state: Engagement,
  events: readonly EngagementEvent[],
  at: number,
): { engagement: Engagement; counted: EngagementType[] } {
  const seen = new Set(state.seen.map((s) => s.id));
  const f = decayFactor(state.at, at);
  let { delivered, engaged, run } = state;
  delivered *= f;
  engaged *= f;
  const added: { id: string; at: number }[] = [];
  const counted: EngagementType[] = [];
  for (const event of events) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    added.push({ id: event.id, at });
    counted.push(event.type);
    if (event.type === 'delivered') {
      delivered += 1;
      run += 1;
    } else if (event.type === 'opened') {
      engaged += 1;
      run = 0;
    } else {
      // A click restores: the customer starts neutral again.
      delivered = 0;
      engaged = 0;
      run = 0;
    }
  }
  return {
    engagement: { delivered, engaged, run, at: Math.max(state.at, at), seen: [...state.seen, ...added] },
    counted,
  };
}

/** An explicit preference change restores the customer to neutral (the ids seen are kept). */
export const restoredEngagement = (state: Engagement): Engagement => ({
  ...neutralEngagement(),
  seen: state.seen,
});

/** What compaction keeps: the counts (rounded to 4 decimals) and the ids seen inside the memory. */
export function compactEngagement(state: Engagement, now: number): Engagement {
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  const seen = state.seen.filter((s) => s.at > now - EVENT_ID_MEMORY_MS).slice(-MAX_SEEN_EVENT_IDS);
  return {
    delivered: round(state.delivered),
    engaged: round(state.engaged),
    run: state.run,
    at: state.at,
    seen,
  };
}

export const isNeutral = (e: Engagement) =>
  e.delivered === 0 && e.engaged === 0 && e.run === 0 && e.seen.length === 0;

/** How fatigue bears on a customer's marketing at one moment. */
export interface FatigueState {
  /** Opens and clicks per delivered, decayed; undefined while the customer is neutral. */
  score: number | undefined;
  /** Decayed deliveries at that moment. */
  delivered: number;
  run: number;
  /** The rule in force: `fatigue.threshold` (score below it), `fatigue.unengagedRun` (a run of N). */
  rule: 'fatigue.threshold' | 'fatigue.unengagedRun' | undefined;
  /** What caps are multiplied by (1: unchanged). */
  capScale: number;
  /** What is added to the relevance threshold (0: unchanged). */
  relevanceBoost: number;
}

/** The fatigue of a customer at `now` under a policy's `fatigue` section (none: never fatigued). */
export function fatigueAt(
  engagement: Engagement | undefined,
  policy: Fatigue | undefined,
  now: number,
): FatigueState {
  const e = engagement ?? neutralEngagement();
  const delivered = e.delivered * decayFactor(e.at, now);
  const engaged = e.engaged * decayFactor(e.at, now);
  // Compared to the hundredth, so that deliveries a few hours old still count whole.
  const neutral = !policy || delivered === 0 || Math.round(delivered * 100) / 100 < policy.minDelivered;
  const score = neutral ? undefined : Math.min(1, engaged / delivered);
  const off = { score, delivered, run: e.run, rule: undefined, capScale: 1, relevanceBoost: 0 } as const;
  if (!policy) return off;
  if (e.run >= policy.unengagedRun)
    return {
      ...off,
      rule: 'fatigue.unengagedRun',
      capScale: policy.runCapScale,
      relevanceBoost: policy.runRelevanceBoost,
    };
  if (score !== undefined && score < policy.threshold)
    return {
      ...off,
      rule: 'fatigue.threshold',
      capScale: policy.capScale,
      relevanceBoost: policy.relevanceBoost,
    };
  return off;
}

/** A cap's limit under fatigue: scaled down, rounded down, but at least one. */
export const fatiguedLimit = (limit: number, capScale: number) =>
  // Stryker disable next-line EqualityOperator: equivalent: at a scale of exactly 1 the other branch gives max(1, floor(limit)), the whole limit
  capScale >= 1 || limit === 0 ? limit : Math.max(1, Math.floor(limit * capScale));
