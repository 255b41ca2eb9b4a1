/**
 * The decision archive's record: an anonymous decision event. One record per decision taken for the
 * first time, per release outcome, and per change that alters a customer's later decisions (a
 * preference change, a feedback event, a cancellation, an erasure). No payload, no customer id, no message id.
 *
 * - `pseudonym` names the customer: HMAC(deployment secret, customer id + a random salt kept in the
 *   customer's item). Erasing the customer deletes the item, so the salt is gone and nobody (not even
 *   with the secret and the customer id) can compute the pseudonym again: the archived events can no
 *   longer be linked to the id. The salt is not derivable from what survives an erasure (the `ERASED#`
 *   markers keep the record's life, which is another random value).
 * - `ref` names the message inside its customer's stream, so that a release finds the decision that
 *   deferred it: HMAC(secret, salt + message id), keyed by the salt too, so that a message id cannot
 *   be looked up in the archive either once the salt is gone (nor without the secret before).
 * - `write` and `index` order a customer's records as the log ordered their entries: the customer
 *   log's write counter after the write that appended the entry, and the entry's index in that write.
 *   Sorting a pseudonym's records by (write, index) gives the log's order.
 *
 * Replaying a pseudonym's records in that order through the engine (`replay` of customer-log.ts)
 * reproduces its decisions: `toLogEntry` turns a record back into the log entry it was.
 */
import * as z from 'zod';
import type { LogEntry } from './customer-log.ts';
import type { ArmOf, Verdict } from './decision.ts';
import { ENGAGEMENT_EVENTS } from './fatigue.ts';
import { channelSchema, kindSchema, OUTCOMES, preferencesSchema } from './schemas.ts';

export const ARCHIVE_RECORD_VERSION = 1;

const common = {
  v: z.literal(ARCHIVE_RECORD_VERSION),
  /** When the entry was written (the decision's clock), ISO 8601 UTC with milliseconds. */
  at: z.iso.datetime(),
  pseudonym: z.string().min(1).max(64),
  write: z.number().int().nonnegative(),
  index: z.number().int().nonnegative(),
  /** The pseudonym's shard (shardOf): a customer's records all lie in one shard of each day. */
  shard: z.number().int().nonnegative(),
};

const outcome = {
  /** The holdout experiment and arm the decision was taken in (experiments.ts), so the dry-run replays it. */
  experiment: z.object({ id: z.string(), arm: z.string() }).optional(),
  outcome: z.enum(OUTCOMES),
  /** The channel decided (an alternate channel may replace the one asked for). */
  outcomeChannel: channelSchema,
  reason: z.string().optional(),
  rule: z.string().optional(),
  /** A deferral's release time. */
  releaseAt: z.iso.datetime().optional(),
};

/** A message decided for the first time (the send API). */
export const decisionRecordSchema = z.object({
  ...common,
  type: z.literal('decision'),
  ref: z.string().min(1),
  channel: channelSchema,
  kind: kindSchema,
  category: z.string().optional(),
  campaignId: z.string().optional(),
  relevance: z.number().min(0).max(1).optional(),
  notBefore: z.iso.datetime().optional(),
  expiresAt: z.iso.datetime().optional(),
  alternateChannels: z.array(channelSchema).optional(),
  /** The release margin the writer decided under, when not the default. */
  releaseMarginMs: z.number().int().nonnegative().optional(),
  policyVersion: z.number().int(),
  ...outcome,
});

/** A deferred message's release, decided again (accepted, deferred again, or suppressed). */
export const releaseRecordSchema = z.object({
  ...common,
  type: z.literal('release'),
  ref: z.string().min(1),
  /** The release time the message had reserved. */
  reservedAt: z.iso.datetime(),
  releaseMarginMs: z.number().int().nonnegative().optional(),
  policyVersion: z.number().int(),
  ...outcome,
});

/** A preference change (the whole document, as PUT stores it). */
export const preferencesRecordSchema = z.object({
  ...common,
  type: z.literal('preferences'),
  preferences: preferencesSchema,
});

/** Feedback that changes later decisions: an unsubscribe, a complaint, a hard bounce. */
export const feedbackRecordSchema = z.object({
  ...common,
  type: z.literal('feedback'),
  channel: channelSchema,
  feedback: z.enum(['unsubscribed', 'complained', 'bounced_hard']),
});

