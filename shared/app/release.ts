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
 * A digest's items (digests.ts) are released together: one `release` entry under the digest's id, its
 * items read from the customer's partition (all of them, wherever the `due` pages cut), and, accepted,
 * one delivery of the items left in it, in order, under the digest's id. A digest at its deadline is
 * accepted by the replay even with its caps full (digests.ts): this run delivers what the log decided.
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
  type CustomerStore,
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
  /**
   * Where a digest's items are read together (the customer's partition); without it, a digest is
   * released with the items the run's `due` pages found.
   */
  customerStore?: Pick<CustomerStore, 'partition'> | undefined;
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
  /** Items delivered inside a digest besides the one each digest counts as its send (accepted). */
  digested: number;
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
  /** A delivery, and the held items it delivers (a digest's: all of its items). */
  enqueue: { deferred: DeferredMessage[]; delivery: Delivery }[];
  /** Held again: the item as read, and as it is written back under its new time. */
  hold: { deferred: DeferredMessage; next: DeferredMessage }[];
  remove: DeferredMessage[];
  outcomes: ReleaseOutcome[];
  failed: DeferredMessage[];
  archivable: Archivable[];
  counts: {
    accepted: number;
    deferred: number;
    suppressed: number;
    digested: number;
    repaired: number;
    erased: number;
  };
  /** Digest items read besides the due ones: handled by this run. */
  read: DeferredMessage[];
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
    digested: 0,
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
    for (const d of plan.read) handled.add(idOf(d));
    await Promise.all([carryOut(deps, plan), deps.archive?.add(plan.archivable)]);
    deps.onReleased?.(plan.outcomes);
    summary.accepted += plan.counts.accepted;
    summary.deferred += plan.counts.deferred;
    summary.suppressed += plan.counts.suppressed;
    summary.digested += plan.counts.digested;
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
    counts: { accepted: 0, deferred: 0, suppressed: 0, digested: 0, repaired: 0, erased: 0 },
    read: [],
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
      const targets = await releaseTargets(deps, items, plan);
      const entries: LogEntry[] = targets.map((t) =>
        t.digestId === undefined
          ? deps.customers.releaseEntry(t.d.message.messageId, t.d.releaseAt, now, policy.policy.version)
          : deps.customers.releaseEntryOf(t.digestId, t.d.releaseAt, now, policy.policy.version),
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
        plan.failed.push(...targets.flatMap((t) => t.items));
        return;
      }
      const { entryResults, state, positions } = appended;
      targets.forEach((t, i) => {
        const { d } = t;
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
        if (t.digestId === undefined) planOne(plan, d, result, state, policy.policy.version, now);
        else planDigest(deps, plan, t.digestId, t.items, result, state, policy.policy.version, now);
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
      plan.enqueue.push({ deferred: [d], delivery: toDelivery(d.message, accepted, d.life) });
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
    plan.enqueue.push({ deferred: [d], delivery });
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
  if (!queued) plan.failed.push(...plan.enqueue.flatMap((e) => e.deferred));
  if (!held) plan.failed.push(...plan.hold.map((h) => h.deferred));
  const remove = [...plan.remove, ...(queued ? plan.enqueue.flatMap((e) => e.deferred) : [])];
  await deps.deferred.remove(remove).catch((error: unknown) => {
    // Left in place, they come back as stale releases and are dropped then.
    logger.error('released messages not removed; dropped next run', { error: error as Error });
    plan.failed.push(...remove);
  });
}

/** What one release entry releases: a message, or a digest with all its items. */
interface Target {
  d: DeferredMessage;
  digestId?: string | undefined;
  items: DeferredMessage[];
}

/**
 * A customer's due items as release entries: one per message, one per digest (its items completed
 * from the customer's partition, so that a digest cut by the `due` pages is still released whole).
 */
async function releaseTargets(deps: ReleaseDeps, due: DeferredMessage[], plan: Plan): Promise<Target[]> {
  const targets: Target[] = [];
  const digests = new Map<string, Target>();
  for (const d of due) {
    if (d.digestId === undefined) {
      targets.push({ d, items: [d] });
      continue;
    }
    const key = `${d.digestId} ${d.releaseAt}`;
    const target = digests.get(key);
    if (target) target.items.push(d);
    else {
      const t = { d, digestId: d.digestId, items: [d] };
      digests.set(key, t);
      targets.push(t);
    }
  }
  if (digests.size === 0 || !deps.customerStore) return targets;
  const first = due[0] as DeferredMessage;
  try {
    const { deferred } = await deps.customerStore.partition(first.message.customerId);
    for (const held of deferred) {
      if (held.digestId === undefined || lifeOf(held) !== lifeOf(first)) continue;
      const target = digests.get(`${held.digestId} ${held.releaseAt}`);
      if (!target || target.items.some((i) => i.message.messageId === held.message.messageId)) continue;
      target.items.push(held);
      plan.read.push(held);
    }
  } catch (error) {
    // Released with the items found; the others come back as stale releases and are repaired then.
    logger.warn('digest items not read; released with those due', { error: error as Error });
  }
  return targets;
}

/** The delivery of a digest: one message under its id, the payloads of its items in order. */
export function digestDelivery(
  digestId: string,
  items: readonly Message[],
  accepted: { channel: Channel; policyVersion: number; acceptedAt: number },
  life: string | undefined,
): Delivery {
  const first = items[0] as Message;
  return {
    messageId: digestId,
    customerId: first.customerId,
    channel: accepted.channel,
    kind: 'marketing',
    category: first.category,
    campaignId: first.campaignId,
    payload: { digestId, items: items.map((m) => m.payload) },
    acceptedAt: new Date(accepted.acceptedAt).toISOString(),
    policyVersion: accepted.policyVersion,
    ...(life === undefined ? {} : { life }),
  };
}

/**
 * What a digest's release decided, carried out: accepted, one delivery of the items left (the first
 * counted as the send, the others `digested`); deferred again, its items held under the new time;
 * suppressed (or an item that left it), dropped with its reason. Stale: another run released it first;
 * its delivery is queued again if the log shows it sent (dispatch delivers its id once), else its items
 * are held again under the time the log has, or dropped.
 */
function planDigest(
  deps: ReleaseDeps,
  plan: Plan,
  digestId: string,
  items: DeferredMessage[],
  result: EntryResult | undefined,
  state: Appended['state'],
  policyVersion: number,
  now: number,
): void {
  if (result?.type !== 'release') {
    plan.failed.push(...items);
    return;
  }
  const byKey = new Map(items.map((d) => [deps.customers.messageKey(d.message.messageId), d]));
  const life = items[0]?.life;
  if (result.stale) {
    plan.counts.repaired++;
    const sent: DeferredMessage[] = [];
    for (const [key, d] of byKey) {
      const pending = state.pending.get(key);
      if (pending) {
        plan.hold.push({
          deferred: d,
          next: { ...d, releaseAt: pending.releaseAt, digestId: pending.digest?.id },
        });
        continue;
      }
      if (state.current.get(key)?.outcome === 'accepted') sent.push(d);
      else plan.remove.push(d);
    }
    const channel =
      sent[0] && state.current.get(deps.customers.messageKey(sent[0].message.messageId))?.channel;
    if (channel) {
      const accepted = { channel, policyVersion, acceptedAt: now };
      plan.enqueue.push({
        deferred: sent,
        delivery: digestDelivery(
          digestId,
          sent.map((d) => d.message),
          accepted,
          life,
        ),
      });
    }
    return;
  }
  const { decided } = result;
  const { verdict } = decided;
  const extra = decided.experiment ? { experiment: decided.experiment } : {};
  const delivered: DeferredMessage[] = [];
  for (const { key, verdict: v } of result.digest?.items ?? []) {
    const d = byKey.get(key);
    if (!d) continue;
    byKey.delete(key);
    if (v.outcome === 'accepted') {
      plan.outcomes.push({
        ...outcomeOf(d, 'accepted', v.channel, decided.policyVersion, now),
        ...extra,
        ...(delivered.length === 0 ? {} : { outcome: 'suppressed', reason: 'digest', rule: 'digest' }),
      });
      if (delivered.length > 0) plan.counts.digested++;
      else plan.counts.accepted++;
      delivered.push(d);
    } else if (v.outcome === 'deferred') {
      plan.counts.deferred++;
      plan.hold.push({
        deferred: d,
        next: { ...d, releaseAt: v.releaseAt, policyVersion: decided.policyVersion, digestId },
      });
    } else {
      plan.counts.suppressed++;
      plan.remove.push(d);
      plan.outcomes.push({
        ...outcomeOf(d, 'suppressed', v.channel, decided.policyVersion, now),
        ...extra,
        reason: v.reason,
        rule: v.rule,
      });
    }
  }
  // Items the log did not count in the digest (held under it, but not pending there): dropped.
  plan.remove.push(...byKey.values());
  if (verdict.outcome === 'accepted' && delivered.length > 0) {
    const accepted = { channel: verdict.channel, policyVersion: decided.policyVersion, acceptedAt: now };
    plan.enqueue.push({
      deferred: delivered,
      delivery: digestDelivery(
        digestId,
        delivered.map((d) => d.message),
        accepted,
        life,
      ),
    });
  }
}
