/**
 * Preferences from the brand's preference centre, and erasure. A preference change goes through the
 * customer's ordered log like a message, so concurrent decisions stay consistent with it. Each channel
 * consent keeps its source and time.
 */
import { emptyBase, type LogEntry } from '../domain/customer-log.ts';
import type { Preferences } from '../domain/schemas.ts';
import type { Clock } from '../ports.ts';
import type { Archive } from './archive.ts';
import { type AuditRecorder, customerRef, preferencesChange } from './audit.ts';
import type { CustomerLog } from './customers.ts';
import type { Erasures } from './erasure.ts';
import type { KeyedHash } from './keyed-hash.ts';

export interface PreferencesDeps {
  customers: CustomerLog;
  clock: Clock;
  hashes: KeyedHash;
  /** Archives the change (see archive.ts). */
  archive?: Archive | undefined;
}

export async function getPreferences(deps: PreferencesDeps, customerId: string): Promise<Preferences> {
  const replayed = await deps.customers.read(customerId);
  return replayed?.state.preferences ?? emptyBase().preferences;
}

/**
 * Replaces a customer's preferences; `source` stamps the consents that name none. The change (what
 * changed, with each consent's source) is recorded in the audit trail under the caller's key id.
 */
export async function putPreferences(
  deps: PreferencesDeps & { audit: AuditRecorder },
  customerId: string,
  preferences: Preferences,
  source: string,
  actor: string,
): Promise<Preferences> {
  const before = await getPreferences(deps, customerId);
  const now = deps.clock.now();
  const at = new Date(now).toISOString();
  const channels: Preferences['channels'] = {};
  for (const [channel, consent] of Object.entries(preferences.channels)) {
    if (consent)
      channels[channel as keyof Preferences['channels']] = {
        ...consent,
        source: consent.source ?? source,
        at: consent.at ?? at,
      };
  }
  const stamped: Preferences = { ...preferences, channels };
  const entry: LogEntry = { type: 'preferences', at: now, preferences: stamped };
  const appended = await deps.customers.append(customerId, [entry], now);
  if (!appended) throw new Error('an unconditional append found no record');
  const { state, positions } = appended;
  const position = positions[0];
  if (position) await deps.archive?.add([{ customerId, entry, position }]);
  await deps.audit.record(actor, 'preferences.changed', customerRef(deps.hashes, customerId), {
    source,
    ...preferencesChange(before, state.preferences),
  });
  return state.preferences;
}

/**
 * Erases everything held about a customer (preferences, history, deferred messages, what is still
 * queued for delivery: see erasure.ts); returns how many deferred messages were dropped. Idempotent.
 * The audit trail keeps the fact and the count, under the customer's keyed reference only.
 */
export async function eraseCustomer(
  deps: PreferencesDeps & { audit: AuditRecorder; erasures: Erasures },
  customerId: string,
  actor: string,
): Promise<number> {
  const dropped = await deps.erasures.erase(customerId);
  await deps.audit.record(actor, 'customer.erased', customerRef(deps.hashes, customerId), {
    deferredDropped: dropped,
  });
  return dropped;
}
