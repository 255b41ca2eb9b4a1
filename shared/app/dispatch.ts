/**
 * Dispatch: one queued delivery handed to its channel's provider, at most once when it succeeds. A
 * delivery ledger item per message is claimed with a lease before the provider is called and marked
 * delivered after, so a redelivered SQS message (at-least-once) never reaches the provider again once a
 * first attempt succeeded. Transient failures go back to the queue with an exponential, fully jittered
 * delay; permanent ones, and transient ones on the last allowed receive, go to the dead-letter queue
 * with their reason. Every message thus ends delivered or dead-lettered, never silently dropped.
 */
import * as z from 'zod';
import { CHANNELS, type Channel, kindSchema } from '../domain/schemas.ts';
import { logger, MetricUnit, metrics } from '../observability/index.ts';
import {
  type Clock,
  type Delivery,
  type DeliveryLedger,
  MAX_PACED_TIMEOUT_MS,
  type Provider,
  type Redelivery,
  type SendRateLimiter,
  type SendResult,
} from '../ports.ts';

// ------------------------------------------------------------------------------------------- the record

/** The queue's message body: a Delivery (shared/ports.ts), checked before anything trusts it. */
export const deliverySchema = z.object({
  messageId: z.string().min(1),
  customerId: z.string().min(1),
  channel: z.enum(CHANNELS),
  kind: kindSchema,
  category: z.string().optional(),
  campaignId: z.string().optional(),
  payload: z.record(z.string(), z.unknown()),
  acceptedAt: z.string(),
  policyVersion: z.number().int(),
  life: z.string().optional(),
}) satisfies z.ZodType<Delivery>;

/** One received SQS record, as dispatch needs it. */
export interface ReceivedRecord {
  body: string;
  receiptHandle: string;
  /** ApproximateReceiveCount: 1 on the first receive. */
  receiveCount: number;
}

export type DeliveryOutcome = {
  messageId: string;
  customerId: string;
  channel: Channel;
  campaignId?: string | undefined;
  category?: string | undefined;
  at: number;
  /** From acceptance (or release) to this outcome. */
  latencyMs?: number | undefined;
} & ({ outcome: 'delivered'; provider: string } | { outcome: 'dead_lettered'; reason: string });

export type DispatchResult =
  | { outcome: 'delivered' }
  /** Already delivered (or dead-lettered) by an earlier receive: acknowledged, nothing sent. */
  | { outcome: 'duplicate' }
  | { outcome: 'dead_lettered'; reason: string }
  /** Back to the queue, visible again in `delaySeconds`. */
  | { outcome: 'retry'; reason: string; delaySeconds: number };

export interface RetryPolicy {
  /** A transient failure on this receive is the last one: the message goes to the DLQ. */
  maxReceives: number;
  /** Backoff ceiling for the first retry; doubles with each receive. */
  baseMs: number;
  /** Backoff ceiling cap. */
  maxMs: number;
}

export interface DispatchDeps {
  /** The provider of each channel (deployment config). */
  providerFor(channel: Channel): Provider;
  ledger: DeliveryLedger;
  redelivery: Redelivery;
  rateLimiter?: SendRateLimiter | undefined;
  retry: RetryPolicy;
  clock: Clock;
  /** Uniform in [0, 1): the jitter source (Math.random; fixed in tests). */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called with every terminal outcome (delivered, dead-lettered), once per message and receive. */
  onOutcome?: (outcomes: DeliveryOutcome[]) => void;
}

/** A failure that took less than this is retried once in the same receive, after a short pause. */
const QUICK_FAILURE_MS = 1000;
const QUICK_RETRY_PAUSE_MS = [50, 250] as const;
/** SQS refuses a visibility timeout above 12 hours. */
const MAX_VISIBILITY_S = 43_200;

/** The lease of a claim: long enough for two attempts (the quick retry) of the send's timeout. */
export const leaseMs = (provider: Provider, timeoutMs = provider.timeoutMs) => 2 * timeoutMs + 2000;

// ------------------------------------------------------------------------------------- slow providers

/**
 * A provider that does not answer within its timeout may well have done the work (a receiver that
 * takes 3 s under a 3 s timeout processes every request it then sees "fail"): retrying it at the pace of
 * a fast failure sends each message again and again to a receiver that is already overloaded. So a
 * timeout is never retried in the same receive; the next send to that provider (from this process) gets
 * twice the time, up to 4 × its own timeout and at most {@link MAX_PACED_TIMEOUT_MS}, and keeps twice
 * what a slow provider took once it answers; and the message comes back no sooner than
 * {@link slowRetryFloorMs} (2^receive × the timeout). Dead-lettered after timeouts, its reason says the
 * provider was slow (`retries_exhausted:slow_provider:timeout_<ms>ms`); every timeout counts in the
 * `ProviderTimeouts` metric (dimension `provider`).
 */
export class ProviderPace {
  private current: number;
  /** Timeouts in a row, since the provider last answered. */
  consecutiveTimeouts = 0;

