/**
 * A customer's ordered log. Everything that changes a customer's decisions (a message, a preference
 * change, an unsubscribe, a release of a deferred message) is appended to one ordered log; replaying it
 * with the (immutable, versioned) policies each entry names gives every reader the same decisions, so
 * concurrent writers agree without locks: append, then decide. Compaction folds old entries into a base
 * and freezes the decisions of the ones it keeps, so replay stays deterministic after trimming.
 */
import {
  type ArmOf,
  armAt,
  type CompiledPolicy,
  type CustomerView,
  decide,
  effectiveAt,
  type HardSuppression,
  type MessageFacts,
  type Send,
  sendMatches,
  type Verdict,
} from './decision.ts';
import {
  type DigestOf,
  digestDeadline,
  digestFor,
  digestIdOf,
  digestOfVerdict,
  digestSendKey,
  isDigestId,
  leavesDigest,
  pastCaps,
} from './digests.ts';
import {
  applyEngagement,
  compactEngagement,
  type Engagement,
  type EngagementEvent,
  type EngagementType,
  isNeutral,
  neutralEngagement,
  restoredEngagement,
} from './fatigue.ts';
import { type Bumped, preempt } from './preemption.ts';
import type { CapMatch, Channel, Kind, Preferences } from './schemas.ts';

export type FeedbackType = 'unsubscribed' | 'complained' | 'bounced_hard';

/**
 * How far apart the clocks of two writers of one log may be, plus the time between a writer reading its
 * clock and its write landing, without a cap being overshot: compaction keeps every send that a decision
 * stamped this much earlier than its own clock could still count. 10 s: 5 s of clock difference between
 * instances (Lambda's clocks, kept by Amazon Time Sync, differ by far less; local processes given
 * offsets for tests by a few seconds) and 5 s for a write in flight (the SDK's attempts of one request).
 */
export const CLOCK_SKEW_MARGIN_MS = 10_000;

/**
 * The release margin of entries that name none: the deployed release runs every minute, and a run may
 * start or reach a message up to 30 s late (scheduling, cold start, a long run, clock skew).
 */
export const DEFAULT_RELEASE_MARGIN_MS = 90_000;

/** A customer's log remembers at most this many decisions that hold nothing (no send, no deferral). */
export const MAX_REMEMBERED = 100;

/**
 * Sends kept one by one: those the caps need, then the most recent others inside the horizon. Past it
 * (only a policy whose caps allow more sends than that can get there), the oldest the caps need are
 * folded into a count per kind and channel (see `Send`), which holds later messages back at least as
 * long as exact windows would.
 */
export const SEND_BUDGET = 100;

export interface Pending {
  facts: MessageFacts;
  releaseAt: number;
  policyVersion: number;
  /**
   * The digest it waits in (digests.ts), found again from its verdict: never stored apart. A digest's
   * items have no send of their own; its one slot is counted under its first item's key.
   */
  digest?: DigestOf | undefined;
}

export type LogEntry =
  | {
      type: 'message';
      at: number;
      policyVersion: number;
      facts: MessageFacts;
      /** The release margin the writer decided under (DEFAULT_RELEASE_MARGIN_MS when absent). */
      releaseMarginMs?: number | undefined;
    }
  | { type: 'preferences'; at: number; preferences: Preferences }
  | { type: 'feedback'; at: number; channel: Channel; feedback: FeedbackType }
  | {
      type: 'release';
      at: number;
      policyVersion: number;
      key: string;
      releaseAt: number;
      releaseMarginMs?: number | undefined;
    }
  | {
      type: 'settled';
      key: string;
      at: number;
      policyVersion: number;
      first: Verdict;
      send?: Send | undefined;
      pending?: Pending | undefined;
      category?: string | undefined;
      campaignId?: string | undefined;
      /** The channel and kind the message asked for (unknown in logs compacted before they were kept). */
      channel?: Channel | undefined;
      kind?: Kind | undefined;
      /** What became of the message since its first decision (see `CustomerState.current`). */
      current?: Verdict | undefined;
      /** When that became of it, and under which policy version (see `After`). */
      after?: Omit<After, 'experiment'> | undefined;
    }
  /** Sends folded into one count (see `Send`); `at` is the send's. */
  | { type: 'folded'; at: number; send: Send }
  /** Deliveries, opens and clicks of one events request (fatigue.ts), each with its id's keyed hash. */
  | { type: 'engagement'; at: number; events: EngagementEvent[] }
  /** The platform withdrew a message Governor still holds (DELETE /v1/messages/{messageId}). */
  | { type: 'cancel'; at: number; key: string };

