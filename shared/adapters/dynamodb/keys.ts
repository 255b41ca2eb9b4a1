/**
 * The single table's keys: the only place that knows them. One partition per customer holds the
 * customer's state item, deferred messages and delivery ledger entries; the `due` index finds deferred messages
 * by release minute, sharded so that a blast deferred to the same minute does not make one hot key.
 */
export const DUE_INDEX = 'due';
export const DUE_SHARDS = 8;

export const customerPk = (customerId: string) => `C#${customerId}`;
export const STATE_SK = 'S';
export const deferredSk = (messageId: string) => `D#${messageId}`;
export const DEFERRED_PREFIX = 'D#';
export const ledgerSk = (messageId: string) => `L#${messageId}`;
export const LEDGER_PREFIX = 'L#';

/**
 * An erasure's sweep, in the customer's partition (`E#<life>`), filed in the `due` index under the
 * minute it is due and shards of their own (`S0`…`S7`, so that a wave of erasures makes no hot key),
 * so that the release function finds it as it finds deferred messages, and only sweeps are read for it.
 */
export const sweepSk = (life: string) => `E#${life}`;
export const SWEEP_PREFIX = 'E#';
export const sweepDuePk = (instant: number, shard: number) => `DUE#${minuteBucket(instant)}#S${shard}`;

/**
 * Erasure markers: one item per erased life of a customer, `ERASED#<keyed hash of the customer id>` /
 * `<life>`, which dispatch reads (BatchGetItem, once per SQS batch) before delivering.
 */
export const erasedPk = (ref: string) => `ERASED#${ref}`;

/** The release function's cursor: one item. */
export const RELEASE_PK = 'RELEASE';
export const RELEASE_CURSOR_SK = 'CURSOR';

export const POLICY_PK = 'POLICY';
export const POLICY_CURRENT_SK = 'CURRENT';
export const policyVersionSk = (version: number) => `V#${String(version).padStart(10, '0')}`;
export const POLICY_VERSION_PREFIX = 'V#';

/** The minute bucket of an instant: `2026-11-25T10:07`. */
export function minuteBucket(instant: number): string {
  return new Date(instant).toISOString().slice(0, 16);
}

export function shardOf(text: string, shards: number): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) % shards;
}

export const duePk = (instant: number, shard: number) => `DUE#${minuteBucket(instant)}#${shard}`;
export const dueSk = (releaseAt: number, messageId: string) =>
  `${String(releaseAt).padStart(15, '0')}#${messageId}`;

/** Decision counts: one item per flush, in day partitions sharded so that no day is a hot key. */
export const TALLY_SHARDS = 8;
export const tallyPk = (day: string, shard: number) => `TALLY#${day}#${shard}`;

/**
 * API keys: one item per key in one small partition, `APIKEY` / `K#<id>`, holding the SHA-256 of the
 * key. The id is part of the key (`gov_<id>_<secret>`), so a lookup is one GetItem by id, the listing is
 * one Query, and create or revoke is one write: no second "by hash" item to keep in step without
 * transactions. The partition is read only on a cache miss (GOVERNOR_KEY_CACHE_TTL_MS).
 */
export const API_KEY_PK = 'APIKEY';
export const apiKeySk = (id: string) => `K#${id}`;
export const API_KEY_PREFIX = 'K#';

/**
 * The audit trail: one item per event in day partitions, sharded like the tallies so that a wave of
 * preference changes does not make one hot key; the sort key orders events in time within a day.
 */
export const AUDIT_SHARDS = 4;
export const auditPk = (day: string, shard: number) => `AUDIT#${day}#${shard}`;
export const auditSk = (at: string, id: string) => `${at}#${id}`;

/**
 * Per-key request counts shared by every instance (shared/app/rate-limit.ts): one item per API key,
 * `RATE#<key id>` / `N`, a running total each instance adds its own count to about once a second.
 */
export const RATE_COUNTER_PREFIX = 'RATE#';
export const rateCounterKey = (keyId: string) => ({ pk: `${RATE_COUNTER_PREFIX}${keyId}`, sk: 'N' });

/** Dry-run jobs: one item each, `DRYRUN#<id>` / `JOB`. */
export const dryRunPk = (id: string) => `DRYRUN#${id}`;
export const DRYRUN_SK = 'JOB';

/**
 * The sparse `campaign` index: a deferred message of a campaign carries `cg` (its campaign and a shard
 * of its message id, so that a blast deferred at once makes no hot key in the index), with the table's
 * keys only, so that a campaign's cancellation reads exactly the messages held for it, never the table.
 */
export const CAMPAIGN_INDEX = 'campaign';
export const CAMPAIGN_SHARDS = 8;
export const campaignHeldPk = (campaignId: string, shard: number) => `CMP#${campaignId}#${shard}`;
/** The customer and message of a deferred item's keys (as the campaign index projects them). */
export function heldOfKeys(pk: string, sk: string): { customerId: string; messageId: string } | undefined {
  const prefix = customerPk('');
  if (!pk.startsWith(prefix) || !sk.startsWith(DEFERRED_PREFIX)) return undefined;
  return { customerId: pk.slice(prefix.length), messageId: sk.slice(DEFERRED_PREFIX.length) };
}

/** Campaign cancellation jobs: one small partition, `CANCELJOB` / `<id>` (rare, and few at a time). */
export const CANCEL_JOB_PK = 'CANCELJOB';
