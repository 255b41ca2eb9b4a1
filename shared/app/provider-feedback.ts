/**
 * The providers' own events (SES event publishing, End User Messaging SMS), one SQS batch at a time:
 * each record read into the event `POST /v1/events` would take (the provider adapter's `readEvent`),
 * then the same use case as that route, once for the whole batch: one write per customer the batch
 * names, however many records name them, and idempotent per provider event id, so that a redelivered
 * batch changes nothing.
 *
 * A record that names nothing Governor can use (another event type, a message sent without Governor's
 * tags, a body that is not JSON) is acknowledged and counted, never retried: it would fail the same way
 * every time and block nothing but itself. A record is reported failed (to be redelivered) only when
 * writing its events failed; the redelivery of the batch's other records is harmless, being idempotent.
 */
import type { CustomerEvent } from '../domain/schemas.ts';
import { type EventsDeps, recordEvents } from './events.ts';

/** What a provider record's body says: an event, or why it names none. */
export type ReadProviderEvent = (
  body: string,
) => { ok: true; event: CustomerEvent } | { ok: false; ignored: string };

export interface ProviderRecord {
  /** The record's id in its batch (SQS messageId): what a partial batch response names. */
  id: string;
  body: string;
}

export interface ProviderFeedbackResult {
  /** The records to redeliver: their events could not be written. */
  failed: string[];
  /** Events taken from the batch's records, and how many of them changed a customer. */
  received: number;
  applied: number;
  /** Records acknowledged without an event, by reason. */
  ignored: Record<string, number>;
  /** The ignored records' ids and reasons, to log (never their bodies: they carry addresses). */
  ignoredRecords: { id: string; reason: string }[];
  /** Why the write failed, when it did. */
  error?: unknown;
}

export async function recordProviderFeedback(
  deps: EventsDeps & { readEvent: ReadProviderEvent },
  records: readonly ProviderRecord[],
): Promise<ProviderFeedbackResult> {
  const events: CustomerEvent[] = [];
  const named: string[] = [];
  const ignored: Record<string, number> = {};
  const ignoredRecords: { id: string; reason: string }[] = [];
  for (const record of records) {
    const read = deps.readEvent(record.body);
    if (read.ok) {
      events.push(read.event);
      named.push(record.id);
    } else {
      ignored[read.ignored] = (ignored[read.ignored] ?? 0) + 1;
      ignoredRecords.push({ id: record.id, reason: read.ignored });
    }
  }
  if (events.length === 0) return { failed: [], received: 0, applied: 0, ignored, ignoredRecords };
  try {
    const { received, applied } = await recordEvents(deps, events);
    return { failed: [], received, applied, ignored, ignoredRecords };
  } catch (error) {
    return { failed: named, received: events.length, applied: 0, ignored, ignoredRecords, error };
  }
}