export interface CustomerBase {
  preferences: Preferences;
  suppressions: Partial<Record<Channel, HardSuppression>>;
  /**
   * Decisions compaction had to forget while still inside the idempotency window (more than
   * MAX_REMEMBERED), by UTC day: reconciliation cannot rebuild their counts from the log.
   */
  forgotten?: Record<string, number> | undefined;
  /** The engagement folded so far (absent: neutral). */
  engagement?: Engagement | undefined;
  /** The experiments the customer was decided in already (absent: none), so each counts it once. */
  enrolled?: string[] | undefined;
}

export const emptyBase = (): CustomerBase => ({
  preferences: { channels: {}, topics: {} },
  suppressions: {},
});

export interface Decided {
  verdict: Verdict;
  policyVersion: number;
  at: number;
  /** What finance groups a decision by, kept with it so counts can be rebuilt from the log. */
  category?: string | undefined;
  campaignId?: string | undefined;
  /** The channel and kind the message asked for: a retry must ask for the same. */
  channel?: Channel | undefined;
  kind?: Kind | undefined;
  /**
   * The experiment and arm it was taken in (experiments.ts): never stored, found again by every
   * replay from the customer's policy and the decision's time.
   */
  experiment?: ArmOf | undefined;
}

/**
 * When what became of a message after its decision (`CustomerState.current`) happened: its release (the
 * release's policy version, and the time it had reserved, which decides its experiment's arm), its
 * pre-emption or its cancellation (the first decision's policy version). Kept so that the counts of the
 * release stage can be rebuilt from the log (reconcile.ts).
 */
export interface After {
  at: number;
  policyVersion: number;
  /** A release's: the time the message had reserved. */
  releaseAt?: number | undefined;
  /** The experiment and arm it counts in (never stored: found again by replay, as for decisions). */
  experiment?: ArmOf | undefined;
}

export interface CustomerState extends CustomerView {
  preferences: Preferences;
  suppressions: Partial<Record<Channel, HardSuppression>>;
  sends: Send[];
  /** The first decision taken for each message key. */
  decisions: Map<string, Decided>;
  pending: Map<string, Pending>;
  forgotten: Record<string, number>;
  engagement: Engagement;
  enrolled: string[];
  /**
   * What became of deferred messages since their first decision, when something did: a release's
   * verdict, a cancellation (`suppressed`, `cancelled`), a pre-emption (deferred again, or `suppressed`,
   * `preempted`). A retry still gets the first decision; the message's status is this one.
   */
  current: Map<string, Verdict>;
  /** When and under which policy version each of `current` happened. */
  after: Map<string, After>;
}

/**
 * What replay says of one entry: for a message, its decision (`duplicate` for a retry, which gets the
 * first decision; `conflict` when the retry names another channel, kind, category or campaign than the
 * first message did: its messageId was used for another message); for a release, what became of it.
 */
export type EntryResult =
  | {
      type: 'message';
      key: string;
      decided: Decided;
      duplicate: false;
      /** The first decision of the customer in its experiment: the customer joins its arm. */
      enrolled?: boolean | undefined;
      /** The deferred message of lower relevance whose slot this message took (see preemption.ts). */
      bumped?: Bumped[] | undefined;
    }
  | { type: 'message'; key: string; decided: Decided; duplicate: true; conflict: boolean }
  | {
      type: 'release';
      key: string;
      decided: Decided;
      stale: false;
      /** A digest's release (its key the digest's id): what became of each item, in order. */
      digest?: { id: string; items: { key: string; verdict: Verdict }[] } | undefined;
    }
  /**
   * A release that found its message no longer pending at that time (released first by another run, or
   * never deferred): it decides nothing. `decided`: the message's first decision, while the log
   * remembers it.
   */
  | { type: 'release'; key: string; decided: Decided | undefined; stale: true }
  /** For an engagement entry, `counted`: the events that counted, in order (the others were seen before). */
  /**
   * A cancellation of a message the log knows (else `other`): whether it withdrew the message (false: no
   * longer held, or cancelled already), and the message's decision with what became of it.
   */
  | { type: 'cancel'; key: string; decided: Decided; current: Verdict; cancelled: boolean }
  /** For an engagement entry, `counted`: the events that counted, in order (the others were seen before). */
  | { type: 'other'; counted?: EngagementType[] };

