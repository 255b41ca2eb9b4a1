/**
 * The decision: accept, defer or suppress one message for one customer, given what Governor knows about
 * that customer (preferences, hard suppressions, the sends it counted) and the policy in force. Pure:
 * time comes in as `now` (epoch milliseconds), nothing is read or written here.
 */
import { durationMs } from './duration.ts';
import { type Engagement, type FatigueState, fatigueAt, fatiguedLimit } from './fatigue.ts';
import { quietHoursEnd } from './quiet-hours.ts';
import type { CapMatch, Channel, Kind, Policy, Preferences, QuietHours, Reason } from './schemas.ts';

const WEEK_MS = 7 * 24 * 3600 * 1000;
const MAX_SEARCH_STEPS = 2000;
/**
 * A customer holds at most this many deferred messages: past it, a message that would be deferred is
 * suppressed (`frequency_cap`, rule `maxDeferred`: the customer already has that many messages waiting),
 * so that a flood of messages into quiet hours or full caps cannot hold an unbounded number of payloads
 * and reservations.
 */
export const MAX_DEFERRED = 50;

/** What the decision needs to know about a message (the payload never enters the decision). */
export interface MessageFacts {
  /** The idempotency key: the same message always has the same key. */
  key: string;
  channel: Channel;
  kind: Kind;
  category?: string | undefined;
  campaignId?: string | undefined;
  relevance?: number | undefined;
  notBefore?: number | undefined;
  expiresAt?: number | undefined;
  alternateChannels?: Channel[] | undefined;
}

export type Verdict =
  | { outcome: 'accepted'; channel: Channel }
  | {
      outcome: 'deferred';
      channel: Channel;
      releaseAt: number;
      reason: Reason;
      rule?: string | undefined;
      /** The digest the message joined (reason `digest`: see digests.ts). */
      digestId?: string | undefined;
    }
  | { outcome: 'suppressed'; channel: Channel; reason: Reason; rule?: string | undefined };

/**
 * A send Governor counted against the caps: made (`at` in the past) or reserved (`at` in the future).
 * Compaction may fold sends it cannot keep one by one into one with a `count`: that many sends of this
 * kind and channel somewhere between `since` and `at`, of any category and campaign. A folded send counts
 * wholly in every window that overlaps its span, so it holds messages back at least as long as the sends
 * it stands for would have (never shorter): caps stay exact or stricter, never looser.
 */
export interface Send {
  key: string;
  at: number;
  channel: Channel;
  kind: Kind;
  category?: string | undefined;
  campaignId?: string | undefined;
  count?: number | undefined;
  since?: number | undefined;
}

export type HardSuppression = 'hard_bounce' | 'complained';

/** What the decision reads about one customer. */
export interface CustomerView {
  preferences: Preferences;
  suppressions: Partial<Record<Channel, HardSuppression>>;
  sends: readonly Send[];
  /** The deferred messages the customer holds (at most MAX_DEFERRED). */
  pending?: { readonly size: number } | undefined;
  /** What the customer's engagement folded to (fatigue.ts); absent: neutral. */
  engagement?: Engagement | undefined;
}

/** How a decision may defer. */
export interface DecideOptions {
  /**
   * How long after a message's release time the release may run (the release interval and its lag): a
   * message is deferred only when it is still unexpired that long after it could be released, so that a
   * `deferred` answer is never followed by `expired`.
   */
  releaseMarginMs?: number;
  /** The earliest moment a release could run (the real time, when `now` is a reserved moment past). */
  releasableFrom?: number;
}

export interface CountRule {
  id: string;
  limit: number;
  windowMs: number;
  match: CapMatch;
}
export interface GapRule {
  id: string;
  gapMs: number;
  match: CapMatch;
}

/** The experiment and arm a decision was taken in (experiments.ts). */
export interface ArmOf {
  id: string;
  arm: string;
}

/** An arm of one experiment as a customer meets it: when it runs, and the policy it decides under. */
export interface AssignedArm extends ArmOf {
  from: number;
  to: number;
  compiled: CompiledPolicy;
}

