/**
 * Sending: decide each message (append, then decide, one write per customer), queue the accepted ones
 * for delivery, hold the deferred ones with their payload, answer with the decisions. A decision is only
 * answered once its consequence is durable (queued or held); when that fails the caller gets a 503 and
 * its retry, deduplicated by messageId, gets the same decision and finishes the job.
 */
import {
  conflictsWith,
  DEFAULT_RELEASE_MARGIN_MS,
  type Decided,
  type LogEntry,
} from '../domain/customer-log.ts';
import { decide } from '../domain/decision.ts';
import { explain, type Preview } from '../domain/explain.ts';
import { type Bumped, preempt } from '../domain/preemption.ts';
import type { Channel, DecisionResponse, Message } from '../domain/schemas.ts';
import { countedOf } from '../domain/tally.ts';
import { GovernorError, IdempotencyConflictError, UnavailableError } from '../errors.ts';
import type { Clock, DeferredMessage, DeferredStore, Delivery, DeliveryQueue } from '../ports.ts';
import type { Archivable, Archive } from './archive.ts';
import type { DecisionCounter } from './counting.ts';
import type { CustomerLog } from './customers.ts';
import { perCustomer } from './per-customer.ts';
import type { PolicyCache } from './policy-cache.ts';

export interface SendDeps {
  customers: CustomerLog;
  policies: PolicyCache;
  queue: DeliveryQueue;
  deferred: DeferredStore;
  clock: Clock;
  /** Counts every decision taken for the first time (never a retry's) for finance. */
  counter?: DecisionCounter;
  /** Called with every decision taken for the first time, e.g. for metrics. */
  onDecided?: (decisions: Decided[]) => void;
  /** Archives every decision taken for the first time (anonymously: see archive.ts). */
  archive?: Archive | undefined;
}

/**
 * A deferred message that a decision of this request bumped (see preemption.ts). Its held item stays
 * where it was: the release at its old time finds it no longer pending then (a stale release) and
 * re-holds it under the time the log gives it, or drops it, payload and all, when it was suppressed
 * (release.ts). So a bump costs the decision no read or write beyond its own.
 */
interface Bump {
  bumped: Bumped;
  /** The bumped message's first decision (what finance groups it by). */
  decided: Decided | undefined;
}

export function toResponse(messageId: string, decided: Decided): DecisionResponse {
  const { verdict } = decided;
  const response: DecisionResponse = {
    messageId,
    decision: verdict.outcome,
    channel: verdict.channel,
    policyVersion: decided.policyVersion,
  };
  if (verdict.outcome === 'suppressed') {
    response.reason = verdict.reason;
    if (verdict.rule !== undefined) response.rule = verdict.rule;
  }
  if (verdict.outcome === 'deferred') {
    response.releaseAt = new Date(verdict.releaseAt).toISOString();
    if (verdict.rule !== undefined) response.rule = verdict.rule;
    if (verdict.digestId !== undefined) {
      response.reason = verdict.reason;
      response.digestId = verdict.digestId;
    }
  }
  if (decided.experiment) response.experiment = { id: decided.experiment.id, arm: decided.experiment.arm };
  return response;
}

/** What a delivery says of a message's acceptance: on which channel, under which policy, when. */
export interface Acceptance {
  channel: Channel;
  policyVersion: number;
  acceptedAt: number;
}

/** The delivery of an accepted message, to the record's `life` it was decided in. */
export function toDelivery(message: Message, accepted: Acceptance, life: string | undefined): Delivery {
  return {
    messageId: message.messageId,
    customerId: message.customerId,
    channel: accepted.channel,
    kind: message.kind,
    category: message.category,
    campaignId: message.campaignId,
    payload: message.payload,
    acceptedAt: new Date(accepted.acceptedAt).toISOString(),
    policyVersion: accepted.policyVersion,
    ...(life === undefined ? {} : { life }),
  };
}

/** A retry that names another channel, kind, category or campaign than the message first decided. */
const conflictOf = (messageId: string) =>
  new IdempotencyConflictError(
    `messageId ${messageId} was already used for a message with another channel, kind, category or ` +
      'campaign: a retry must repeat the message, a new message needs a new messageId',
  );

/**
 * Decides a batch of valid messages. The answer for each is a decision, or an error for that message
 * alone (the store or the queue failed for it): one customer's trouble does not fail the others.
 */