/** Whether a retry's facts differ from those of the message first decided under its key. */
export function conflictsWith(first: Decided, facts: MessageFacts): boolean {
  return (
    (first.channel !== undefined && first.channel !== facts.channel) ||
    (first.kind !== undefined && first.kind !== facts.kind) ||
    first.category !== facts.category ||
    first.campaignId !== facts.campaignId
  );
}

export type PolicyLookup = (version: number) => CompiledPolicy;

/** How a replay decides, beyond the policies its entries name. */
export interface ReplayOptions {
  /**
   * Pre-emption of reservations (preemption.ts); default on. Off only to measure what it adds (the
   * simulation's "governor (no pre-emption)"): every writer of a log must replay it the same way.
   */
  preemption?: boolean;
}

function applyFeedback(state: CustomerState, channel: Channel, feedback: FeedbackType, at: number): void {
  const optOut = { optIn: false, source: feedback, at: new Date(at).toISOString() };
  state.preferences = {
    ...state.preferences,
    channels: { ...state.preferences.channels, [channel]: optOut },
  };
  if (feedback === 'complained') state.suppressions = { ...state.suppressions, [channel]: 'complained' };
  if (feedback === 'bounced_hard') state.suppressions = { ...state.suppressions, [channel]: 'hard_bounce' };
}

function applyPreferences(state: CustomerState, preferences: Preferences): void {
  state.preferences = preferences;
  // An explicit opt-in on a channel lifts a hard suppression on it (a new address, a withdrawn complaint).
  const suppressions = { ...state.suppressions };
  for (const [channel, consent] of Object.entries(preferences.channels)) {
    if (consent?.optIn === true) delete suppressions[channel as Channel];
  }
  state.suppressions = suppressions;
}

/** Counts a send for an accepted (at `acceptedAt`) or deferred (at its release) message. */
function applyVerdict(
  state: CustomerState,
  facts: MessageFacts,
  verdict: Verdict,
  policyVersion: number,
  acceptedAt: number,
): void {
  if (verdict.outcome === 'suppressed') {
    state.pending.delete(facts.key);
    return;
  }
  state.sends.push({
    key: facts.key,
    at: verdict.outcome === 'deferred' ? verdict.releaseAt : acceptedAt,
    channel: verdict.channel,
    kind: facts.kind,
    category: facts.category,
    campaignId: facts.campaignId,
  });
  if (verdict.outcome === 'deferred')
    state.pending.set(facts.key, { facts, releaseAt: verdict.releaseAt, policyVersion });
  else state.pending.delete(facts.key);
}

