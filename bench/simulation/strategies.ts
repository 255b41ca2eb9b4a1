/**
 * The strategies compared, run one customer at a time:
 *
 * - before: no Governor — the platform sends every message when it schedules it;
 * - through the engine (the governor policy, or the FCFS policy): each message is appended to the
 *   customer's ordered log and decided by `replay`, exactly as the send function does (append, then
 *   decide); a deferred message is released at its `releaseAt` by a `release` entry, as the release
 *   function does. The log is compacted after each entry with the engine's own `compact`, so each
 *   replay decides only the new entry;
 * - the offline optimum: with hindsight, per customer, the most relevant messages that fit the same
 *   caps. Greedy by relevance, highest first, each placed at the earliest moment the engine finds free
 *   (caps, gap, quiet hours, expiry; the engine's `decide` is the feasibility check). Rolling caps make
 *   the exact problem a hard packing problem: the greedy is an approximation of the optimum, not a proof.
 */

import { type CustomerBase, compact, type LogEntry, replay } from '#shared/domain/customer-log.ts';
import { type CompiledPolicy, type CustomerView, decide, type Send } from '#shared/domain/decision.ts';
import type { Channel, Reason } from '#shared/domain/schemas.ts';
import type { SimMessage } from './campaigns.ts';
import type { SimCustomer } from './population.ts';

export interface Delivery {
  key: string;
  at: number;
  channel: Channel;
  relevance: number;
}

export interface Suppression {
  channel: Channel;
  reason: Reason;
  /** Suppressed when its release came, after a deferral. */
  atRelease: boolean;
}

export interface StrategyRun {
  delivered: Delivery[];
  suppressed: Suppression[];
  /** Messages deferred at least once, and the total time they waited until delivered. */
  deferred: number;
  deferredDelivered: number;
  deferralWaitMs: number;
}

export function runBefore(messages: readonly SimMessage[]): StrategyRun {
  return {
    delivered: messages.map((m) => ({
      key: m.facts.key,
      at: m.at,
      channel: m.facts.channel,
      relevance: m.facts.relevance,
    })),
    suppressed: [],
    deferred: 0,
    deferredDelivered: 0,
    deferralWaitMs: 0,
  };
}

interface Release {
  key: string;
  releaseAt: number;
}

export function runThroughEngine(
  customer: SimCustomer,
  messages: readonly SimMessage[],
  compiled: CompiledPolicy,
): StrategyRun {
  const policyVersion = compiled.policy.version;
  const policies = () => compiled;
  const byKey = new Map(messages.map((m) => [m.facts.key, m]));
  const run: StrategyRun = {
    delivered: [],
    suppressed: [],
    deferred: 0,
    deferredDelivered: 0,
    deferralWaitMs: 0,
  };
  let base: CustomerBase = { preferences: customer.preferences, suppressions: {} };
  let log: LogEntry[] = [];
  const releases: Release[] = []; // kept sorted by releaseAt
  const wasDeferred = new Set<string>();
  let next = 0;

  const deliver = (key: string, at: number, channel: Channel) => {
    const m = byKey.get(key);
    if (!m) throw new Error(`unknown message ${key}`);
    run.delivered.push({ key, at, channel, relevance: m.facts.relevance });
    if (wasDeferred.has(key)) {
      run.deferredDelivered++;
      run.deferralWaitMs += at - m.at;
    }
  };
  const schedule = (key: string, releaseAt: number) => {
    if (!wasDeferred.has(key)) run.deferred++;
    wasDeferred.add(key);
    let i = releases.length;
    while (i > 0 && (releases[i - 1]?.releaseAt ?? 0) > releaseAt) i--;
    releases.splice(i, 0, { key, releaseAt });
  };

  while (next < messages.length || releases.length > 0) {
    const message = messages[next];
    const release = releases[0];
    // A release due at the same moment as a new message runs first: its slot was reserved earlier.
    const entry: LogEntry =
      release && (!message || release.releaseAt <= message.at)
        ? {
            type: 'release',
            at: release.releaseAt,
            policyVersion,
            key: release.key,
            releaseAt: release.releaseAt,
          }
        : {
            type: 'message',
            at: (message as SimMessage).at,
            policyVersion,
            facts: (message as SimMessage).facts,
          };
    if (entry.type === 'release') releases.shift();
    else next++;

    const { state, results } = replay(base, [...log, entry], policies);
    const result = results[results.length - 1];
    if (!result || result.type === 'other' || (result.type === 'release' && result.stale)) {
      throw new Error(`unexpected replay result for ${entry.type} at ${entry.at}`);
    }
    const { verdict } = result.decided;
    if (verdict.outcome === 'accepted')
      deliver(result.key, entry.type === 'release' ? entry.releaseAt : entry.at, verdict.channel);
    else if (verdict.outcome === 'deferred') schedule(result.key, verdict.releaseAt);
    else
      run.suppressed.push({
        channel: verdict.channel,
        reason: verdict.reason,
        atRelease: entry.type === 'release',
      });

    ({ base, entries: log } = compact(state, entry.at, { horizonMs: compiled.horizonMs, idempotencyMs: 0 }));
  }
  return run;
}

/**
 * The offline optimum (greedy, see above). `limit` caps how many messages it may deliver: with the
 * governor's own count, it answers "delivering as many as the governor did, how relevant could they
 * have been?".
 */
export function runOptimum(
  customer: SimCustomer,
  messages: readonly SimMessage[],
  compiled: CompiledPolicy,
  limit = Number.POSITIVE_INFINITY,
): Delivery[] {
  const sends: Send[] = [];
  const view: CustomerView = { preferences: customer.preferences, suppressions: {}, sends };
  const delivered: Delivery[] = [];
  const order = [...messages].sort(
    (a, b) => b.facts.relevance - a.facts.relevance || a.at - b.at || a.facts.key.localeCompare(b.facts.key),
  );
  for (const m of order) {
    if (delivered.length >= limit) break;
    // Without a relevance the engine applies no threshold: here it only checks what fits.
    const verdict = decide(view, { ...m.facts, relevance: undefined }, compiled, m.at);
    if (verdict.outcome === 'suppressed') continue;
    const at = verdict.outcome === 'deferred' ? verdict.releaseAt : m.at;
    const { key, kind, category, campaignId } = m.facts;
    sends.push({ key, at, channel: verdict.channel, kind, category, campaignId });
    delivered.push({ key, at, channel: verdict.channel, relevance: m.facts.relevance });
  }
  return delivered.sort((a, b) => a.at - b.at);
}
