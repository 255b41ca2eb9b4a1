/**
 * Feedback from providers and platforms. An unsubscribe opts the customer out of that channel; a
 * complaint or a hard bounce also blocks the channel for transactional messages. Deliveries, opens and
 * clicks feed the customer's engagement (fatigue.ts). All of it goes through the customer's ordered
 * log, aggregated per customer: a request costs one write per customer it names, whatever the number
 * of its events (the feedback of one type on one channel written once, the engagement as one entry).
 *
 * Idempotent per event id: an event's id is its `eventId`, else derived (its message id and type, so
 * a message is counted delivered, opened and clicked once each; without a message id, its channel, type
 * and time). The log stores a short keyed hash of it with the event, and replay skips an id it has seen
 * (fatigue.ts): duplicates are found without a read, in the write that appends them.
 */
import type { FeedbackType, LogEntry } from '../domain/customer-log.ts';
import { ENGAGEMENT_EVENTS, type EngagementEvent, type EngagementType } from '../domain/fatigue.ts';
import type { CustomerEvent } from '../domain/schemas.ts';
import type { Clock } from '../ports.ts';
import type { Archive } from './archive.ts';
import type { CustomerLog } from './customers.ts';
import type { KeyedHash } from './keyed-hash.ts';
import { perCustomer } from './per-customer.ts';

const FEEDBACK: ReadonlySet<string> = new Set<FeedbackType>(['unsubscribed', 'complained', 'bounced_hard']);
const ENGAGEMENT: ReadonlySet<string> = new Set<string>(ENGAGEMENT_EVENTS);
/**
 * 6 base64url characters (36 bits): a customer's log remembers at most 48 ids at a time, so a new event
 * is taken for one seen before with probability at most 48 / 2^36 ≈ 7e-10.
 */
export const EVENT_ID_HASH_LENGTH = 6;

/** The id an event is known by: its eventId, else derived from what names it. */
export function eventIdOf(event: CustomerEvent): string {
  if (event.eventId !== undefined) return `id\0${event.eventId}`;
  if (event.messageId !== undefined) return `m\0${event.messageId}\0${event.type}`;
  return `c\0${event.channel}\0${event.type}\0${event.at}`;
}

/** The entries one request's events make for one customer: feedback once per channel and type. */
function entriesOf(events: readonly CustomerEvent[], hashes: KeyedHash, now: number): LogEntry[] {
  const entries: LogEntry[] = [];
  const feedback = new Set<string>();
  const engagement: EngagementEvent[] = [];
  const byTime = [...events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  for (const event of byTime) {
    if (FEEDBACK.has(event.type)) {
      const once = `${event.channel} ${event.type}`;
      if (feedback.has(once)) continue;
      feedback.add(once);
      entries.push({
        type: 'feedback',
        at: Date.parse(event.at),
        channel: event.channel,
        feedback: event.type as FeedbackType,
      });
    } else if (ENGAGEMENT.has(event.type)) {
      const id = hashes.of('event', eventIdOf(event), EVENT_ID_HASH_LENGTH);
      engagement.push({ id, type: event.type as EngagementType });
    }
  }
  if (engagement.length > 0) entries.push({ type: 'engagement', at: now, events: engagement });
  return entries;
}

export async function recordEvents(
  deps: { customers: CustomerLog; clock: Clock; hashes: KeyedHash; archive?: Archive | undefined },
  events: CustomerEvent[],
): Promise<{ received: number; applied: number }> {
  const now = deps.clock.now();
  await deps.hashes.ready();
  let applied = 0;
  await perCustomer(
    events,
    (e) => e.customerId,
    async (group, customerId) => {
      const entries = entriesOf(group, deps.hashes, now);
      if (entries.length === 0) return;
      const appended = await deps.customers.append(customerId, entries, now);
      if (!appended) return;
      const archivable = [];
      for (const [i, entry] of entries.entries()) {
        const position = appended.positions[i];
        const result = appended.entryResults[i];
        if (entry.type === 'engagement') {
          // Only the events that counted: the archive's replay meets no duplicate.
          const counted = result?.type === 'other' ? (result.counted ?? []) : [];
          applied += counted.length;
          if (position && counted.length > 0)
            archivable.push({
              customerId,
              position,
              entry: { ...entry, events: counted.map((type, n) => ({ id: String(n), type })) },
            });
        } else if (entry.type === 'feedback') {
          applied += group.filter((e) => e.type === entry.feedback && e.channel === entry.channel).length;
          if (position) archivable.push({ customerId, entry, position });
        }
      }
      await deps.archive?.add(archivable);
    },
  );
  return { received: events.length, applied };
}