/** Replays a customer's log from its base; `results[i]` describes `entries[i]`. */
export function replay(
  base: CustomerBase,
  entries: readonly LogEntry[],
  policies: PolicyLookup,
  replayOptions: ReplayOptions = {},
): { state: CustomerState; results: EntryResult[] } {
  const state: CustomerState = {
    preferences: base.preferences,
    suppressions: base.suppressions,
    sends: [],
    decisions: new Map(),
    pending: new Map(),
    forgotten: base.forgotten ?? {},
    engagement: base.engagement ?? neutralEngagement(),
    enrolled: base.enrolled ?? [],
    current: new Map(),
    after: new Map(),
  };
  const arm = (version: number, t: number): ArmOf | undefined => {
    const a = armAt(policies(version), t);
    return a && { id: a.id, arm: a.arm };
  };
  const results: EntryResult[] = [];
  for (const entry of entries) {
    switch (entry.type) {
      case 'settled': {
        state.decisions.set(entry.key, {
          verdict: entry.first,
          policyVersion: entry.policyVersion,
          at: entry.at,
          category: entry.category,
          campaignId: entry.campaignId,
          channel: entry.channel,
          kind: entry.kind,
          experiment: arm(entry.policyVersion, entry.at),
        });
        if (entry.current) state.current.set(entry.key, entry.current);
        if (entry.after) {
          const { releaseAt } = entry.after;
          const experiment =
            releaseAt === undefined
              ? arm(entry.policyVersion, entry.at)
              : arm(entry.after.policyVersion, releaseAt);
          state.after.set(entry.key, { ...entry.after, ...(experiment ? { experiment } : {}) });
        }
        if (entry.send) state.sends.push(entry.send);
        if (entry.pending) {
          const digest = digestOfVerdict(entry.current ?? entry.first);
          state.pending.set(entry.key, digest ? { ...entry.pending, digest } : entry.pending);
        }
        results.push({ type: 'other' });
        break;
      }
      case 'folded':
        state.sends.push(entry.send);
        results.push({ type: 'other' });
        break;
      case 'preferences':
        applyPreferences(state, entry.preferences);
        state.engagement = restoredEngagement(state.engagement);
        results.push({ type: 'other' });
        break;
      case 'engagement': {
        const { engagement, counted } = applyEngagement(state.engagement, entry.events, entry.at);
        state.engagement = engagement;
        results.push({ type: 'other', counted });
        break;
      }
      case 'feedback':
        applyFeedback(state, entry.channel, entry.feedback, entry.at);
        results.push({ type: 'other' });
        break;
      case 'message': {
        const key = entry.facts.key;
        const earlier = state.decisions.get(key);
        if (earlier) {
          const conflict = conflictsWith(earlier, entry.facts);
          results.push({ type: 'message', key, decided: earlier, duplicate: true, conflict });
          break;
        }
        const policy = policies(entry.policyVersion);
        const options = { releaseMarginMs: entry.releaseMarginMs ?? DEFAULT_RELEASE_MARGIN_MS };
        const plain = decide(state, entry.facts, policy, entry.at, options);
        const preemption =
          replayOptions.preemption === false
            ? undefined
            : preempt(state, entry.facts, plain, policy, entry.at, options);
        const digest = digestFor(state, entry.facts, preemption?.verdict ?? plain, policy, entry.at, options);
        const verdict = digest?.verdict ?? preemption?.verdict ?? plain;
        const bumped = preemption?.bumped;
        if (bumped) bump(state, bumped, entry.policyVersion, entry.at);
        const decided: Decided = {
          verdict,
          policyVersion: entry.policyVersion,
          at: entry.at,
          category: entry.facts.category,
          campaignId: entry.facts.campaignId,
          channel: entry.facts.channel,
          kind: entry.facts.kind,
          experiment: arm(entry.policyVersion, entry.at),
        };
        state.decisions.set(key, decided);
        if (digest) join(state, entry.facts, digest.verdict, digest.opens, entry.policyVersion);
        else applyVerdict(state, entry.facts, verdict, entry.policyVersion, entry.at);
        const joined = decided.experiment?.id;
        const enrolled = joined !== undefined && !state.enrolled.includes(joined);
        if (enrolled) state.enrolled = [...state.enrolled, joined];
        results.push({
          type: 'message',
          key,
          decided,
          duplicate: false,
          ...(enrolled ? { enrolled } : {}),
          ...(bumped ? { bumped: [bumped] } : {}),
        });
        break;
      }
      case 'cancel': {
        const cancelled = cancel(state, entry.key, entry.at);
        const decided = state.decisions.get(entry.key);
        const current = state.current.get(entry.key) ?? decided?.verdict;
        results.push(
          decided && current
            ? { type: 'cancel', key: entry.key, decided, current, cancelled }
            : { type: 'other' },
        );
        break;
      }
      case 'release': {
        const pending = state.pending.get(entry.key);
        const items = pending || !isDigestId(entry.key) ? [] : itemsOf(state, entry.key, entry.releaseAt);
        if (items.length > 0) {
          results.push(releaseDigest(state, entry, items, policies));
          break;
        }
        // A digest's item is released with its digest, never alone.
        if (!pending || pending.releaseAt !== entry.releaseAt || pending.digest) {
          results.push({
            type: 'release',
            key: entry.key,
            decided: state.decisions.get(entry.key),
            stale: true,
          });
          break;
        }
        results.push({
          type: 'release',
          key: entry.key,
          decided: decideAgain(state, entry, pending, policies),
          stale: false,
        });
        break;
      }
    }
  }
  return { state, results };
}

/**
 * A deferred message whose time has come is decided again against the current preferences and the
 * policy of the release, at the moment it had reserved (so the spacing it was given holds); it expires
 * if its expiry came before the release ran or as it ran (like decide, expiresAt itself is too late).
 */
