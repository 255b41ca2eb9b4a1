/**
 * The strategies compared, run one customer at a time, and the upper bound they are measured against:
 *
 * - no governor: the platform sends every message when it schedules it. It knows nothing of the
 *   preference centre (only Governor does) but honours its own unsubscribe links and complaint feedback:
 *   after an unsubscribe or a complaint on a channel it sends no more marketing there;
 * - through the engine (FCFS caps, the fixed threshold, the governor): each message is appended to the
 *   customer's ordered log and decided by `replay`, exactly as the send function does (append, then
 *   decide); a deferred message is released at its `releaseAt` by a `release` entry, as the release
 *   function does; what the provider reports (the delivery) and what the customer does (opens, clicks,
 *   unsubscribes, complaints) reach the log as `POST /v1/events` puts them there (`logEntriesFor`),
 *   at the simulated time the report arrives: under a policy with a `fatigue` section the engine
 *   learns from them, under the others deliveries, opens and clicks change no decision. The log is compacted after each append with the engine's own `compact`, so each
 *   replay decides only the new entries. Nothing here re-implements a rule: the engine decides;
 * - the upper bound (not a strategy): per customer, the sum of the relevance of their k most relevant
 *   messages, for a given k, ignoring timing and caps. No strategy delivering k of the messages it may
 *   deliver to that customer can have more relevance.
 */

import type { FeedbackType, LogEntry } from '#shared/domain/customer-log.ts';
import type { CompiledPolicy } from '#shared/domain/decision.ts';
import { DueQueue, EngineRun } from '#shared/domain/engine-run.ts';
import type { EngagementEvent, EngagementType } from '#shared/domain/fatigue.ts';
import type { Channel, EVENT_TYPES } from '#shared/domain/schemas.ts';
import type { SimMessage } from './campaigns.ts';
import { CustomerReactions, ENGAGEMENT, type Reaction } from './engagement.ts';
import type { SimCustomer } from './population.ts';

export interface Delivery {
  /** The message's position in the customer's messages (a digest's: its first item's). */
  index: number;
  at: number;
  channel: Channel;
  /** The message's relevance; a digest's: the sum of its items' (each item reaches the customer). */
  relevance: number;
  /** A digest (one send): how many messages it carries. */
  items?: number | undefined;
}

/** What one strategy did to one customer, and what the customer did back. */
export interface CustomerRun {
  /** In time order. */
  delivered: Delivery[];
  /** Opens the providers report (e-mail, push), clicks (all channels). */
  opens: number;
  clicks: number;
  /** Unsubscribes and complaints, one per customer and channel at most (the channel closes after one). */
  unsubscribes: number;
  complaints: number;
  /** The engine's decisions (zero for the strategy without it). */
  suppressedByReason: Record<string, number>;
  /** Deferred messages dropped when their release came, by reason. */
  suppressedAtReleaseByReason: Record<string, number>;
  /** Messages deferred at least once, those of them delivered, and the total time those waited. */
  deferred: number;
  deferredDelivered: number;
  deferralWaitMs: number;
  /** Messages that joined a digest (reason `digest`) instead of being dropped by a cap or a gap. */
  joinedDigests: number;
}

/** What the provider and the customer do, as a campaign platform or a provider reports it to `POST /v1/events`. */
export interface SimEvent {
  type: Extract<
    (typeof EVENT_TYPES)[number],
    'delivered' | 'opened' | 'clicked' | 'unsubscribed' | 'complained'
  >;
  channel: Channel;
  at: number;
  messageKey: string;
}

const FEEDBACK: ReadonlySet<string> = new Set<FeedbackType>(['unsubscribed', 'complained']);

/**
 * The entries `POST /v1/events` appends to the customer's log for one request's events about one
 * customer (`entriesOf` in shared/app/events.ts), the request arriving at `now`: an unsubscribe or a
 * complaint becomes a `feedback` entry (once per channel and type), deliveries, opens and clicks one
 * `engagement` entry written at the request's time. The event id is what the use case derives from a
 * message id and a type (`eventIdOf`), unhashed: the simulation needs no key, and ids stay unique.
 */
export function logEntriesFor(events: readonly SimEvent[], now: number): LogEntry[] {
  const entries: LogEntry[] = [];
  const feedback = new Set<string>();
  const engagement: EngagementEvent[] = [];
  for (const event of [...events].sort((a, b) => a.at - b.at)) {
    if (FEEDBACK.has(event.type)) {
      const once = `${event.channel} ${event.type}`;
      if (feedback.has(once)) continue;
      feedback.add(once);
      entries.push({
        type: 'feedback',
        at: event.at,
        channel: event.channel,
        feedback: event.type as FeedbackType,
      });
    } else engagement.push({ id: `m:${event.messageKey}:${event.type}`, type: event.type as EngagementType });
  }
  if (engagement.length > 0) entries.push({ type: 'engagement', at: now, events: engagement });
  return entries;
}

function emptyRun(): CustomerRun {
  return {
    delivered: [],
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
  };
}

