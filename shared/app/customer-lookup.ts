/**
 * What Governor holds about one customer, for support: the preferences and consents (each with its
 * source and time), the hard suppressions, the deferred messages still waiting, and the decisions the
 * customer's log still remembers, with their reasons. One read of the customer's partition (the same
 * query erasure uses), replayed with the policy versions its entries name.
 *
 * The log keeps only a keyed hash of each messageId, so a decision is named by its messageId only when
 * the caller asks about one (`messageId`, hashed and matched) or when its message is still deferred (the
 * deferred message carries its id).
 */
import * as z from 'zod';
import type { Decided, EntryResult } from '../domain/customer-log.ts';
import type { Verdict } from '../domain/decision.ts';
import {
  CHANNELS,
  channelSchema,
  idSchema,
  kindSchema,
  OUTCOMES,
  preferencesSchema,
  REASONS,
  timestampSchema,
} from '../domain/schemas.ts';
import { type CustomerStore, type DeferredMessage, LEGACY_LIFE } from '../ports.ts';
import type { CustomerLog } from './customers.ts';

export const customerLookupQuery = z.strictObject({
  messageId: idSchema
    .optional()
    .meta({ description: 'a messageId to look for among the decisions (hashed as the log keeps it)' }),
});
export type CustomerLookupQuery = z.infer<typeof customerLookupQuery>;

const verdictFields = {
  outcome: z.enum(OUTCOMES),
  reason: z
    .enum(REASONS)
    .optional()
    .meta({ description: 'why it was suppressed (suppressed decisions only)' }),
  rule: z.string().optional().meta({
    description:
      'the rule that suppressed or deferred it: a cap id, quietHours, relevance, expiresAt, notBefore, …',
  }),
  channel: channelSchema.meta({
    description: 'the channel decided: an alternate channel when the one asked for was not allowed',
  }),
  releaseAt: timestampSchema.optional().meta({ description: 'when a deferred message was to go' }),
  policyVersion: z.int(),
};

export const customerDecisionSchema = z.object({
  at: timestampSchema,
  ...verdictFields,
  requestedChannel: channelSchema
    .optional()
    .meta({ description: 'the channel the message asked for (absent in logs written before it was kept)' }),
  kind: kindSchema.optional(),
  category: idSchema.optional(),
  campaignId: idSchema.optional(),
  messageId: idSchema.optional().meta({
    description: 'known when it is the messageId asked about, or when the message is still deferred',
  }),
  pending: z.boolean().meta({ description: 'a deferred message still waiting for its release' }),
  release: z
    .object({ at: timestampSchema, ...verdictFields })
    .optional()
    .meta({ description: 'what the release of a deferred message decided, while the log still holds it' }),
});
export type CustomerDecision = z.infer<typeof customerDecisionSchema>;

export const deferredSummarySchema = z.object({
  messageId: idSchema,
  channel: channelSchema,
  kind: kindSchema,
  category: idSchema.optional(),
  campaignId: idSchema.optional(),
  releaseAt: timestampSchema,
  expiresAt: timestampSchema.optional(),
  policyVersion: z.int(),
  rule: z.string().optional().meta({ description: 'what it waits for: quietHours, a cap id, notBefore' }),
});

export const customerLookupSchema = z.object({
  customerId: idSchema,
  known: z.boolean().meta({
    description: 'whether Governor holds anything about the customer (false: never seen, or erased)',
  }),
  preferences: preferencesSchema,
  suppressions: z
    .array(z.object({ channel: channelSchema, reason: z.enum(['hard_bounce', 'complained']) }))
    .meta({ description: 'channels blocked even for transactional messages' }),
  deferred: z.array(deferredSummarySchema).meta({ description: 'deferred messages, soonest release first' }),
  decisions: z.array(customerDecisionSchema).meta({
    description:
      'the decisions the log still remembers, newest first: those of the idempotency window ' +
      '(GOVERNOR_IDEMPOTENCY_HOURS), and the older ones that still count against a cap',
  }),
  message: z
    .object({ messageId: idSchema, found: z.boolean() })
    .optional()
    .meta({ description: 'the messageId asked about, and whether a decision of it is remembered' }),
});
export type CustomerLookup = z.infer<typeof customerLookupSchema>;

export interface CustomerLookupDeps {
  customerStore: CustomerStore;
  customers: CustomerLog;
}

const iso = (t: number) => new Date(t).toISOString();
const lifeOf = (item: { life?: string | undefined } | undefined) => item?.life ?? LEGACY_LIFE;