function decideAgain(
  state: CustomerState,
  entry: Extract<LogEntry, { type: 'release' }>,
  pending: Pending,
  policies: PolicyLookup,
): Decided {
  state.sends = state.sends.filter((s) => s.key !== entry.key);
  state.pending.delete(entry.key);
  const { facts } = pending;
  let verdict: Verdict;
  if (facts.expiresAt !== undefined && facts.expiresAt <= entry.at) {
    verdict = { outcome: 'suppressed', channel: facts.channel, reason: 'expired', rule: 'expiresAt' };
  } else {
    // Relevance was judged when the slot was reserved; judging it again against the pressure at release
    // (which counts the reservation itself) would waste the slot it holds.
    verdict = decide(
      { ...state, sends: sendsBefore(state, entry.key) },
      { ...facts, notBefore: undefined, relevance: undefined },
      policies(entry.policyVersion),
      entry.releaseAt,
      { releaseMarginMs: entry.releaseMarginMs ?? DEFAULT_RELEASE_MARGIN_MS, releasableFrom: entry.at },
    );
  }
  applyVerdict(state, facts, verdict, entry.policyVersion, entry.releaseAt);
  state.current.set(entry.key, verdict);
  const arm = armAt(policies(entry.policyVersion), entry.releaseAt);
  state.after.set(entry.key, {
    at: entry.at,
    policyVersion: entry.policyVersion,
    releaseAt: entry.releaseAt,
    ...(arm ? { experiment: { id: arm.id, arm: arm.arm } } : {}),
  });
  return {
    verdict,
    policyVersion: entry.policyVersion,
    at: entry.at,
    ...(arm ? { experiment: { id: arm.id, arm: arm.arm } } : {}),
  };
}

/**
 * The sends a deferred message's release counts: all but the slots of digests opened after it was
 * deferred. Those were placed around its reservation, or at their deadline past a cap (digests.ts):
 * either way they never take its slot from it.
 */
function sendsBefore(state: CustomerState, key: string): Send[] {
  const decided = state.decisions.get(key);
  if (!decided) return state.sends;
  const reservedAt = state.after.get(key)?.at ?? decided.at;
  return state.sends.filter((s) => {
    const opened = state.decisions.get(s.key);
    const v = opened?.verdict;
    const opens = v?.outcome === 'deferred' && v.digestId !== undefined && v.digestId === digestIdOf(s.key);
    return !(opens && opened && opened.at > reservedAt);
  });
}

/** A pending digest's items, in the order they joined. */
function itemsOf(state: CustomerState, digestId: string, releaseAt: number): Pending[] {
  const items: Pending[] = [];
  for (const p of state.pending.values())
    if (p.digest?.id === digestId && p.releaseAt === releaseAt) items.push(p);
  return items;
}

/** A message joins a digest; the one that opens it reserves the digest's slot under its own key. */
function join(
  state: CustomerState,
  facts: MessageFacts,
  verdict: Extract<Verdict, { outcome: 'deferred' }>,
  opens: boolean,
  policyVersion: number,
): void {
  const digest = digestOfVerdict(verdict);
  state.pending.set(facts.key, { facts, releaseAt: verdict.releaseAt, policyVersion, digest });
  if (opens)
    state.sends.push({
      key: facts.key,
      at: verdict.releaseAt,
      channel: verdict.channel,
      kind: 'marketing',
      category: facts.category,
      campaignId: facts.campaignId,
    });
}

/**
 * A digest whose time has come (see digests.ts): the items that expired or that the consent in force
 * refuses leave it, and what is left is decided again as one message, at the moment it reserved, on its
 * channel. Its items follow its verdict: sent with it, deferred with it, or suppressed with it.
 */
