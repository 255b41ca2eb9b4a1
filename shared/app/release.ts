/**
 * Release: deferred messages whose time has come go back through the decision. Each run reads only the
 * due ones (the `due` index, minute buckets from the release cursor to now), appends one `release`
 * entry per message to its customer's log (one write per customer), and acts on what replay decided:
 * accepted → queued for delivery, deferred again → held under its new release time, suppressed (opted
 * out meanwhile, expired…) → dropped with its reason.
 *
 * Crash and concurrency safety come from the log: a release entry that finds the message no longer
 * pending at that time is `stale` (somebody released it first), and the stale path repairs whatever the
 * first releaser may not have finished — it re-queues a message the log shows as released and counted
 * (delivery is idempotent per message), re-holds one under the time the log has, drops the rest. So two
 * runs at once never deliver twice, and a run that dies half-way loses nothing.
 *
 * A release entry is appended only to the life of the customer's record the message was deferred in,
 * never creating a record: a message whose customer was erased meanwhile is dropped (and counted as
 * erased), not released. Each run also runs the erasures' sweeps that have come due (erasure.ts).
 */
import type { EntryResult, LogEntry } from '../domain/customer-log.ts';
import type { ArmOf } from '../domain/decision.ts';
import type { Channel, Message } from '../domain/schemas.ts';
import { logger } from '../observability/index.ts';
import {
  type Clock,
  type DeferredMessage,
  type DeferredStore,
  type Delivery,
  type DeliveryQueue,
  LEGACY_LIFE,
  type ReleaseCursor,
} from '../ports.ts';
import type { Archivable, Archive } from './archive.ts';
import type { Appended, CustomerLog } from './customers.ts';
import type { Erasures } from './erasure.ts';
import { perCustomer } from './per-customer.ts';
import type { PolicyCache } from './policy-cache.ts';
import { toDelivery } from './send.ts';

export interface ReleaseOutcome {
  messageId: string;
  customerId: string;
  channel: Channel;
  campaignId?: string | undefined;
  category?: string | undefined;
  outcome: 'accepted' | 'suppressed';
  reason?: string | undefined;
  rule?: string | undefined;
  /** The release time the message had reserved. */
  releaseAt: number;
  at: number;
  policyVersion: number;
  /** The experiment and arm the release decided in (absent: none ran). */
  experiment?: ArmOf | undefined;
}

export interface ReleaseDeps {
  customers: CustomerLog;
  policies: PolicyCache;
  deferred: DeferredStore;
  queue: DeliveryQueue;
  cursor: ReleaseCursor;
  /** Runs erasures' sweeps as they come due, and drops what an erased customer left. */
  erasures: Erasures;
  clock: Clock;
  /** Called once per run with the releases decided for the first time: accepted, or suppressed. */
  onReleased?: (outcomes: ReleaseOutcome[]) => void;
  /** Archives every release decided (not the stale ones, which change nothing): see archive.ts. */
  archive?: Archive | undefined;
}

export interface ReleaseOptions {
  /** Deferred messages read per query round. */
  limit?: number;
  /** Stop starting new rounds after this long (the function's timeout, less a margin). */
  budgetMs?: number;
}

export interface ReleaseSummary {
  from: number;
  until: number;
  due: number;
  accepted: number;
  deferred: number;
  suppressed: number;
  /** Stale releases whose leftovers were repaired (re-queued, re-held or dropped). */
  repaired: number;
  /** Deferred messages of erased customers dropped (met by the release, or by an erasure's sweep). */
  erased: number;
  /** Erasure sweeps run. */
  swept: number;
  failed: number;
  /** The cursor after the run, when it moved. */
  cursor?: number | undefined;
}

const MINUTE = 60_000;
/**
 * The cursor stays this far behind now: a deferred message written late (a slow send, clock skew between
 * machines) into a minute already read is still found by the next runs.
 */
export const RELEASE_LAG_MS = 2 * MINUTE;
/**
 * How late after its time a deferred message may be released besides the release interval: a run
 * starting late (scheduling, a cold start), reaching the message late in a long run, a clock a few
 * seconds ahead of the decider's. With the interval it makes the release margin every decision keeps
 * between a deferral and the message's expiry (GOVERNOR_RELEASE_INTERVAL_S, 60 s deployed, + 30 s).
 */
export const RELEASE_LAG_ALLOWANCE_MS = 30_000;

/** The release margin of a deployment whose release runs every `intervalS` seconds. */
export const releaseMarginMs = (intervalS: number) => Math.round(intervalS * 1000) + RELEASE_LAG_ALLOWANCE_MS;
/** Without a cursor (first run), look back this far. */
export const INITIAL_LOOKBACK_MS = 60 * MINUTE;
/** At most this many minutes are read per run, so that catching up after a long stop is spread out. */
export const MAX_SPAN_MS = 6 * 60 * MINUTE;
const MAX_ROUNDS = 50;