/**
 * Engagement that counted (fatigue.ts): deliveries, opens and clicks of one events request, in order,
 * without their ids (the log deduplicated them before they were archived).
 */
export const engagementRecordSchema = z.object({
  ...common,
  type: z.literal('engagement'),
  events: z.array(z.enum(ENGAGEMENT_EVENTS)).min(1),
});

/**
 * A deferred message withdrawn (the cancellation API): its slot frees, it is suppressed `cancelled`.
 * Archived only when it withdrew the message (a cancellation that found it gone changes nothing).
 */
export const cancelRecordSchema = z.object({
  ...common,
  type: z.literal('cancel'),
  ref: z.string().min(1),
});

/** The customer was erased: the messages it still had deferred are dropped (suppressed `erased`). */
export const erasureRecordSchema = z.object({
  ...common,
  type: z.literal('erasure'),
});

export const archiveRecordSchema = z.discriminatedUnion('type', [
  decisionRecordSchema,
  releaseRecordSchema,
  preferencesRecordSchema,
  feedbackRecordSchema,
  erasureRecordSchema,
  engagementRecordSchema,
  cancelRecordSchema,
]);
export type ArchiveRecord = z.infer<typeof archiveRecordSchema>;
export type DecisionRecord = z.infer<typeof decisionRecordSchema>;
export type ReleaseRecord = z.infer<typeof releaseRecordSchema>;
export type CancelRecord = z.infer<typeof cancelRecordSchema>;

/** The UTC day a record is filed under (`archive/day=YYYY-MM-DD/`). */
export const archiveDayOf = (record: Pick<ArchiveRecord, 'at'>) => record.at.slice(0, 10);

/** Shards of the archive: each day's records are filed under `shard=NN/` by pseudonym. */
export const ARCHIVE_SHARDS = 16;

/** The shard of a pseudonym (a base64url keyed hash): its first character, modulo the shard count. */
export function shardOf(pseudonym: string, shards = ARCHIVE_SHARDS): number {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const a = alphabet.indexOf(pseudonym[0] ?? 'A');
  const b = alphabet.indexOf(pseudonym[1] ?? 'A');
  return (Math.max(a, 0) * 64 + Math.max(b, 0)) % shards;
}

/** Orders one pseudonym's records as its log ordered their entries. */
export const byLogOrder = (a: ArchiveRecord, b: ArchiveRecord) => a.write - b.write || a.index - b.index;

const iso = (t: number) => new Date(t).toISOString();
const time = (t: string | undefined) => (t === undefined ? undefined : Date.parse(t));

/** The outcome fields of a verdict. */
export function outcomeFields(verdict: Verdict) {
  const fields: {
    outcome: Verdict['outcome'];
    outcomeChannel: Verdict['channel'];
    reason?: string;
    rule?: string;
    releaseAt?: string;
  } = { outcome: verdict.outcome, outcomeChannel: verdict.channel };
  setOutcome(fields, verdict);
  return fields;
}

/** The outcome fields of a verdict, set on `record` (whose own fields come first). */
function setOutcome(record: { reason?: string; rule?: string; releaseAt?: string }, verdict: Verdict): void {
  if (verdict.outcome === 'suppressed') record.reason = verdict.reason;
  if (verdict.outcome === 'deferred') record.releaseAt = iso(verdict.releaseAt);
  if (verdict.outcome !== 'accepted' && verdict.rule !== undefined) record.rule = verdict.rule;
}

/** Where a record sits in its customer's stream. */
export interface StreamPosition {
  pseudonym: string;
  shard: number;
  write: number;
  index: number;
}

/**
 * The record of a log entry, decided as `verdict` (a message or a release), at its position. Each record
 * is built as one object literal, its fields in the order they are serialised: this runs for every
 * decision, and spreading a head and the outcome into it (`{...head, ...outcome}`) cost V8 some twenty
 * times as much as the literal.
 */