function verdictOf(verdict: Verdict, policyVersion: number) {
  const out: z.infer<z.ZodObject<typeof verdictFields>> = {
    outcome: verdict.outcome,
    channel: verdict.channel,
    policyVersion,
  };
  if (verdict.outcome === 'suppressed') out.reason = verdict.reason;
  if (verdict.outcome !== 'accepted' && verdict.rule !== undefined) out.rule = verdict.rule;
  if (verdict.outcome === 'deferred') out.releaseAt = iso(verdict.releaseAt);
  return out;
}

/** What the raw releases in the log decided, by message key (the last release of each). */
function releasesOf(results: readonly EntryResult[]): Map<string, Decided> {
  const releases = new Map<string, Decided>();
  for (const r of results) if (r.type === 'release' && !r.stale) releases.set(r.key, r.decided);
  return releases;
}

export async function lookUpCustomer(
  deps: CustomerLookupDeps,
  customerId: string,
  query: CustomerLookupQuery = {},
): Promise<CustomerLookup> {
  const { customers } = deps;
  const held = await deps.customerStore.partition(customerId);
  const record = held.record;
  const replayed = record ? await customers.replayRecord(record, customerId) : undefined;
  const state = replayed?.state;
  // Deferred messages of another life are what an erasure left for its sweep: no longer the customer's.
  // A held item is shown where the log holds it: a message a more relevant one bumped keeps its item
  // at its old time until the release there moves or drops it.
  const deferred: DeferredMessage[] = held.deferred.flatMap((d) => {
    if (lifeOf(d) !== lifeOf(record)) return [];
    if (!state) return [d];
    const pending = state.pending.get(customers.messageKey(d.message.messageId));
    return pending ? [{ ...d, releaseAt: pending.releaseAt }] : [];
  });
  deferred.sort((a, b) => a.releaseAt - b.releaseAt);
  const named = new Map<string, string>();
  for (const d of deferred) named.set(customers.messageKey(d.message.messageId), d.message.messageId);
  const asked = query.messageId === undefined ? undefined : customers.messageKey(query.messageId);
  if (asked !== undefined && query.messageId !== undefined) named.set(asked, query.messageId);

  const releases = releasesOf(replayed?.results ?? []);
  const order = [...(state?.decisions ?? new Map<string, Decided>())];
  const decisions: CustomerDecision[] = order
    .map(([key, decided], index) => {
      const row: CustomerDecision = {
        at: iso(decided.at),
        ...verdictOf(decided.verdict, decided.policyVersion),
        pending: state?.pending.has(key) ?? false,
      };
      if (decided.channel !== undefined) row.requestedChannel = decided.channel;
      if (decided.kind !== undefined) row.kind = decided.kind;
      if (decided.category !== undefined) row.category = decided.category;
      if (decided.campaignId !== undefined) row.campaignId = decided.campaignId;
      const messageId = named.get(key);
      if (messageId !== undefined) row.messageId = messageId;
      const release = releases.get(key);
      if (release)
        row.release = { at: iso(release.at), ...verdictOf(release.verdict, release.policyVersion) };
      return { row, at: decided.at, index };
    })
    .sort((a, b) => b.at - a.at || b.index - a.index)
    .map(({ row }) => row);

  // What each deferred message waits for, as its decision (or its last release, or a bump) deferred it.
  const waiting = new Map<string, Extract<Verdict, { outcome: 'deferred' }>>();
  for (const [key, decided] of state?.decisions ?? []) {
    const verdict = state?.current.get(key) ?? releases.get(key)?.verdict ?? decided.verdict;
    if (verdict.outcome === 'deferred') waiting.set(key, verdict);
  }
  const preferences = state?.preferences ?? { channels: {}, topics: {} };
  const suppressions = CHANNELS.flatMap((channel) => {
    const reason = state?.suppressions[channel];
    return reason ? [{ channel, reason }] : [];
  });
  const lookup: CustomerLookup = {
    customerId,
    known: record !== undefined || deferred.length > 0,
    preferences,
    suppressions,
    deferred: deferred.map((d) => {
      const verdict = waiting.get(customers.messageKey(d.message.messageId));
      const rule = verdict?.rule;
      return {
        messageId: d.message.messageId,
        channel: verdict?.channel ?? d.message.channel,
        kind: d.message.kind,
        ...(d.message.category !== undefined ? { category: d.message.category } : {}),
        ...(d.message.campaignId !== undefined ? { campaignId: d.message.campaignId } : {}),
        releaseAt: iso(d.releaseAt),
        ...(d.message.expiresAt !== undefined ? { expiresAt: d.message.expiresAt } : {}),
        policyVersion: d.policyVersion,
        ...(rule !== undefined ? { rule } : {}),
      };
    }),
    decisions,
  };
  if (query.messageId !== undefined && asked !== undefined)
    lookup.message = { messageId: query.messageId, found: state?.decisions.has(asked) ?? false };
  return lookup;
}