/** The policy with its durations parsed once. Policies are immutable, so this is cached per object. */
export interface CompiledPolicy {
  policy: Policy;
  counts: CountRule[];
  gaps: GapRule[];
  /** The longest window or gap: how far back sends can still matter. */
  horizonMs: number;
  /** The customer's arms of the policy's experiments, when bound to one (experiments.ts forCustomer). */
  arms?: AssignedArm[] | undefined;
}

/** The arm a customer's decision at `t` is taken in (undefined: no experiment runs then). */
export function armAt(c: CompiledPolicy, t: number): AssignedArm | undefined {
  return c.arms?.find((a) => a.from <= t && t < a.to);
}

/** The policy a customer's decision at `t` is taken under: its arm's, or the policy itself. */
export function effectiveAt(c: CompiledPolicy, t: number): CompiledPolicy {
  return armAt(c, t)?.compiled ?? c;
}

const compiled = new WeakMap<Policy, CompiledPolicy>();

export function compilePolicy(policy: Policy): CompiledPolicy {
  let c = compiled.get(policy);
  if (c) return c;
  const counts: CountRule[] = [];
  const gaps: GapRule[] = [];
  for (const cap of policy.caps) {
    // Stryker disable next-line LogicalOperator: equivalent: the policy schema takes a cap's limit and window only together
    if (cap.limit !== undefined && cap.window !== undefined) {
      counts.push({ id: cap.id, limit: cap.limit, windowMs: durationMs(cap.window), match: cap.match });
    }
    if (cap.minGap !== undefined) gaps.push({ id: cap.id, gapMs: durationMs(cap.minGap), match: cap.match });
  }
  const horizonMs = Math.max(WEEK_MS, ...counts.map((r) => r.windowMs), ...gaps.map((r) => r.gapMs));
  c = { policy, counts, gaps, horizonMs };
  compiled.set(policy, c);
  return c;
}

/** Whether a cap counts a send: as `capMatches`, a folded send matching any category and campaign. */
export function sendMatches(match: CapMatch, s: Send): boolean {
  if (s.count === undefined) return capMatches(match, s);
  return (
    (match.kind ?? 'marketing') === s.kind && (match.channel === undefined || match.channel === s.channel)
  );
}

/** A cap applies to marketing messages unless its match names another kind. */
export function capMatches(
  match: CapMatch,
  m: Pick<Send, 'kind' | 'channel' | 'category' | 'campaignId'>,
): boolean {
  return (
    (match.kind ?? 'marketing') === m.kind &&
    (match.channel === undefined || match.channel === m.channel) &&
    (match.category === undefined || match.category === m.category) &&
    (match.campaignId === undefined || match.campaignId === m.campaignId)
  );
}

/** The relevance a message needs on a channel before pressure: the stricter of channel and category. */
export function baseThreshold(policy: Policy, channel: Channel, category: string | undefined): number {
  const byChannel = policy.relevance.byChannel?.[channel];
  const categories = policy.relevance.byCategory;
  const byCategory =
    category === undefined || !categories || !Object.hasOwn(categories, category)
      ? undefined
      : categories[category];
  if (byChannel === undefined && byCategory === undefined) return policy.relevance.default;
  return Math.max(byChannel ?? 0, byCategory ?? 0);
}

type Block = { reason: Reason; rule?: string | undefined };

interface Candidate {
  facts: MessageFacts;
  channel: Channel;
}

/** Sends inside (t - window, t]: the rolling window ending at t (a folded send wherever its span meets it). */
export function countInWindow(sends: readonly Send[], t: number, windowMs: number): number {
  let n = 0;
  for (const s of sends) if (s.at > t - windowMs && (s.since ?? s.at) <= t) n += s.count ?? 1;
  return n;
}

/**
 * Whether one more send at `t` keeps every rolling window that contains it within the limit (sends
 * reserved later count too). When it does not, the next moment worth trying; Infinity when none frees.
 */