const minuteOf = (t: number) => t - (((t % MINUTE) + MINUTE) % MINUTE);
const idOf = (d: DeferredMessage) => `${d.message.customerId} ${d.message.messageId} ${d.releaseAt}`;
const lifeOf = (d: DeferredMessage) => d.life ?? LEGACY_LIFE;

interface Plan {
  enqueue: { deferred: DeferredMessage; delivery: Delivery }[];
  /** Held again: the item as read, and as it is written back under its new time. */
  hold: { deferred: DeferredMessage; next: DeferredMessage }[];
  remove: DeferredMessage[];
  outcomes: ReleaseOutcome[];
  failed: DeferredMessage[];
  archivable: Archivable[];
  counts: { accepted: number; deferred: number; suppressed: number; repaired: number; erased: number };
}

/** Releases what is due now. Safe to run concurrently with itself, and to kill at any point. */
export async function releaseDue(deps: ReleaseDeps, options: ReleaseOptions = {}): Promise<ReleaseSummary> {
  const limit = options.limit ?? 500;
  const started = deps.clock.now();
  const now = started;
  const cursor = await deps.cursor.read();
  const from = cursor?.minute ?? minuteOf(now - INITIAL_LOOKBACK_MS);
  const until = Math.min(now, from + MAX_SPAN_MS);
  const summary: ReleaseSummary = {
    from,
    until,
    due: 0,
    accepted: 0,
    deferred: 0,
    suppressed: 0,
    repaired: 0,
    erased: 0,
    swept: 0,
    failed: 0,
  };
  const handled = new Set<string>();
  /** The earliest release time left behind (failed) or given anew (held) at or before `until`. */
  let floor = Number.POSITIVE_INFINITY;
  let complete = false;

  for (let round = 0; round < MAX_ROUNDS; round++) {
    const due = await deps.deferred.due(from, until, limit);
    const fresh = due.filter((d) => !handled.has(idOf(d)));
    if (fresh.length === 0) {
      complete = due.length < limit;
      break;
    }
    for (const d of fresh) handled.add(idOf(d));
    summary.due += fresh.length;
    const plan = await decideReleases(deps, fresh, now);
    await Promise.all([carryOut(deps, plan), deps.archive?.add(plan.archivable)]);
    deps.onReleased?.(plan.outcomes);
    summary.accepted += plan.counts.accepted;
    summary.deferred += plan.counts.deferred;
    summary.suppressed += plan.counts.suppressed;
    summary.repaired += plan.counts.repaired;
    summary.erased += plan.counts.erased;
    summary.failed += plan.failed.length;
    for (const d of plan.failed) floor = Math.min(floor, d.releaseAt);
    for (const h of plan.hold) floor = Math.min(floor, h.next.releaseAt);
    if (due.length < limit) {
      complete = true;
      break;
    }
    if (options.budgetMs !== undefined && deps.clock.now() - started > options.budgetMs) break;
  }

  // Erasures' sweeps due by now; one that fails is found again by the next run.
  for (const sweep of await deps.erasures.due(from, until)) {
    try {
      summary.erased += await deps.erasures.sweep(sweep);
      summary.swept++;
    } catch (error) {
      logger.error('erasure sweep failed; retried next run', { error: error as Error });
      summary.failed++;
      floor = Math.min(floor, sweep.at);
    }
  }

  if (complete) {
    const next = minuteOf(Math.min(until, now - RELEASE_LAG_MS, floor));
    if (next > from && (await deps.cursor.write(next, cursor))) summary.cursor = next;
  }
  if (summary.due > 0 || summary.failed > 0 || summary.swept > 0)
    logger.info('deferred messages released', { ...summary });
  return summary;
}

/** Appends the release entries, one write per customer, and plans what to do with each message. */
async function decideReleases(deps: ReleaseDeps, due: DeferredMessage[], now: number): Promise<Plan> {
  const plan: Plan = {
    enqueue: [],
    hold: [],
    remove: [],
    outcomes: [],
    failed: [],
    archivable: [],
    counts: { accepted: 0, deferred: 0, suppressed: 0, repaired: 0, erased: 0 },
  };
  const policy = await deps.policies.current();
  // One write per customer and life: a customer erased and written to again has a deferred message of
  // each life only in the window before the sweep, and the old life's are not the new record's.
  await perCustomer(
    due,
    (d) => `${lifeOf(d)} ${d.message.customerId}`,
    async (items) => {
      const first = items[0] as DeferredMessage;
      const customerId = first.message.customerId;
      const life = lifeOf(first);
      const entries: LogEntry[] = items.map((d) =>
        deps.customers.releaseEntry(d.message.messageId, d.releaseAt, now, policy.policy.version),
      );
      let appended: Appended | undefined;
      try {
        // Never creates a record: the customer may have been erased since the message was deferred.
        appended = await deps.customers.append(customerId, entries, now, { life });
        if (!appended) {
          plan.counts.erased += await deps.erasures.dropLeftovers(customerId, items);
          return;
        }
      } catch (error) {
        logger.error('release not recorded; retried next run', { error: error as Error, customerId });
        plan.failed.push(...items);
        return;
      }
      const { entryResults, state, positions } = appended;
      items.forEach((d, i) => {
        const result = entryResults[i];
        const position = positions[i];
        const entry = entries[i];
        if (result?.type === 'release' && !result.stale && position && entry)
          plan.archivable.push({
            customerId,
            entry: { ...entry, at: result.decided.at },
            position,
            key: result.key,
            verdict: result.decided.verdict,
            experiment: result.decided.experiment,
          });
        planOne(plan, d, result, state, policy.policy.version, now);
      });
    },
  );
  return plan;
}