export async function sendMessages(
  deps: SendDeps,
  messages: Message[],
): Promise<(DecisionResponse | GovernorError)[]> {
  const now = deps.clock.now();
  const policy = await deps.policies.current();

  const answers = new Array<DecisionResponse | GovernorError>(messages.length);
  const deliveries: { index: number; delivery: Delivery }[] = [];
  const deferrals: { index: number; deferred: DeferredMessage }[] = [];
  /** The decisions taken for the first time (never a retry's). */
  const firsts: Decided[] = [];
  /** The first decisions that brought their customer into an experiment's arm. */
  const enrolments: Decided[] = [];
  const archivable: Archivable[] = [];
  const bumps: Bump[] = [];

  await perCustomer(
    messages.map((_, i) => i),
    (i) => (messages[i] as Message).customerId,
    async (indexes, customerId) => {
      const entries: LogEntry[] = indexes.map((i) =>
        deps.customers.messageEntry(messages[i] as Message, now, policy.policy.version),
      );
      try {
        const appended = await deps.customers.append(customerId, entries, now);
        if (!appended) throw new Error('an unconditional append found no record');
        const { entryResults, lives, positions } = appended;
        indexes.forEach((index, j) => {
          const result = entryResults[j];
          const life = lives[j];
          const message = messages[index] as Message;
          if (result?.type !== 'message') throw new Error('replay lost an appended entry');
          const { decided } = result;
          if (result.duplicate && result.conflict) {
            answers[index] = conflictOf(message.messageId);
            return;
          }
          answers[index] = toResponse(message.messageId, decided);
          if (!result.duplicate) {
            firsts.push(decided);
            if (result.enrolled) enrolments.push(decided);
            for (const bumped of result.bumped ?? [])
              bumps.push({ bumped, decided: appended.state.decisions.get(bumped.key) });
            const position = positions[j];
            // The entry as written: a refused append writes it again, stamped later.
            const entry = entries[j];
            if (position && entry)
              archivable.push({
                customerId,
                entry: { ...entry, at: decided.at },
                position,
                key: result.key,
                verdict: decided.verdict,
                experiment: decided.experiment,
              });
          }
          // A retry queues or holds again: the first attempt may have died before doing it, and delivery
          // and release are idempotent per messageId.
          if (decided.verdict.outcome === 'accepted') {
            const { channel } = decided.verdict;
            const accepted = { channel, policyVersion: decided.policyVersion, acceptedAt: decided.at };
            deliveries.push({ index, delivery: toDelivery(message, accepted, life) });
          } else if (decided.verdict.outcome === 'deferred') {
            const deferred: DeferredMessage = {
              message,
              releaseAt: decided.verdict.releaseAt,
              policyVersion: decided.policyVersion,
            };
            if (life !== undefined) deferred.life = life;
            if (decided.verdict.digestId !== undefined) deferred.digestId = decided.verdict.digestId;
            deferrals.push({ index, deferred });
          }
        });
      } catch (error) {
        const failure =
          error instanceof GovernorError
            ? error
            : new UnavailableError('decision store failed', { cause: error });
        for (const index of indexes) answers[index] = failure;
      }
    },
  );

  // The archive's records leave beside the queue's write, but the answer does not wait for them (they
  // may linger to share a batch with the next answers'): the caller settles them before its process may
  // stop (see Archive.drain and the root's `settle`).
  void deps.archive?.add(archivable, { lingers: true });
  await Promise.all([
    deliveries.length > 0 &&
      deps.queue.enqueue(deliveries.map((d) => d.delivery)).catch((error: unknown) => {
        const failure = new UnavailableError('delivery queue failed', { cause: error });
        for (const { index } of deliveries) answers[index] = failure;
      }),
    deferrals.length > 0 &&
      deps.deferred
        .put(
          deferrals.map((d) => d.deferred),
          now,
        )
        .catch((error: unknown) => {
          const failure = new UnavailableError('deferred store failed', { cause: error });
          for (const { index } of deferrals) answers[index] = failure;
        }),
  ]);
  deps.onDecided?.(firsts);
  if (deps.counter) {
    deps.counter.add([
      ...firsts.map((d) => countedOf(d, 'decision')),
      ...enrolments.map((d) => countedOf(d, 'enrolment')),
    ]);
    // A bumped message suppressed (`preempted`) counts as a suppression after its decision, as a
    // release's would; one deferred again counts nothing yet (its release will).
    for (const { bumped, decided } of bumps)
      if (decided && bumped.verdict.outcome === 'suppressed')
        deps.counter.add([countedOf({ ...decided, verdict: bumped.verdict, at: now }, 'release')]);
    await deps.counter.flushIfDue();
  }
  return answers;
}

/**
 * The decision a message would get now, consuming nothing, and why; a message already decided gets its
 * decision (without an explanation: it was taken earlier, on what the customer's log held then), or a
 * 409 problem when it names another channel, kind, category or campaign.
 */
export async function previewMessage(
  deps: Pick<SendDeps, 'customers' | 'policies' | 'clock'>,
  message: Message,
): Promise<Preview> {
  const now = deps.clock.now();
  const policy = await deps.policies.current();
  const replayed = await deps.customers.read(message.customerId);
  const entry = deps.customers.messageEntry(message, now, policy.policy.version);
  if (entry.type !== 'message') throw new Error('not a message entry');
  const { facts } = entry;
  const earlier = replayed?.state.decisions.get(facts.key);
  if (earlier && conflictsWith(earlier, facts)) throw conflictOf(message.messageId);
  if (earlier) return toResponse(message.messageId, earlier);
  const view = replayed?.state ?? {
    preferences: { channels: {}, topics: {} },
    suppressions: {},
    sends: [],
  };
  const bound = deps.customers.boundPolicy(message.customerId, policy);
  const options = { releaseMarginMs: entry.releaseMarginMs ?? DEFAULT_RELEASE_MARGIN_MS };
  const plain = decide(view, facts, bound, now, options);
  // The slot of a less relevant deferred message it would take counts, as in the real decision.
  const verdict = (replayed && preempt(replayed.state, facts, plain, bound, now, options)?.verdict) ?? plain;
  const experiment = deps.customers.armOf(message.customerId, policy, now);
  return {
    ...toResponse(message.messageId, { verdict, policyVersion: policy.policy.version, at: now, experiment }),
    explanation: explain(view, facts, bound, verdict.channel, now),
  };
}
