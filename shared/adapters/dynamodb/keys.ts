/**
 * The single table's keys: the only place that knows them. One partition per customer holds the
 * customer's state item and the customer's deferred messages; the `due` index finds deferred messages
 * by release minute, sharded so that a blast deferred to the same minute does not make one hot key.
 */
export const DUE_INDEX = 'due';
export const DUE_SHARDS = 8;

export const customerPk = (customerId: string) => `C#${customerId}`;
export const STATE_SK = 'S';
export const deferredSk = (messageId: string) => `D#${messageId}`;
export const DEFERRED_PREFIX = 'D#';

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
