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
import type { Decided, FeedbackType, LogEntry } from '../domain/customer-log.ts';
import type { ArmOf } from '../domain/decision.ts';
import { ENGAGEMENT_EVENTS, type EngagementEvent, type EngagementType } from '../domain/fatigue.ts';
import type { Channel, CustomerEvent } from '../domain/schemas.ts';
import type { Counted } from '../domain/tally.ts';
import type { Clock } from '../ports.ts';
import type { Archive } from './archive.ts';
import type { DecisionCounter } from './counting.ts';
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

export interface EventsDeps {
  customers: CustomerLog;
  clock: Clock;
  hashes: KeyedHash;
  archive?: Archive | undefined;
  /**
   * Counts the events of customers in an experiment's arm (stage `engagement`, the event type as
   * reason), for the experiment report; aggregated like decisions.
   */
  counter?: DecisionCounter | undefined;
}

/**
 * The experiment and arm of the customer's latest decision its log remembers: the arm its events count
 * for, found in the replay the append made (no read of the policy or the customer).
 */
function latestArm(state: { decisions: ReadonlyMap<string, Decided> }): ArmOf | undefined {
  let latest: Decided | undefined;
  for (const d of state.decisions.values()) if (d.experiment && (!latest || d.at >= latest.at)) latest = d;
  return latest?.experiment;
}

/** The event types an experiment report counts per arm. */
const COUNTED_FOR_EXPERIMENTS: ReadonlySet<string> = new Set([
  'opened',
  'clicked',
  'unsubscribed',
  'complained',
]);

export async function recordEvents(
  deps: EventsDeps,
  events: CustomerEvent[],
): Promise<{ received: number; applied: number }> {
  const now = deps.clock.now();
  await deps.hashes.ready();
  const counted: Counted[] = [];
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
      const experiment = deps.counter ? latestArm(appended.state) : undefined;
      const channelOf = (type: string): Channel =>
        group.find((e) => e.type === type)?.channel ?? (group[0] as CustomerEvent).channel;
      const countForArm = (type: string, n: number) => {
        if (!experiment || !COUNTED_FOR_EXPERIMENTS.has(type)) return;
        for (let k = 0; k < n; k++)
          counted.push({
            at: now,
            stage: 'engagement',
            outcome: 'accepted',
            reason: type,
            channel: channelOf(type),
            policyVersion: 0,
            experiment,
          });
      };
      for (const [i, entry] of entries.entries()) {
        const position = appended.positions[i];
        const result = appended.entryResults[i];
        if (entry.type === 'engagement') {
          // Only the events that counted: the archive's replay meets no duplicate.
          const counts = result?.type === 'other' ? (result.counted ?? []) : [];
          applied += counts.length;
          for (const type of counts) countForArm(type, 1);
          if (position && counts.length > 0)
            archivable.push({
              customerId,
              position,
              entry: { ...entry, events: counts.map((type, n) => ({ id: String(n), type })) },
            });
        } else if (entry.type === 'feedback') {
          applied += group.filter((e) => e.type === entry.feedback && e.channel === entry.channel).length;
          // Once per customer, channel and type in a request, as the log takes it.
          countForArm(entry.feedback, 1);
          if (position) archivable.push({ customerId, entry, position });
        }
      }
      await deps.archive?.add(archivable);
    },
  );
  if (deps.counter && counted.length > 0) {
    deps.counter.add(counted);
    await deps.counter.flushIfDue();
  }
  return { received: events.length, applied };
}
