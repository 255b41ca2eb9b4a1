/**
 * What a dry-run answers, as zod schemas (the source of the types and of the OpenAPI document), and the
 * partial result one shard of the archive gives (`ShardResult`), which merge exactly into it.
 */
import * as z from 'zod';

export const outcomeCountsSchema = z.object({
  accepted: z.number().int(),
  deferred: z.number().int(),
  suppressed: z.number().int(),
});
export type OutcomeCounts = z.infer<typeof outcomeCountsSchema>;

export const dryRunSideSchema = z.object({
  /** Accepted at the decision or at the release. */
  accepted: z.number().int(),
  /** Deferred at the decision. */
  deferred: z.number().int(),
  /** Suppressed at the decision, at the release, or dropped by an erasure (`erased`). */
  suppressed: z.number().int(),
  /** Suppressed, by reason: what the finance report counts reason by reason. */
  byReason: z.record(z.string(), z.number().int()),
  byChannel: z.record(z.string(), outcomeCountsSchema),
  /** By campaign id; `(none)` for messages without one. */
  byCampaign: z.record(z.string(), outcomeCountsSchema),
  /** The send cost of what was suppressed, at the channel costs of the policy each was decided under. */
  avoidedCost: z.number(),
  currency: z.string(),
  /** The mean relevance of the messages delivered that carried one; null when none did. */
  meanRelevanceDelivered: z.number().nullable(),
  /** Messages accepted per customer per week of the period, over the customers seen in it. */
  perCustomerPerWeek: z.object({ p50: z.number(), p90: z.number(), p99: z.number(), max: z.number() }),
});
export type DryRunSide = z.infer<typeof dryRunSideSchema>;

export const affectedCustomerSchema = z.object({
  pseudonym: z.string(),
  before: outcomeCountsSchema,
  after: outcomeCountsSchema,
});
export type AffectedCustomer = z.infer<typeof affectedCustomerSchema>;

export const dryRunResultSchema = z.object({
  /** The period replayed, [from, to). */
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  /** Archived records replayed. */
  events: z.number().int(),
  /** The policy versions in force, replayed as they were: equals what Governor decided. */
  current: dryRunSideSchema,
  /** The same traffic, in the same order, under the draft policy for the whole period. */
  draft: dryRunSideSchema,
  /** The customers whose accepted count changes most, by pseudonym. */
  mostAffected: z.array(affectedCustomerSchema),
});
export type DryRunResult = z.infer<typeof dryRunResultSchema>;

/** One side of a shard's result: sums that merge exactly. */
export interface ShardTally {
  accepted: number;
  deferred: number;
  suppressed: number;
  byReason: Record<string, number>;
  byChannel: Record<string, OutcomeCounts>;
  byCampaign: Record<string, OutcomeCounts>;
  /** Millionths of the currency unit, so that sums are exact. */
  avoidedCostMicros: number;
  relevanceSum: number;
  relevanceCount: number;
  /** Customers by the number of messages accepted for them in the period: `{ "3": 120 }`. */
  acceptedPerCustomer: Record<string, number>;
}

/** What `replayShard` gives for one shard (JSON-serialisable: it crosses worker threads and Lambda). */
export interface ShardResult {
  /** Records replayed. */
  events: number;
  current: ShardTally;
  draft: ShardTally;
  /** The shard's most affected customers (at most MOST_AFFECTED). */
  mostAffected: AffectedCustomer[];
}

export const MOST_AFFECTED = 10;
