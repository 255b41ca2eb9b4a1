/**
 * A customer's ordered log. Everything that changes a customer's decisions (a message, a preference
 * change, an unsubscribe, a release of a deferred message) is appended to one ordered log; replaying it
 * with the (immutable, versioned) policies each entry names gives every reader the same decisions, so
 * concurrent writers agree without locks: append, then decide. Compaction folds old entries into a base
 * and freezes the decisions of the ones it keeps, so replay stays deterministic after trimming.
 */
import {
  type CompiledPolicy,
  type CustomerView,
  decide,
  type HardSuppression,
  type MessageFacts,
  type Send,
  type Verdict,
} from './decision.ts';
import type { Channel, Preferences } from './schemas.ts';

export type FeedbackType = 'unsubscribed' | 'complained' | 'bounced_hard';

export interface Pending {
  facts: MessageFacts;
  releaseAt: number;
  policyVersion: number;
}

export type LogEntry =
  | { type: 'message'; at: number; policyVersion: number; facts: MessageFacts }
  | { type: 'preferences'; at: number; preferences: Preferences }
  | { type: 'feedback'; at: number; channel: Channel; feedback: FeedbackType }
  | { type: 'release'; at: number; policyVersion: number; key: string; releaseAt: number }
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
    };

export interface CustomerBase {
  preferences: Preferences;
  suppressions: Partial<Record<Channel, HardSuppression>>;
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
}

export interface CustomerState extends CustomerView {
  preferences: Preferences;
  suppressions: Partial<Record<Channel, HardSuppression>>;
  sends: Send[];
  /** The first decision taken for each message key. */
  decisions: Map<string, Decided>;
  pending: Map<string, Pending>;
}

/** What replay says of one entry: for a message, its decision; for a release, what became of it. */
export type EntryResult =
  | { type: 'message'; key: string; decided: Decided; duplicate: boolean }
  | { type: 'release'; key: string; decided: Decided; stale: boolean }
  | { type: 'other' };

export type PolicyLookup = (version: number) => CompiledPolicy;

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
function record(
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
): { state: CustomerState; results: EntryResult[] } {
  const state: CustomerState = {
    preferences: base.preferences,
    suppressions: base.suppressions,
    sends: [],
    decisions: new Map(),
    pending: new Map(),
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
        });
        if (entry.send) state.sends.push(entry.send);
        if (entry.pending) state.pending.set(entry.key, entry.pending);
        results.push({ type: 'other' });
        break;
      }
      case 'preferences':
        applyPreferences(state, entry.preferences);
        results.push({ type: 'other' });
        break;
      case 'feedback':
        applyFeedback(state, entry.channel, entry.feedback, entry.at);
        results.push({ type: 'other' });
        break;
      case 'message': {
        const key = entry.facts.key;
        const earlier = state.decisions.get(key);
        if (earlier) {
          results.push({ type: 'message', key, decided: earlier, duplicate: true });
          break;
        }
        const verdict = decide(state, entry.facts, policies(entry.policyVersion), entry.at);
        const decided: Decided = {
          verdict,
          policyVersion: entry.policyVersion,
          at: entry.at,
          category: entry.facts.category,
          campaignId: entry.facts.campaignId,
        };
        state.decisions.set(key, decided);
        record(state, entry.facts, verdict, entry.policyVersion, entry.at);
        results.push({ type: 'message', key, decided, duplicate: false });
        break;
      }
      case 'release': {
        const pending = state.pending.get(entry.key);
        if (!pending || pending.releaseAt !== entry.releaseAt) {
          const decided = state.decisions.get(entry.key);
          const verdict: Verdict = decided?.verdict ?? {
            outcome: 'suppressed',
            channel: 'email',
            reason: 'expired',
          };
          results.push({
            type: 'release',
            key: entry.key,
            decided: { verdict, policyVersion: entry.policyVersion, at: entry.at },
            stale: true,
          });
          break;
        }
        results.push({
          type: 'release',
          key: entry.key,
          decided: release(state, entry, pending, policies),
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
function release(
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
      state,
      { ...facts, notBefore: undefined, relevance: undefined },
      policies(entry.policyVersion),
      entry.releaseAt,
    );
  }
  record(state, facts, verdict, entry.policyVersion, entry.releaseAt);
  return { verdict, policyVersion: entry.policyVersion, at: entry.at };
}

export interface CompactionLimits {
  /** Sends older than this no longer count against any cap. */
  horizonMs: number;
  /** How long a decision is remembered for retries of the same message. */
  idempotencyMs: number;
}

/**
 * Folds a replayed log into a new base and the settled entries still needed: sends inside the longest
 * window, pending deferrals, and decisions young enough to answer a retry. Decisions are frozen as they
 * were taken, so a later replay cannot change them.
 */
export function compact(
  state: CustomerState,
  now: number,
  limits: CompactionLimits,
): { base: CustomerBase; entries: LogEntry[] } {
  const sendByKey = new Map(state.sends.map((s) => [s.key, s]));
  // Later decisions are taken at `now` or after, except releases, which decide again at the moment they
  // reserved: a release that is overdue looks back from its releaseAt, so sends count from there.
  const from = Math.min(now, ...[...state.pending.values()].map((p) => p.releaseAt));
  const entries: LogEntry[] = [];
  for (const [key, decided] of state.decisions) {
    const send = sendByKey.get(key);
    const countingSend = send && send.at > from - limits.horizonMs ? send : undefined;
    const pending = state.pending.get(key);
    const remembered = decided.at > now - limits.idempotencyMs;
    if (!countingSend && !pending && !remembered) continue;
    entries.push({
      type: 'settled',
      key,
      at: decided.at,
      policyVersion: decided.policyVersion,
      first: decided.verdict,
      send: countingSend,
      pending,
      category: decided.category,
      campaignId: decided.campaignId,
    });
  }
  return { base: { preferences: state.preferences, suppressions: state.suppressions }, entries };
}