  constructor(
    readonly baseMs: number,
    readonly maxMs = Math.max(baseMs, Math.min(MAX_PACED_TIMEOUT_MS, 4 * baseMs)),
  ) {
    this.current = baseMs;
  }

  /** The timeout of the next send. */
  get timeoutMs(): number {
    return this.current;
  }

  timedOut(): void {
    this.consecutiveTimeouts++;
    this.current = Math.min(this.maxMs, this.current * 2);
  }

  /** The provider answered (whatever it said) after `tookMs`. */
  answered(tookMs: number): void {
    this.consecutiveTimeouts = 0;
    this.current = Math.min(this.maxMs, Math.max(this.baseMs, 2 * tookMs));
  }
}

/** After a timeout on receive `receiveCount`, the message comes back no sooner than this. */
export const slowRetryFloorMs = (receiveCount: number, timeoutMs: number) =>
  timeoutMs * 2 ** Math.min(Math.max(receiveCount, 1), 20);

/** Each provider's pace in this process (a dispatch instance on Lambda). */
const paces = new WeakMap<Provider, ProviderPace>();
export function paceOf(provider: Provider): ProviderPace {
  let pace = paces.get(provider);
  if (!pace) {
    pace = new ProviderPace(provider.timeoutMs);
    paces.set(provider, pace);
  }
  return pace;
}

/**
 * The delay before the next receive after a transient failure on receive `receiveCount`: "full
 * jitter" exponential backoff (uniform in [0, min(max, base × 2^(n−1))]), never shorter than what the
 * provider asked for, in whole seconds since SQS visibility timeouts are whole seconds.
 */