function nextFreeForCount(rule: CountRule, sends: readonly Send[], t: number): number | undefined {
  if (rule.limit === 0) return Number.POSITIVE_INFINITY;
  // The busiest window containing t ends at t or at one of the sends inside (t, t + window) (or where a
  // folded send's span starts).
  let full = countInWindow(sends, t, rule.windowMs) + 1 > rule.limit;
  for (const s of sends) {
    if (full) break;
    if (s.at > t && s.at < t + rule.windowMs)
      full = countInWindow(sends, s.at, rule.windowMs) + 1 > rule.limit;
    if (!full && s.since !== undefined && s.since > t && s.since < t + rule.windowMs)
      full = countInWindow(sends, s.since, rule.windowMs) + 1 > rule.limit;
  }
  if (!full) return undefined;
  let next = Number.POSITIVE_INFINITY;
  for (const s of sends) {
    const frees = s.at + rule.windowMs;
    if (frees > t && frees < next) next = frees;
  }
  return next;
}

export function nextFreeForGap(rule: GapRule, sends: readonly Send[], t: number): number | undefined {
  let next: number | undefined;
  for (const s of sends) {
    if (t - s.at < rule.gapMs && (s.since ?? s.at) - t < rule.gapMs)
      next = Math.max(next ?? 0, s.at + rule.gapMs);
  }
  return next;
}

function customerCountRule(preferences: Preferences): CountRule | undefined {
  if (preferences.maxPerWeek === undefined) return undefined;
  return { id: 'customer.maxPerWeek', limit: preferences.maxPerWeek, windowMs: WEEK_MS, match: {} };
}

function quietHoursFor(
  view: CustomerView,
  policy: Policy,
): { quiet: QuietHours; timeZone: string } | undefined {
  const quiet = view.preferences.quietHours ?? policy.quietHours;
  if (!quiet) return undefined;
  return { quiet, timeZone: view.preferences.timezone ?? policy.quietHours?.defaultTimezone ?? 'UTC' };
}

/** The current pressure on a customer for a message: the fullest applicable rolling window, 0 to 1. */
export function pressure(rules: readonly CountRule[], sends: readonly Send[], t: number): number {
  let p = 0;
  for (const rule of rules) {
    const used = countInWindow(sends, t, rule.windowMs);
    p = Math.max(p, rule.limit === 0 ? 1 : Math.min(1, used / rule.limit));
  }
  return p;
}

/** A rule that applies to a message, with the customer's sends it counts. */
export interface Applicable<R> {
  rule: R;
  sends: Send[];
}

/** The count and gap rules that apply to a message on a channel (the customer's own cap included). */
export function applicableRules(
  view: CustomerView,
  c: CompiledPolicy,
  facts: MessageFacts,
  channel: Channel,
): { counts: Applicable<CountRule>[]; gaps: Applicable<GapRule>[] } {
  const probe = { kind: facts.kind, channel, category: facts.category, campaignId: facts.campaignId };
  const customerRule = facts.kind === 'marketing' ? customerCountRule(view.preferences) : undefined;
  const applicable = <R extends { match: CapMatch }>(rules: readonly R[]) => {
    const out: Applicable<R>[] = [];
    for (const rule of rules)
      if (capMatches(rule.match, probe))
        out.push({ rule, sends: view.sends.filter((s) => sendMatches(rule.match, s)) });
    return out;
  };
  return {
    counts: applicable(customerRule ? [...c.counts, customerRule] : c.counts),
    gaps: applicable(c.gaps),
  };
}

/** The relevance a message needs at `t`: the base threshold plus the slope × the fullest applicable cap. */
export function relevanceThreshold(
  c: CompiledPolicy,
  channel: Channel,
  category: string | undefined,
  counts: readonly Applicable<CountRule>[],
  t: number,
): { base: number; pressure: number; fromPressure: number; required: number } {
  let fullness = 0;
  for (const { rule, sends } of counts) fullness = Math.max(fullness, pressure([rule], sends, t));
  const base = baseThreshold(c.policy, channel, category);
  const fromPressure = c.policy.relevance.pressureSlope * fullness;
  return { base, pressure: fullness, fromPressure, required: Math.min(1, base + fromPressure) };
}

