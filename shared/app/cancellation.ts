/**
 * A platform's view of the messages Governor holds: the status of one message
 * (`GET /v1/messages/{messageId}?customerId=…`) and its cancellation
 * (`DELETE /v1/messages/{messageId}?customerId=…`).
 *
 * The status is one read of the customer's partition (the log, the deferred messages, the delivery
 * ledger), replayed. A cancellation goes through the log: a `cancel` entry withdraws the message if the
 * log still holds it when the entry lands, so a release racing it has one outcome, whichever comes first
 * in the log (the release then finds its message gone: a stale release, which drops the item). Only then
 * is the payload deleted; if that fails, the stale release drops it at the message's time.
 */
import * as z from 'zod';
import type { EntryResult, LogEntry } from '../domain/customer-log.ts';
import { messageStateOf } from '../domain/message-status.ts';
import { channelSchema, idSchema, REASONS, timestampSchema } from '../domain/schemas.ts';
import { countedOf } from '../domain/tally.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { type Clock, type CustomerStore, LEGACY_LIFE } from '../ports.ts';
import type { Archive } from './archive.ts';
import type { DecisionCounter } from './counting.ts';
import type { Appended, CustomerLog } from './customers.ts';

export const messageQuery = z.strictObject({
  customerId: idSchema.meta({ description: 'the customer the message was sent to' }),
});

export const messageStatusSchema = z.object({
  messageId: idSchema,
  customerId: idSchema,
  status: z.enum(['deferred', 'queued', 'delivered', 'suppressed']).meta({
    description:
      'deferred: held until releaseAt; queued: accepted or released, on its way to the provider; ' +
      'delivered: the provider took it; suppressed: not sent (reason)',
  }),
  channel: channelSchema,
  releaseAt: timestampSchema.optional().meta({ description: 'when a deferred message is to go' }),
  reason: z.enum(REASONS).optional().meta({
    description: 'why it was suppressed (e.g. cancelled, preempted), or `digest` while it waits in one',
  }),
  rule: z.string().optional(),
  digestId: z
    .string()
    .optional()
    .meta({ description: 'the digest it waits in, or was delivered with (one send under this id)' }),
  policyVersion: z.int(),
});
export type MessageStatus = z.infer<typeof messageStatusSchema>;

export const cancellationSchema = z.object({
  messageId: idSchema,
  decision: z.literal('suppressed'),
  reason: z.literal('cancelled'),
  channel: channelSchema,
  policyVersion: z.int(),
});
export type Cancellation = z.infer<typeof cancellationSchema>;

export interface MessageDeps {
  customers: CustomerLog;
  customerStore: CustomerStore;
  clock: Clock;
  /** Counts each cancellation once, as a suppression (`cancelled`) after the decision. */
  counter?: DecisionCounter;
  /** Archives each cancellation that withdrew a message (it frees a slot: see archive.ts). */
  archive?: Archive | undefined;
}

const lifeOf = (item: { life?: string | undefined } | undefined) => item?.life ?? LEGACY_LIFE;
const notFound = (messageId: string) =>
  new NotFoundError(`no message ${messageId} is known for this customer`);

export async function messageStatus(
  deps: MessageDeps,
  customerId: string,
  messageId: string,
): Promise<MessageStatus> {
  const partition = await deps.customerStore.partition(customerId);
  if (!partition.record) throw notFound(messageId);
  const { state } = await deps.customers.replayRecord(partition.record, customerId);
  const found = messageStateOf(state, deps.customers.messageKey(messageId));
  if (!found) throw notFound(messageId);
  const out: MessageStatus = {
    messageId,
    customerId,
    status: found.status,
    channel: found.channel,
    policyVersion: found.policyVersion,
  };
  if (found.status === 'deferred') out.releaseAt = new Date(found.releaseAt).toISOString();
  if (found.status === 'suppressed') out.reason = found.reason;
  if (found.status !== 'suppressed' && found.digestId !== undefined) {
    out.digestId = found.digestId;
    if (found.status === 'deferred') out.reason = 'digest';
  }
  if (found.status !== 'queued' && found.rule !== undefined) out.rule = found.rule;
  if (found.status === 'queued') {
    const life = lifeOf(partition.record);
    // A digest's item is delivered with the digest, under its id.
    const sentAs = found.digestId ?? messageId;
    const delivered = partition.others.some(
      (o) => o.delivery?.messageId === sentAs && o.delivery.status === 'delivered' && lifeOf(o) === life,
    );
    if (delivered) out.status = 'delivered';
  }
  return out;
}

/**
 * Cancels a message Governor still holds: `suppressed`, `cancelled`; the same answer again for one
 * cancelled already; a 409 for one queued, delivered or suppressed otherwise; a 404 for one unknown.
 */
export async function cancelMessage(
  deps: MessageDeps,
  customerId: string,
  messageId: string,
): Promise<Cancellation> {
  const now = deps.clock.now();
  const partition = await deps.customerStore.partition(customerId);
  const life = lifeOf(partition.record);
  const item = partition.deferred.find((d) => d.message.messageId === messageId && lifeOf(d) === life);
  const done = await withdraw(deps, customerId, messageId, now, async () => {
    if (item) await deps.customerStore.deleteDeferred(item);
  });
  if (!done) throw notFound(messageId);
  const { result, appended } = done;
  const { current } = result;
  if (current.outcome !== 'suppressed' || current.reason !== 'cancelled') {
    const state = messageStateOf(appended.state, result.key);
    throw new ConflictError(
      `message ${messageId} is no longer held (${state?.status ?? current.outcome}): only a deferred message can be cancelled`,
    );
  }
  if (result.cancelled) await deps.counter?.flushIfDue();
  return {
    messageId,
    decision: 'suppressed',
    reason: 'cancelled',
    channel: current.channel,
    policyVersion: result.decided.policyVersion,
  };
}

export type CancelResult = Extract<EntryResult, { type: 'cancel' }>;

/**
 * A cancellation through the customer's log (never creating a record: a customer unknown, or erased,
 * holds nothing to cancel): undefined when the log does not know the message. When its entry withdrew
 * the message (first in the log, before any release of it), the held item goes (`removeHeld`), the
 * cancellation is archived and counted (suppressed `cancelled`, at the release stage; the caller
 * flushes the counter).
 */
export async function withdraw(
  deps: Pick<MessageDeps, 'customers' | 'counter' | 'archive'>,
  customerId: string,
  messageId: string,
  now: number,
  removeHeld: () => Promise<unknown>,
): Promise<{ result: CancelResult; appended: Appended } | undefined> {
  const entry: LogEntry = { type: 'cancel', at: now, key: deps.customers.messageKey(messageId) };
  const appended = await deps.customers.append(customerId, [entry], now, { life: LEGACY_LIFE });
  const result = appended?.entryResults[0];
  if (!appended || result?.type !== 'cancel') return undefined;
  if (result.cancelled) {
    const position = appended.positions[0];
    const archived = position && deps.archive?.add([{ customerId, entry, position, key: result.key }]);
    await removeHeld();
    // The message's decision, as its cancellation turned it out (counted at the release stage).
    deps.counter?.add([countedOf({ ...result.decided, verdict: result.current, at: now }, 'release')]);
    await archived;
  }
  return { result, appended };
}