function releaseDigest(
  state: CustomerState,
  entry: Extract<LogEntry, { type: 'release' }>,
  items: Pending[],
  policies: PolicyLookup,
): EntryResult {
  const id = entry.key;
  const digest = items[0]?.digest as DigestOf;
  const slotKey = digestSendKey(id);
  const slot = state.sends.find((s) => s.key === slotKey && s.at === entry.releaseAt);
  state.sends = state.sends.filter((s) => s !== slot);
  const policy = policies(entry.policyVersion);
  const outcomes: { key: string; verdict: Verdict }[] = [];
  const kept: Pending[] = [];
  for (const item of items) {
    state.pending.delete(item.facts.key);
    const leaves = leavesDigest(state, item.facts, digest.channel, policy, entry.releaseAt, entry.at);
    if (leaves) state.current.set(item.facts.key, leaves);
    else kept.push(item);
    outcomes.push({
      key: item.facts.key,
      verdict: leaves ?? { outcome: 'accepted', channel: digest.channel },
    });
  }
  const first = kept[0]?.facts;
  let verdict: Verdict;
  if (!first) {
    const last = outcomes[outcomes.length - 1]?.verdict;
    verdict = last ?? { outcome: 'suppressed', channel: digest.channel, reason: 'expired' };
  } else {
    const expiries = kept.flatMap((p) => (p.facts.expiresAt === undefined ? [] : [p.facts.expiresAt]));
    const margin = entry.releaseMarginMs ?? DEFAULT_RELEASE_MARGIN_MS;
    const deadline = deadlineOf(state, id, digest.rule, expiries, margin, policies) ?? entry.releaseAt;
    const facts: MessageFacts = {
      key: slotKey,
      channel: digest.channel,
      kind: 'marketing',
      category: slot?.category ?? first.category,
      campaignId: slot?.campaignId ?? first.campaignId,
    };
    // Deferred again only before its deadline; past it, only what no slot cures holds it back.
    const again = decide(
      state,
      { ...facts, expiresAt: Math.max(deadline, entry.releaseAt) + margin },
      policy,
      entry.releaseAt,
      { releaseMarginMs: margin, releasableFrom: entry.at },
    );
    const forced =
      again.outcome === 'suppressed' ? pastCaps(state, facts, policy, entry.releaseAt) : undefined;
    verdict =
      again.outcome === 'deferred'
        ? { ...again, reason: 'digest', rule: digest.rule, digestId: id }
        : forced?.outcome === 'accepted'
          ? forced
          : again;
    if (verdict.outcome !== 'suppressed')
      state.sends.push({
        key: slotKey,
        at: verdict.outcome === 'deferred' ? verdict.releaseAt : entry.releaseAt,
        channel: verdict.channel,
        kind: 'marketing',
        category: slot?.category ?? first.category,
        campaignId: slot?.campaignId ?? first.campaignId,
      });
    for (const item of kept) {
      const key = item.facts.key;
      state.current.set(key, verdict);
      if (verdict.outcome === 'deferred')
        state.pending.set(key, {
          ...item,
          releaseAt: verdict.releaseAt,
          policyVersion: entry.policyVersion,
          digest: digestOfVerdict(verdict),
        });
      const outcome = outcomes.find((o) => o.key === key);
      if (outcome) outcome.verdict = verdict;
    }
  }
  state.current.set(id, verdict);
  const arm = armAt(policies(entry.policyVersion), entry.releaseAt);
  return {
    type: 'release',
    key: id,
    decided: {
      verdict,
      policyVersion: entry.policyVersion,
      at: entry.at,
      ...(arm ? { experiment: { id: arm.id, arm: arm.arm } } : {}),
    },
    stale: false,
    digest: { id, items: outcomes },
  };
}

/**
 * A digest's deadline (digests.ts), from the decision of the item that opened it and the rule of that
 * decision's policy; undefined when the log no longer knows them.
 */
function deadlineOf(
  state: CustomerState,
  id: string,
  ruleId: string,
  expiries: readonly number[],
  marginMs: number,
  policies: PolicyLookup,
): number | undefined {
  const opened = state.decisions.get(digestSendKey(id));
  if (!opened) return undefined;
  const rule = effectiveAt(policies(opened.policyVersion), opened.at).policy.digests?.find(
    (r) => r.id === ruleId,
  );
  return rule && digestDeadline(opened.at, rule.maxWait, expiries, marginMs);
}

/** Withdraws a held message: its reservation and its deferral go, its status becomes `cancelled`. */
function cancel(state: CustomerState, key: string, at: number): boolean {
  const pending = state.pending.get(key);
  const decided = state.decisions.get(key);
  if (!pending || !decided) return false;
  state.pending.delete(key);
  // A digest's slot stays while it holds other items, even under the key of the item that leaves.
  const digest = pending.digest;
  if (!digest) state.sends = state.sends.filter((s) => s.key !== key);
  else if (itemsOf(state, digest.id, pending.releaseAt).length === 0) {
    const slot = digestSendKey(digest.id);
    state.sends = state.sends.filter((s) => !(s.key === slot && s.at === pending.releaseAt));
  }
  const channel = state.current.get(key)?.channel ?? decided.verdict.channel;
  state.current.set(key, { outcome: 'suppressed', channel, reason: 'cancelled' });
  settledAfter(state, key, decided, at);
  return true;
}

/**
 * A deferred message whose slot a more relevant one took: its reservation moves to where it is deferred
 * again (under the policy of the decision that bumped it), or it goes (`preempted`). A release at its
 * old time is then stale.
 */