/**
 * The fatigue a marketing message meets at `t` under the policy's `fatigue` section: undefined when
 * the section is absent, the message is not marketing, or the customer is not fatigued.
 */
export function activeFatigue(
  view: CustomerView,
  c: CompiledPolicy,
  facts: MessageFacts,
  t: number,
): (FatigueState & { rule: string }) | undefined {
  if (facts.kind !== 'marketing' || !c.policy.fatigue) return undefined;
  const state = fatigueAt(view.engagement, c.policy.fatigue, t);
  return state.rule === undefined ? undefined : { ...state, rule: state.rule };
}

/** Like nextFreeForCount, for the rule's limit as fatigue scales it (undefined when it frees as the rule). */
function nextFreeUnderFatigue(
  rule: CountRule,
  sends: readonly Send[],
  t: number,
  fatigue: FatigueState | undefined,
): number | undefined {
  if (!fatigue) return undefined;
  const limit = fatiguedLimit(rule.limit, fatigue.capScale);
  return limit < rule.limit ? nextFreeForCount({ ...rule, limit }, sends, t) : undefined;
}

/** Decide one message on one channel: the earliest moment it may go, or why it may not. */
function decideOnChannel(
  view: CustomerView,
  c: CompiledPolicy,
  candidate: Candidate,
  now: number,
  options: DecideOptions,
): Verdict {
  const { facts, channel } = candidate;
  const { counts, gaps } = applicableRules(view, c, facts, channel);
  const start = Math.max(now, facts.notBefore ?? now);
  const fatigue = activeFatigue(view, c, facts, start);

  if (facts.kind === 'marketing' && facts.relevance !== undefined) {
    const threshold = relevanceThreshold(c, channel, facts.category, counts, start).required;
    if (facts.relevance < threshold) {
      return { outcome: 'suppressed', channel, reason: 'relevance_below_threshold', rule: 'relevance' };
    }
    if (fatigue && facts.relevance < Math.min(1, threshold + fatigue.relevanceBoost)) {
      return { outcome: 'suppressed', channel, reason: 'fatigue', rule: fatigue.rule };
    }
  }

  const quiet = facts.kind === 'marketing' ? quietHoursFor(view, c.policy) : undefined;
  const margin = options.releaseMarginMs ?? 0;
  const releasableFrom = options.releasableFrom ?? now;
  let t = start;
  let block: Block | undefined;
  for (let step = 0; step < MAX_SEARCH_STEPS; step++) {
    // A message is expired from its expiresAt on (see decide), so it can only be sent before it; and
    // deferred only if its release, which may run up to the margin after its time, still comes before it.
    if (facts.expiresAt !== undefined) {
      const latestSend = t === now ? t : Math.max(t, releasableFrom) + margin;
      if (latestSend >= facts.expiresAt) break;
    }
    if (!Number.isFinite(t)) break;
    const quietEnd = quiet ? quietHoursEnd(t, quiet.quiet, quiet.timeZone) : undefined;
    if (quietEnd !== undefined) {
      block = { reason: 'quiet_hours_expired', rule: 'quietHours' };
      t = quietEnd;
      continue;
    }
    let moved = false;
    for (const { rule, sends } of counts) {
      const next = nextFreeForCount(rule, sends, t);
      if (next !== undefined) {
        block = { reason: 'frequency_cap', rule: rule.id };
        t = next;
        moved = true;
        break;
      }
      // The cap would take it, the cap scaled down for a fatigued customer would not.
      const fatigued = nextFreeUnderFatigue(rule, sends, t, fatigue);
      if (fatigue && fatigued !== undefined) {
        block = { reason: 'fatigue', rule: fatigue.rule };
        t = fatigued;
        moved = true;
        break;
      }
    }
    if (!moved) {
      for (const { rule, sends } of gaps) {
        const next = nextFreeForGap(rule, sends, t);
        if (next !== undefined) {
          block = { reason: 'min_gap', rule: rule.id };
          t = next;
          moved = true;
          break;
        }
      }
    }
    if (moved) {
      // Without an expiry a capped message is not held: it is suppressed at once.
      if (facts.expiresAt === undefined) break;
      continue;
    }
    if (t === now) return { outcome: 'accepted', channel };
    const why = block ?? { reason: 'expired' as const, rule: 'notBefore' };
    return { outcome: 'deferred', channel, releaseAt: t, reason: why.reason, rule: why.rule };
  }
  const why = block ?? { reason: 'expired' as const };
  return { outcome: 'suppressed', channel, reason: why.reason, rule: why.rule };
}