function planOne(
  plan: Plan,
  d: DeferredMessage,
  result: EntryResult | undefined,
  state: Appended['state'],
  policyVersion: number,
  now: number,
): void {
  if (result?.type !== 'release') {
    plan.failed.push(d);
    return;
  }
  if (!result.stale) {
    const { decided } = result;
    const { verdict } = decided;
    if (verdict.outcome === 'accepted') {
      plan.counts.accepted++;
      const accepted = { channel: verdict.channel, policyVersion: decided.policyVersion, acceptedAt: now };
      plan.enqueue.push({ deferred: d, delivery: toDelivery(d.message, accepted, d.life) });
      plan.outcomes.push({
        ...outcomeOf(d, 'accepted', verdict.channel, decided.policyVersion, now),
        ...(decided.experiment ? { experiment: decided.experiment } : {}),
      });
    } else if (verdict.outcome === 'deferred') {
      plan.counts.deferred++;
      plan.hold.push({
        deferred: d,
        next: { ...d, releaseAt: verdict.releaseAt, policyVersion: decided.policyVersion },
      });
    } else {
      plan.counts.suppressed++;
      plan.remove.push(d);
      plan.outcomes.push({
        ...outcomeOf(d, 'suppressed', verdict.channel, decided.policyVersion, now),
        ...(decided.experiment ? { experiment: decided.experiment } : {}),
        reason: verdict.reason,
        rule: verdict.rule,
      });
    }
    return;
  }

  // Stale: another release of this message came first. Finish what it may have left undone.
  plan.counts.repaired++;
  const key = result.key;
  const pending = state.pending.get(key);
  if (pending) {
    // Held again under another time: make sure the held item has that time.
    plan.hold.push({
      deferred: d,
      next: { ...d, releaseAt: pending.releaseAt, policyVersion: pending.policyVersion },
    });
    return;
  }
  const send = state.sends.find((s) => s.key === key);
  if (send && state.decisions.has(key)) {
    // Released and counted as sent: queue it again (dispatch delivers a messageId once), then drop it.
    const accepted = { channel: send.channel, policyVersion, acceptedAt: send.at };
    const delivery = toDelivery(d.message, accepted, d.life);
    plan.enqueue.push({ deferred: d, delivery });
    return;
  }
  plan.remove.push(d);
}

function outcomeOf(
  d: DeferredMessage,
  outcome: ReleaseOutcome['outcome'],
  channel: Channel,
  policyVersion: number,
  at: number,
): ReleaseOutcome {
  const m: Message = d.message;
  return {
    messageId: m.messageId,
    customerId: m.customerId,
    channel,
    campaignId: m.campaignId,
    category: m.category,
    outcome,
    releaseAt: d.releaseAt,
    at,
    policyVersion,
  };
}

/** Queues, re-holds and drops; a failed step leaves the deferred item for the next run to repair. */
async function carryOut(deps: ReleaseDeps, plan: Plan): Promise<void> {
  const [queued, held] = await Promise.all([
    deps.queue
      .enqueue(plan.enqueue.map((e) => e.delivery))
      .then(() => true)
      .catch((error: unknown) => {
        logger.error('released messages not queued; retried next run', { error: error as Error });
        return false;
      }),
    deps.deferred
      .put(
        plan.hold.map((h) => h.next),
        deps.clock.now(),
      )
      .then(() => true)
      .catch((error: unknown) => {
        logger.error('deferred messages not held again; retried next run', { error: error as Error });
        return false;
      }),
  ]);
  if (!queued) plan.failed.push(...plan.enqueue.map((e) => e.deferred));
  if (!held) plan.failed.push(...plan.hold.map((h) => h.deferred));
  const remove = [...plan.remove, ...(queued ? plan.enqueue.map((e) => e.deferred) : [])];
  await deps.deferred.remove(remove).catch((error: unknown) => {
    // Left in place, they come back as stale releases and are dropped then.
    logger.error('released messages not removed; dropped next run', { error: error as Error });
    plan.failed.push(...remove);
  });
}