function bump(state: CustomerState, bumped: Bumped, policyVersion: number, at: number): void {
  const pending = state.pending.get(bumped.key);
  if (!pending) return;
  state.sends = state.sends.filter((s) => s.key !== bumped.key);
  applyVerdict(state, pending.facts, bumped.verdict, policyVersion, pending.releaseAt);
  state.current.set(bumped.key, bumped.verdict);
  const decided = state.decisions.get(bumped.key);
  if (decided) settledAfter(state, bumped.key, decided, at);
}

/** A pre-emption or a cancellation at `at`: counted under the message's first decision's policy and arm. */
function settledAfter(state: CustomerState, key: string, decided: Decided, at: number): void {
  const { experiment } = decided;
  state.after.set(key, { at, policyVersion: decided.policyVersion, ...(experiment ? { experiment } : {}) });
}

export interface CompactionLimits {
  /** Sends older than this no longer count against any cap. */
  horizonMs: number;
  /** How long a decision is remembered for retries of the same message. */
  idempotencyMs: number;
  /**
   * The policies whose caps decide what sends must be kept (the current one and those the log names);
   * without them, every send inside the horizon is one the caps may need.
   */
  policies?: readonly CompiledPolicy[];
  /** Default CLOCK_SKEW_MARGIN_MS. */
  skewMs?: number;
  /** Default MAX_REMEMBERED. */
  maxRemembered?: number;
  /** Default SEND_BUDGET. */
  sendBudget?: number;
}

interface Rules {
  counts: { match: CapMatch; limit: number; windowMs: number }[];
  gaps: { match: CapMatch; gapMs: number }[];
}

function rulesOf(policies: readonly CompiledPolicy[], preferences: Preferences): Rules {
  const counts: Rules['counts'] = policies.flatMap((p) => p.counts);
  if (preferences.maxPerWeek !== undefined)
    counts.push({ match: {}, limit: preferences.maxPerWeek, windowMs: 7 * 24 * 3600_000 });
  return { counts, gaps: policies.flatMap((p) => p.gaps) };
}

/**
 * The sends a decision at `from` or later needs, for each cap exactly: those inside (from, ∞), and before
 * it, per count rule the most recent `limit` matching sends inside its window, per gap rule the latest
 * matching send inside its gap (an older one cannot be in a window that an equally full later one is
 * not in, nor decide a gap the latest does not).
 */
function neededSends(sends: readonly Send[], from: number, rules: Rules): Set<Send> {
  const needed = new Set<Send>();
  const matchesAny = (s: Send) =>
    rules.counts.some((r) => sendMatches(r.match, s)) || rules.gaps.some((r) => sendMatches(r.match, s));
  const past: Send[] = [];
  for (const s of sends) {
    if (s.at > from) {
      if (matchesAny(s)) needed.add(s);
    } else past.push(s);
  }
  past.sort((a, b) => b.at - a.at);
  for (const rule of rules.counts) {
    let used = 0;
    for (const s of past) {
      if (used >= rule.limit || s.at <= from - rule.windowMs) break;
      if (!sendMatches(rule.match, s)) continue;
      needed.add(s);
      used += s.count ?? 1;
    }
  }
  for (const rule of rules.gaps) {
    for (const s of past) {
      if (s.at <= from - rule.gapMs) break;
      if (sendMatches(rule.match, s)) {
        needed.add(s);
        break;
      }
    }
  }
  return needed;
}

/** Folds sends into one per kind and channel, spanning them all (conservative: see `Send`). */
function fold(sends: readonly Send[]): Send[] {
  const byGroup = new Map<string, Send>();
  for (const s of sends) {
    const group = `${s.kind} ${s.channel}`;
    const into = byGroup.get(group);
    const since = s.since ?? s.at;
    if (!into) {
      byGroup.set(group, { key: '', at: s.at, since, channel: s.channel, kind: s.kind, count: s.count ?? 1 });
    } else {
      into.at = Math.max(into.at, s.at);
      into.since = Math.min(into.since ?? into.at, since);
      into.count = (into.count ?? 1) + (s.count ?? 1);
    }
  }
  return [...byGroup.values()];
}

/** A settled entry's `after`, without the arm (replay finds it again). */
function afterOf(after: After | undefined): { after?: Omit<After, 'experiment'> } {
  if (!after) return {};
  const { experiment: _, ...kept } = after;
  return { after: kept };
}