export function recordOf(
  entry: LogEntry,
  position: StreamPosition,
  ref: string | undefined,
  verdict?: Verdict,
  experiment?: ArmOf,
): ArchiveRecord | undefined {
  const v = ARCHIVE_RECORD_VERSION;
  const at = iso(entry.at);
  const { pseudonym, write, index, shard } = position;
  switch (entry.type) {
    case 'message': {
      if (!verdict || ref === undefined) return undefined;
      const f = entry.facts;
      const record: DecisionRecord = {
        v,
        at,
        pseudonym,
        shard,
        write,
        index,
        type: 'decision',
        ref,
        channel: f.channel,
        kind: f.kind,
        policyVersion: entry.policyVersion,
        outcome: verdict.outcome,
        outcomeChannel: verdict.channel,
      };
      setOutcome(record, verdict);
      if (experiment) record.experiment = { id: experiment.id, arm: experiment.arm };
      if (f.category !== undefined) record.category = f.category;
      if (f.campaignId !== undefined) record.campaignId = f.campaignId;
      if (f.relevance !== undefined) record.relevance = f.relevance;
      if (f.notBefore !== undefined) record.notBefore = iso(f.notBefore);
      if (f.expiresAt !== undefined) record.expiresAt = iso(f.expiresAt);
      if (f.alternateChannels !== undefined) record.alternateChannels = f.alternateChannels;
      if (entry.releaseMarginMs !== undefined) record.releaseMarginMs = entry.releaseMarginMs;
      return record;
    }
    case 'release': {
      if (!verdict || ref === undefined) return undefined;
      const record: ReleaseRecord = {
        v,
        at,
        pseudonym,
        shard,
        write,
        index,
        type: 'release',
        ref,
        reservedAt: iso(entry.releaseAt),
        policyVersion: entry.policyVersion,
        outcome: verdict.outcome,
        outcomeChannel: verdict.channel,
      };
      setOutcome(record, verdict);
      if (experiment) record.experiment = { id: experiment.id, arm: experiment.arm };
      if (entry.releaseMarginMs !== undefined) record.releaseMarginMs = entry.releaseMarginMs;
      return record;
    }
    case 'preferences':
      return { v, at, pseudonym, shard, write, index, type: 'preferences', preferences: entry.preferences };
    case 'feedback':
      return {
        v,
        at,
        pseudonym,
        shard,
        write,
        index,
        type: 'feedback',
        channel: entry.channel,
        feedback: entry.feedback,
      };
    case 'engagement':
      return {
        v,
        at,
        pseudonym,
        shard,
        write,
        index,
        type: 'engagement',
        events: entry.events.map((e) => e.type),
      };
    case 'cancel':
      return ref === undefined ? undefined : { v, at, pseudonym, shard, write, index, type: 'cancel', ref };
    default:
      return undefined;
  }
}

/**
 * The log entry a record was, for replay; `policyVersion` replaces the record's (a draft's replay).
 * An erasure record is no entry (undefined): replay ends the customer's stream there.
 */
export function toLogEntry(record: ArchiveRecord, policyVersion?: number): LogEntry | undefined {
  const at = Date.parse(record.at);
  switch (record.type) {
    case 'decision':
      return {
        type: 'message',
        at,
        policyVersion: policyVersion ?? record.policyVersion,
        facts: {
          key: record.ref,
          channel: record.channel,
          kind: record.kind,
          category: record.category,
          campaignId: record.campaignId,
          relevance: record.relevance,
          notBefore: time(record.notBefore),
          expiresAt: time(record.expiresAt),
          alternateChannels: record.alternateChannels,
        },
        releaseMarginMs: record.releaseMarginMs,
      };
    case 'release':
      return {
        type: 'release',
        at,
        policyVersion: policyVersion ?? record.policyVersion,
        key: record.ref,
        releaseAt: Date.parse(record.reservedAt),
        releaseMarginMs: record.releaseMarginMs,
      };
    case 'preferences':
      return { type: 'preferences', at, preferences: record.preferences };
    case 'feedback':
      return { type: 'feedback', at, channel: record.channel, feedback: record.feedback };
    case 'engagement':
      // Ids unique in the stream (the archived events were counted once already).
      return {
        type: 'engagement',
        at,
        events: record.events.map((type, n) => ({ id: `${record.write}.${record.index}.${n}`, type })),
      };
    case 'cancel':
      return { type: 'cancel', at, key: record.ref };
    case 'erasure':
      return undefined;
  }
}