/**
 * Counts a reaction and returns the events it sends to Governor, `feedbackDelayMs` after delivery: the
 * provider's delivery report, then what the customer did, as one request.
 */
function feedback(run: CustomerRun, reaction: Reaction, d: Delivery, key: string): SimEvent[] {
  const at = d.at + ENGAGEMENT.feedbackDelayMs;
  const events: SimEvent[] = [];
  const emit = (type: SimEvent['type']) => events.push({ type, channel: d.channel, at, messageKey: key });
  emit('delivered');
  if (reaction.openReported) {
    run.opens++;
    emit('opened');
  }
  if (reaction.clicked) {
    run.clicks++;
    emit('clicked');
  }
  if (reaction.complained) {
    run.complaints++;
    emit('complained');
  }
  if (reaction.unsubscribed) {
    run.unsubscribes++;
    emit('unsubscribed');
  }
  return events;
}

export function runNoGovernor(
  customer: SimCustomer,
  messages: readonly SimMessage[],
  draws: Float64Array,
): CustomerRun {
  const run = emptyRun();
  const reactions = new CustomerReactions(customer, draws);
  const closedFrom = new Map<Channel, number>();
  messages.forEach((m, index) => {
    const { channel, relevance, key } = m.facts;
    if ((closedFrom.get(channel) ?? Number.POSITIVE_INFINITY) <= m.at) return;
    const d: Delivery = { index, at: m.at, channel, relevance };
    run.delivered.push(d);
    for (const event of feedback(run, reactions.react(index, channel, relevance, m.at), d, key)) {
      if (event.type === 'unsubscribed' || event.type === 'complained')
        closedFrom.set(channel, Math.min(closedFrom.get(channel) ?? event.at, event.at));
    }
  });
  return run;
}

/** How a strategy runs the engine. */
export interface EngineOptions {
  /**
   * First come, first served: the engine is not told the messages' relevance, so no threshold applies
   * and no message takes a less relevant one's slot (pre-emption, shared/domain/preemption.ts).
   */
  firstComeFirstServed?: boolean;
  /**
   * Pre-emption of reservations (default on, as the engine runs it); off for today's governor before
   * pre-emption, and for the fixed threshold it is compared with (the replay option `preemption`).
   */
  preemption?: boolean;
}

type Queued =
  | { kind: 'release'; at: number; key: string }
  | { kind: 'events'; at: number; events: SimEvent[] };

const bump = (counts: Record<string, number>, reason: string) => {
  counts[reason] = (counts[reason] ?? 0) + 1;
};

/**
 * One customer through the engine: the platform's messages, the releases of deferred ones and the
 * customer's events, appended to the log in the order they happen.
 */