const dayOf = (instant: number) => new Date(instant).toISOString().slice(0, 10);

/**
 * Folds a replayed log into a new base and the settled entries still needed, within bounds whatever the
 * customer was sent: every pending deferral (at most MAX_DEFERRED), the sends the caps need (and others
 * inside the horizon, SEND_BUDGET in all; beyond, folded), with their decisions, and the most recent
 * MAX_REMEMBERED other decisions young enough to answer a retry. Decisions are frozen as they were
 * taken, so a later replay cannot change them. The times it compares were written by other writers
 * whose clocks may differ: it keeps what a decision stamped CLOCK_SKEW_MARGIN_MS before `now` needs.
 */
export function compact(
  state: CustomerState,
  now: number,
  limits: CompactionLimits,
): { base: CustomerBase; entries: LogEntry[] } {
  const skew = limits.skewMs ?? CLOCK_SKEW_MARGIN_MS;
  const budget = limits.sendBudget ?? SEND_BUDGET;
  // Later decisions are taken at `now` or after (by their writer's clock, which may be behind), except
  // releases, which decide again at the moment they reserved: a release that is overdue looks back from
  // its releaseAt, so sends count from there.
  let from = now;
  for (const p of state.pending.values()) from = Math.min(from, p.releaseAt);
  from -= skew;
  const inside = state.sends.filter((s) => s.at > from - limits.horizonMs);
  const needed = limits.policies
    ? neededSends(inside, from, rulesOf(limits.policies, state.preferences))
    : new Set(inside);
  // The most recent first, then whatever else inside the horizon fits: the sends of today's log for an
  // ordinary customer, so that a new cap sees them too.
  const byRecency = (a: Send, b: Send) => b.at - a.at;
  const mustKeep = [...needed].sort(byRecency);
  const kept = new Set(mustKeep.slice(0, budget));
  const folded = fold(mustKeep.slice(budget));
  for (const s of inside.sort(byRecency)) {
    if (kept.size >= budget) break;
    if (!needed.has(s)) kept.add(s);
  }
  const sendByKey = new Map<string, Send>();
  for (const s of kept) {
    if (s.count === undefined) sendByKey.set(s.key, s);
    else folded.push(s);
  }

  // Decisions: those that hold something (a kept send, a deferral) and the most recent others.
  const remembered: string[] = [];
  const forgotten: Record<string, number> = {};
  for (const [day, n] of Object.entries(state.forgotten))
    if (Date.parse(`${day}T23:59:59.999Z`) > now - limits.idempotencyMs) forgotten[day] = n;
  for (const [key, decided] of state.decisions) {
    if (sendByKey.has(key) || state.pending.has(key)) continue;
    // Remembered while its decision, or what became of it since (a release-stage count), is young.
    const latest = Math.max(decided.at, state.after.get(key)?.at ?? decided.at);
    if (latest > now - limits.idempotencyMs) remembered.push(key);
  }
  const dropped = remembered.splice(
    0,
    Math.max(0, remembered.length - (limits.maxRemembered ?? MAX_REMEMBERED)),
  );
  for (const key of dropped) {
    const day = dayOf(state.decisions.get(key)?.at ?? now);
    forgotten[day] = (forgotten[day] ?? 0) + 1;
  }
  const keep = new Set(remembered);

  const entries: LogEntry[] = folded.map((send) => ({ type: 'folded', at: send.at, send }));
  for (const [key, decided] of state.decisions) {
    const send = sendByKey.get(key);
    const pending = state.pending.get(key);
    if (!send && !pending && !keep.has(key)) continue;
    entries.push({
      type: 'settled',
      key,
      at: decided.at,
      policyVersion: decided.policyVersion,
      first: decided.verdict,
      send,
      pending,
      category: decided.category,
      campaignId: decided.campaignId,
      channel: decided.channel,
      kind: decided.kind,
      ...(state.current.has(key) ? { current: state.current.get(key) } : {}),
      ...afterOf(state.after.get(key)),
    });
  }
  const base: CustomerBase = { preferences: state.preferences, suppressions: state.suppressions };
  if (Object.keys(forgotten).length > 0) base.forgotten = forgotten;
  const engagement = compactEngagement(state.engagement, now);
  if (!isNeutral(engagement)) base.engagement = engagement;
  if (state.enrolled.length > 0) base.enrolled = state.enrolled;
  return { base, entries };
}