/** The channels to try, in the customer's order of preference when they gave one. */
function channelsToTry(facts: MessageFacts, preferences: Preferences): Channel[] {
  if (facts.alternateChannels === undefined) return [facts.channel];
  const channels = [...new Set([facts.channel, ...(facts.alternateChannels ?? [])])];
  const order = preferences.preferredChannels;
  if (!order || facts.alternateChannels === undefined) return channels;
  const rank = (ch: Channel) => {
    const i = order.indexOf(ch);
    return i === -1 ? order.length : i;
  };
  return channels.sort((a, b) => rank(a) - rank(b));
}

function consentBlock(view: CustomerView, channel: Channel, kind: Kind): Block | undefined {
  const hard = view.suppressions[channel];
  if (hard) return { reason: hard, rule: 'suppression' };
  if (kind === 'marketing' && view.preferences.channels[channel]?.optIn === false) {
    return { reason: 'opted_out', rule: 'preferences' };
  }
  return undefined;
}

/**
 * The decision for one message at `now`. Transactional messages skip preferences, caps meant for
 * marketing, relevance and quiet hours, but never go to a channel with a hard bounce or a complaint.
 */
export function decide(
  view: CustomerView,
  facts: MessageFacts,
  bound: CompiledPolicy,
  now: number,
  options: DecideOptions = {},
): Verdict {
  // A customer in an experiment's arm is decided under the arm's policy while the experiment runs.
  const policy = effectiveAt(bound, now);
  if (facts.expiresAt !== undefined && facts.expiresAt <= now) {
    return { outcome: 'suppressed', channel: facts.channel, reason: 'expired', rule: 'expiresAt' };
  }
  const marketing = facts.kind === 'marketing';
  const pausedUntil = view.preferences.pausedUntil;
  if (marketing && pausedUntil !== undefined && Date.parse(pausedUntil) > now) {
    return { outcome: 'suppressed', channel: facts.channel, reason: 'paused', rule: 'preferences' };
  }
  if (marketing && facts.category !== undefined && view.preferences.topics[facts.category] === false) {
    return { outcome: 'suppressed', channel: facts.channel, reason: 'topic_opted_out', rule: 'preferences' };
  }
  // Accepted on the first channel that can take it now; else the earliest deferral; else why not: a
  // refusal by the rules on an open channel says more than a closed channel does.
  let deferral: Verdict | undefined;
  let ruleRefusal: Verdict | undefined;
  let consentRefusal: Verdict | undefined;
  for (const channel of channelsToTry(facts, view.preferences)) {
    const blocked = consentBlock(view, channel, facts.kind);
    if (blocked) {
      consentRefusal ??= { outcome: 'suppressed', channel, ...blocked };
      continue;
    }
    const verdict = decideOnChannel(view, policy, { facts, channel }, now, options);
    if (verdict.outcome === 'accepted') return verdict;
    if (verdict.outcome === 'deferred') {
      if (!deferral || (deferral.outcome === 'deferred' && verdict.releaseAt < deferral.releaseAt))
        deferral = verdict;
    } else {
      ruleRefusal ??= verdict;
    }
  }
  if (deferral && (view.pending?.size ?? 0) >= MAX_DEFERRED) {
    return { outcome: 'suppressed', channel: deferral.channel, reason: 'frequency_cap', rule: 'maxDeferred' };
  }
  return (
    deferral ??
    ruleRefusal ??
    // Stryker disable next-line ObjectLiteral,StringLiteral: equivalent: unreachable, every channel tried leaves a deferral or a refusal
    consentRefusal ?? { outcome: 'suppressed', channel: facts.channel, reason: 'opted_out' }
  );
}