export function retryDelaySeconds(
  receiveCount: number,
  policy: Pick<RetryPolicy, 'baseMs' | 'maxMs'>,
  random: () => number,
  retryAfterMs = 0,
): number {
  const exponent = Math.min(Math.max(receiveCount, 1) - 1, 30);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  // What the provider (or its slowness) asks for is a minimum: rounded up, not to the nearest second.
  const seconds = Math.max(Math.round((random() * ceiling) / 1000), Math.ceil(retryAfterMs / 1000));
  return Math.min(MAX_VISIBILITY_S, seconds);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function latency(delivery: Delivery, at: number): number | undefined {
  const accepted = Date.parse(delivery.acceptedAt);
  return Number.isNaN(accepted) ? undefined : at - accepted;
}

function outcomeBase(delivery: Delivery, at: number) {
  return {
    messageId: delivery.messageId,
    customerId: delivery.customerId,
    channel: delivery.channel,
    campaignId: delivery.campaignId,
    category: delivery.category,
    at,
    latencyMs: latency(delivery, at),
  };
}

async function deadLetter(
  deps: DispatchDeps,
  record: ReceivedRecord,
  delivery: Delivery | undefined,
  reason: string,
): Promise<DispatchResult> {
  // The DLQ first, the ledger after: a crash between them leaves the message in both queues (its next
  // receive dead-letters it again), never in neither.
  await deps.redelivery.deadLetter({
    body: record.body,
    reason,
    receiveCount: record.receiveCount,
    messageId: delivery?.messageId,
    channel: delivery?.channel,
  });
  if (delivery) {
    const now = deps.clock.now();
    await deps.ledger.dead(delivery, now, reason).catch((error: unknown) => {
      logger.error('ledger not marked dead', { error: error as Error, messageId: delivery.messageId });
    });
    deps.onOutcome?.([{ ...outcomeBase(delivery, now), outcome: 'dead_lettered', reason }]);
  }
  logger.warn('delivery dead-lettered', { messageId: delivery?.messageId, reason });
  return { outcome: 'dead_lettered', reason };
}

/**
 * Sends once, and once more after a short pause when the first attempt failed fast and transiently;
 * never starts a send that could outlast the lease (a stalled process must not send while another,
 * having taken the expired lease, sends too).
 */
async function attempt(
  deps: DispatchDeps,
  provider: Provider,
  delivery: Delivery,
  leaseUntil: number,
): Promise<SendResult> {
  const started = deps.clock.now();
  if (started + paceOf(provider).timeoutMs > leaseUntil) return LEASE_EXPIRING;
  const first = await pacedSend(deps, provider, delivery);
  // A timeout is no quick failure, however soon the clock says it came: the provider is slow.
  if (first.ok || first.permanent || first.timedOut) return first;
  const quick =
    deps.clock.now() - started < QUICK_FAILURE_MS && (first.retryAfterMs ?? 0) <= QUICK_FAILURE_MS;
  if (!quick) return first;
  const [low, high] = QUICK_RETRY_PAUSE_MS;
  await (deps.sleep ?? defaultSleep)(low + (deps.random ?? Math.random)() * (high - low));
  await deps.rateLimiter?.acquire(delivery.channel);
  if (deps.clock.now() + paceOf(provider).timeoutMs > leaseUntil) return first;
  return pacedSend(deps, provider, delivery);
}

const LEASE_EXPIRING: SendResult = { ok: false, permanent: false, reason: 'lease_expiring' };

/** One send with the provider's current pace, which it updates. */
async function pacedSend(deps: DispatchDeps, provider: Provider, delivery: Delivery): Promise<SendResult> {
  const pace = paceOf(provider);
  const timeoutMs = pace.timeoutMs;
  const started = deps.clock.now();
  const result = await safeSend(provider, delivery, timeoutMs);
  if (!result.ok && result.timedOut) {
    pace.timedOut();
    const single = metrics.singleMetric();
    single.addDimension('provider', provider.name);
    single.addMetric('ProviderTimeouts', MetricUnit.Count, 1);
    logger.warn('provider slower than its timeout', {
      provider: provider.name,
      messageId: delivery.messageId,
      timeoutMs,
      nextTimeoutMs: pace.timeoutMs,
      consecutiveTimeouts: pace.consecutiveTimeouts,
    });
  } else pace.answered(deps.clock.now() - started);
  return result.ok || !result.timedOut ? result : { ...result, timeoutMs };
}

async function safeSend(provider: Provider, delivery: Delivery, timeoutMs: number): Promise<SendResult> {
  try {
    return await provider.send(delivery, { timeoutMs });
  } catch (error) {
    // A provider should classify its failures; one that throws is treated as transient.
    return { ok: false, permanent: false, reason: `error_${(error as Error).name ?? 'unknown'}` };
  }
}

/**
 * Dispatches one received record. Returns what became of it; a `retry` must be reported to the queue as
 * a failed record (its visibility is already set to the backoff). Throws when the ledger or the queue
 * fails: the record then fails too and comes back after the queue's visibility timeout.
 */
export async function dispatchRecord(deps: DispatchDeps, record: ReceivedRecord): Promise<DispatchResult> {
  const parsed = deliverySchema.safeParse(safeJson(record.body));
  if (!parsed.success) return deadLetter(deps, record, undefined, 'malformed_delivery');
  const delivery = parsed.data;
  const provider = deps.providerFor(delivery.channel);

  await deps.rateLimiter?.acquire(delivery.channel);
  const now = deps.clock.now();
  const leaseUntil = now + leaseMs(provider, paceOf(provider).timeoutMs);
  const claim = await deps.ledger.claim(delivery, provider.name, now, leaseUntil);
  if (!claim.claimed) {
    const entry = claim.entry;
    if (entry?.status === 'delivered') return { outcome: 'duplicate' };
    // Somebody holds the lease (a concurrent receive of a duplicate, or a sender that crashed): look
    // again when it runs out.
    const waitMs = Math.max(0, (entry?.leaseUntil ?? now) - now) + 1000;
    const delaySeconds = Math.min(MAX_VISIBILITY_S, Math.ceil(waitMs / 1000));
    await deps.redelivery.retryLater(record.receiptHandle, delaySeconds);
    return { outcome: 'retry', reason: 'lease_held', delaySeconds };
  }

  const result = await attempt(deps, provider, delivery, leaseUntil);
  if (result.ok) {
    const at = deps.clock.now();
    // The provider has it: whatever happens to this write, the message is delivered and acknowledged.
    await deps.ledger.delivered(delivery, at, result.providerMessageId).catch((error: unknown) => {
      logger.error('ledger not marked delivered', { error: error as Error, messageId: delivery.messageId });
    });
    deps.onOutcome?.([{ ...outcomeBase(delivery, at), outcome: 'delivered', provider: provider.name }]);
    return { outcome: 'delivered' };
  }
  if (result.permanent) return deadLetter(deps, record, delivery, result.reason);
  const slowMs = result.timedOut ? result.timeoutMs : undefined;
  if (record.receiveCount >= deps.retry.maxReceives) {
    const reason = slowMs !== undefined ? `slow_provider:timeout_${slowMs}ms` : result.reason;
    return deadLetter(deps, record, delivery, `retries_exhausted:${reason}`);
  }

  await deps.ledger
    .giveBack(delivery, claim.attempts, deps.clock.now(), result.reason)
    .catch((error: unknown) => {
      // The lease then simply runs out before the next receive may send.
      logger.warn('ledger lease not released', { error: error as Error, messageId: delivery.messageId });
    });
  const delaySeconds = retryDelaySeconds(
    record.receiveCount,
    deps.retry,
    deps.random ?? Math.random,
    // A slow provider is given room: not back before 2^receive × the timeout it did not answer within.
    Math.max(
      result.retryAfterMs ?? 0,
      slowMs !== undefined ? Math.min(deps.retry.maxMs, slowRetryFloorMs(record.receiveCount, slowMs)) : 0,
    ),
  );
  await deps.redelivery.retryLater(record.receiptHandle, delaySeconds);
  logger.info('delivery will be retried', {
    messageId: delivery.messageId,
    reason: result.reason,
    receiveCount: record.receiveCount,
    delaySeconds,
  });
  return { outcome: 'retry', reason: result.reason, delaySeconds };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
