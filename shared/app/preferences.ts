/**
 * Preferences from the brand's preference centre, and erasure. A preference change goes through the
 * customer's ordered log like a message, so concurrent decisions stay consistent with it. Each channel
 * consent keeps its source and time.
 */
import { emptyBase } from '../domain/customer-log.ts';
import type { Preferences } from '../domain/schemas.ts';
import type { Clock, DeferredMessage } from '../ports.ts';
import type { CustomerLog } from './customers.ts';

export interface PreferencesDeps {
  customers: CustomerLog;
  clock: Clock;
  onErased?: (deferred: DeferredMessage[]) => Promise<void>;
}

export async function getPreferences(deps: PreferencesDeps, customerId: string): Promise<Preferences> {
  const replayed = await deps.customers.read(customerId);
  return replayed?.state.preferences ?? emptyBase().preferences;
}

export async function putPreferences(
  deps: PreferencesDeps,
  customerId: string,
  preferences: Preferences,
  source: string,
): Promise<Preferences> {
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
  const { state } = await deps.customers.append(
    customerId,
    [{ type: 'preferences', at: now, preferences: stamped }],
    now,
  );
  return state.preferences;
}

/** Erases everything held about a customer; returns how many deferred messages were dropped. */
export async function eraseCustomer(deps: PreferencesDeps, customerId: string): Promise<number> {
  const deferred = await deps.customers.erase(customerId);
  await deps.onErased?.(deferred);
  return deferred.length;
}