export function runThroughEngine(
  customer: SimCustomer,
  messages: readonly SimMessage[],
  compiled: CompiledPolicy,
  draws: Float64Array,
  options: EngineOptions = {},
): CustomerRun {
  const policyVersion = compiled.policy.version;
  const policies = () => compiled;
  const indexOf = new Map(messages.map((m, i) => [m.facts.key, i]));
  const run = emptyRun();
  const reactions = new CustomerReactions(customer, draws);
  const engine = new EngineRun(
    { preferences: customer.preferences, suppressions: {} },
    policies,
    compiled.horizonMs,
    { preemption: options.preemption ?? true },
  );
  const queue = new DueQueue<Queued>();
  const wasDeferred = new Set<string>();
  let next = 0;

  const append = (entries: LogEntry[], now: number) => engine.append(entries, now);
  const factsOf = (message: SimMessage) => {
    if (!options.firstComeFirstServed) return message.facts;
    const { relevance: _judgedByNoOne, ...facts } = message.facts;
    return facts;
  };
  const deliver = (key: string, at: number, channel: Channel) => {
    const index = indexOf.get(key);
    const m = index === undefined ? undefined : messages[index];
    if (index === undefined || !m) throw new Error(`unknown message ${key}`);
    const d: Delivery = { index, at, channel, relevance: m.facts.relevance };
    run.delivered.push(d);
    if (wasDeferred.has(key)) {
      run.deferredDelivered++;
      run.deferralWaitMs += at - m.at;
    }
    const events = feedback(run, reactions.react(index, channel, d.relevance, at), d, key);
    queue.push({ kind: 'events', at: at + ENGAGEMENT.feedbackDelayMs, events });
  };
  /**
   * A digest reaches the customer as one message (one contact for the engagement model, reacting to it
   * as to its most relevant item, with its first item's draws); every item in it counts as delivered
   * relevance.
   */
  const deliverDigest = (id: string, keys: string[], at: number, channel: Channel) => {
    const items = keys.map((key) => {
      const index = indexOf.get(key);
      const m = index === undefined ? undefined : messages[index];
      if (index === undefined || !m) throw new Error(`unknown message ${key} in digest ${id}`);
      return { index, relevance: m.facts.relevance };
    });
    const first = items[0];
    if (!first) return;
    const d: Delivery = {
      index: first.index,
      at,
      channel,
      relevance: items.reduce((a, x) => a + x.relevance, 0),
      items: items.length,
    };
    run.delivered.push(d);
    const best = Math.max(...items.map((x) => x.relevance));
    const events = feedback(run, reactions.react(first.index, channel, best, at), d, id);
    queue.push({ kind: 'events', at: at + ENGAGEMENT.feedbackDelayMs, events });
  };

  /** Each held message's moment of release, as its latest verdict set it. */
  const heldUntil = new Map<string, number>();
  const hold = (key: string, at: number) => {
    if (heldUntil.get(key) === at) return;
    heldUntil.set(key, at);
    queue.push({ kind: 'release', at, key });
  };
  while (next < messages.length || queue.length > 0) {
    const message = messages[next];
    const queued = queue.peek();
    // Whatever is queued for the moment a new message comes runs first: a release's slot was reserved
    // earlier, and an event happened before the message was sent.
    if (queued && (!message || queued.at <= message.at)) {
      queue.shift();
      if (queued.kind === 'events') {
        const entries = logEntriesFor(queued.events, queued.at);
        if (entries.length > 0) append(entries, queued.at);
        continue;
      }
      // A release a pre-emption moved (or dropped) is not due at this moment any more.
      if (heldUntil.get(queued.key) !== queued.at) continue;
      heldUntil.delete(queued.key);
      const [result] = append(
        [{ type: 'release', at: queued.at, policyVersion, key: queued.key, releaseAt: queued.at }],
        queued.at,
      );
      if (result?.type !== 'release' || result.stale)
        throw new Error(`unexpected replay result for the release of ${queued.key}`);
      const { verdict } = result.decided;
      // A digest's release: one delivery of the items left in it, or held again, or dropped with them.
      if (result.digest) {
        const items = result.digest.items;
        for (const item of items)
          if (item.verdict.outcome === 'suppressed') {
            bump(run.suppressedByReason, item.verdict.reason);
            bump(run.suppressedAtReleaseByReason, item.verdict.reason);
          }
        if (verdict.outcome === 'accepted') {
          const sent = items.filter((x) => x.verdict.outcome === 'accepted').map((x) => x.key);
          deliverDigest(queued.key, sent, queued.at, verdict.channel);
        } else if (verdict.outcome === 'deferred') hold(queued.key, verdict.releaseAt);
        continue;
      }
      if (verdict.outcome === 'accepted') deliver(queued.key, queued.at, verdict.channel);
      else if (verdict.outcome === 'deferred') hold(queued.key, verdict.releaseAt);
      else {
        bump(run.suppressedByReason, verdict.reason);
        bump(run.suppressedAtReleaseByReason, verdict.reason);
      }
      continue;
    }
    if (!message) break;
    next++;
    const [result] = append(
      [{ type: 'message', at: message.at, policyVersion, facts: factsOf(message) }],
      message.at,
    );
    if (result?.type !== 'message') throw new Error(`unexpected replay result for ${message.facts.key}`);
    const { verdict } = result.decided;
    if (verdict.outcome === 'accepted') deliver(message.facts.key, message.at, verdict.channel);
    else if (verdict.outcome === 'deferred' && verdict.digestId !== undefined) {
      // It joined a digest (shared/domain/digests.ts): released with it, under the digest's id.
      run.joinedDigests++;
      hold(verdict.digestId, verdict.releaseAt);
    } else if (verdict.outcome === 'deferred') {
      run.deferred++;
      wasDeferred.add(message.facts.key);
      hold(message.facts.key, verdict.releaseAt);
    } else bump(run.suppressedByReason, verdict.reason);
    // The deferred message whose slot it took (shared/domain/preemption.ts): held to its new moment,
    // or suppressed `preempted`, as the writer that bumps it files it.
    if (!result.duplicate)
      for (const bumped of result.bumped ?? []) {
        if (bumped.verdict.outcome === 'deferred') hold(bumped.key, bumped.verdict.releaseAt);
        else if (bumped.verdict.outcome === 'suppressed') {
          heldUntil.delete(bumped.key);
          bump(run.suppressedByReason, bumped.verdict.reason);
          bump(run.suppressedAtReleaseByReason, bumped.verdict.reason);
        }
      }
  }
  return run;
}

/**
 * The relevances of a pool of messages, most relevant first, as prefix sums: `bound[k]` is the most
 * relevance any k of them can add up to.
 */
export function relevanceBound(relevances: readonly number[]): Float64Array {
  const sorted = [...relevances].sort((a, b) => b - a);
  const prefix = new Float64Array(sorted.length + 1);
  for (let k = 0; k < sorted.length; k++) prefix[k + 1] = (prefix[k] ?? 0) + (sorted[k] ?? 0);
  return prefix;
}

/** The bound for k messages; beyond the pool's size, the whole pool. */
export function boundAt(prefix: Float64Array, k: number): number {
  return prefix[Math.min(k, prefix.length - 1)] ?? 0;
}
