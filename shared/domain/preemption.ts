/**
 * Pre-emption of reservations: a customer's scarce slots go to the most relevant messages, not to the
 * first to ask. When a marketing message would be deferred past, or suppressed for lack of, a slot that
 * a deferred message of lower relevance holds, it takes that slot; the message it bumps is decided again
 * as its release would decide it (at the moment it had reserved, beside the newcomer): it keeps its slot
 * when it still fits there, else it goes to its next slot before its expiry, or is suppressed
 * (`preempted`).
 *
 * The rule, exactly:
 * - Only a reservation still ahead (releaseAt after the decision) can be taken; accepted (queued)
 *   messages are never bumped, and a release never bumps (relevance was judged when the slot was
 *   reserved, so a released message competes no more).
 * - Only relevance decides: a message without relevance never bumps and is never bumped; a message bumps
 *   only one of strictly lower relevance. Transactional messages neither bump nor are bumped.
 * - A message suppressed for a reason no slot cures (consent, relevance, a pause, an expiry) bumps
 *   nothing; any deferral, and a suppression by the caps, gaps or quiet hours, may.
 * - Of the held messages it could bump (those whose slot comes before the moment it was given, if any)
 *   it tries the least relevant first, then the latest reservation, then the key, at most
 *   MAX_PREEMPTION_TRIES, and takes the first whose removal gives it a better verdict (accepted; or
 *   deferred when it was suppressed, or deferred earlier). One message bumps at most one.
 * - It is part of the replay of the customer's log (customer-log.ts), so every writer computes the same
 *   outcome from the same log.
 *
 * Pure: it tries decisions on views of the customer's state and changes nothing.
 */
import {
  type CompiledPolicy,
  type CustomerView,
  type DecideOptions,
  decide,
  MAX_DEFERRED,
  type MessageFacts,
  type Send,
  type Verdict,
} from './decision.ts';
import type { Reason } from './schemas.ts';

/** A deferred message whose slot a more relevant one took, and what became of it. */
export interface Bumped {
  key: string;
  /** Deferred again (to a later slot), or suppressed with reason `preempted`. */
  verdict: Verdict;
}

/** What pre-emption reads of a held (deferred) message. */
export interface Held {
  facts: MessageFacts;
  releaseAt: number;
  /** The digest it waits in: a digest's items and its slot are never bumped (digests.ts). */
  digest?: { id: string } | undefined;
}

/**
 * Why a bumped message was suppressed (no later slot before its expiry), or moved to another channel at
 * the moment it held.
 */
const PREEMPTED = { reason: 'preempted', rule: 'preemption' } as const;

/**
 * The refusals no slot can cure (consent, relevance, a pause, an expiry): a message refused for one of
 * them never takes another's slot. A deferral, and a suppression by the search for a moment (caps,
 * gaps, quiet hours, fatigue's scaled caps, the maximum of deferrals), may find a better one in
 * another's slot.
 */
const NOT_FOR_LACK_OF_A_SLOT = new Set<Reason>([
  'relevance_below_threshold',
  'opted_out',
  'topic_opted_out',
  'paused',
  'hard_bounce',
  'complained',
  'expired',
]);

/** Held messages tried per decision at most (a customer holds at most MAX_DEFERRED). */
export const MAX_PREEMPTION_TRIES = 8;

const cannotBump = (verdict: Verdict) =>
  verdict.outcome === 'accepted' ||
  (verdict.outcome === 'suppressed' && NOT_FOR_LACK_OF_A_SLOT.has(verdict.reason));

const isBetter = (tried: Verdict, before: Verdict) =>
  tried.outcome === 'accepted' ||
  (tried.outcome === 'deferred' &&
    (before.outcome === 'suppressed' ||
      (before.outcome === 'deferred' && tried.releaseAt < before.releaseAt)));

/** The held messages a message of `relevance` may bump, in the order they are tried. */
export function bumpable(pending: Iterable<Held>, relevance: number, verdict: Verdict, now: number): Held[] {
  const out: Held[] = [];
  for (const held of pending) {
    const r = held.facts.relevance;
    if (held.facts.kind !== 'marketing' || r === undefined || r >= relevance || held.digest) continue;
    if (held.releaseAt <= now) continue;
    if (verdict.outcome === 'deferred' && held.releaseAt >= verdict.releaseAt) continue;
    out.push(held);
  }
  return out
    .sort(
      (a, b) =>
        (a.facts.relevance ?? 0) - (b.facts.relevance ?? 0) ||
        b.releaseAt - a.releaseAt ||
        (a.facts.key < b.facts.key ? -1 : a.facts.key > b.facts.key ? 1 : 0),
    )
    .slice(0, MAX_PREEMPTION_TRIES);
}

/** The send a verdict reserves or makes (none for a suppression). */
function sendOf(facts: MessageFacts, verdict: Verdict, now: number): Send[] {
  if (verdict.outcome === 'suppressed') return [];
  return [
    {
      key: facts.key,
      at: verdict.outcome === 'deferred' ? verdict.releaseAt : now,
      channel: verdict.channel,
      kind: facts.kind,
      category: facts.category,
      campaignId: facts.campaignId,
    },
  ];
}

/**
 * The pre-emption a message's decision makes, if any: the message's better verdict, and the held message
 * it bumped (none when that one still fits in its slot beside it). Undefined: the verdict stands.
 */
export function preempt(
  view: CustomerView & { pending: ReadonlyMap<string, Held> },
  facts: MessageFacts,
  verdict: Verdict,
  policy: CompiledPolicy,
  now: number,
  options: DecideOptions,
): { verdict: Verdict; bumped?: Bumped | undefined } | undefined {
  if (facts.kind !== 'marketing' || facts.relevance === undefined || cannotBump(verdict)) return undefined;
  for (const held of bumpable(view.pending.values(), facts.relevance, verdict, now)) {
    const without = {
      ...view,
      sends: view.sends.filter((s) => s.key !== held.facts.key),
      pending: { size: view.pending.size - 1 },
    };
    const tried = decide(without, facts, policy, now, options);
    if (!isBetter(tried, verdict)) continue;
    const beside = {
      ...without,
      sends: [...without.sends, ...sendOf(facts, tried, now)],
      pending: { size: without.pending.size + (tried.outcome === 'deferred' ? 1 : 0) },
    };
    // Decided again as its release would decide it: at the moment it had reserved, its relevance judged.
    const again = decide(
      beside,
      { ...held.facts, notBefore: undefined, relevance: undefined },
      policy,
      held.releaseAt,
      { ...options, releasableFrom: now },
    );
    // Still fitting in its slot it keeps it (on the channel that takes it then), unless the newcomer's
    // deferral took its place among the MAX_DEFERRED a customer may hold.
    let bumped: Verdict;
    if (again.outcome === 'accepted' && beside.pending.size < MAX_DEFERRED) {
      const reserved = view.sends.find((s) => s.key === held.facts.key);
      if (reserved?.channel === again.channel) return { verdict: tried };
      bumped = { ...again, outcome: 'deferred', releaseAt: held.releaseAt, ...PREEMPTED };
    } else if (again.outcome === 'deferred') bumped = again;
    else bumped = { outcome: 'suppressed', channel: held.facts.channel, ...PREEMPTED };
    return { verdict: tried, bumped: { key: held.facts.key, verdict: bumped } };
  }
  return undefined;
}
