/**
 * Feedback from providers and platforms. An unsubscribe opts the customer out of that channel; a
 * complaint or a hard bounce also blocks the channel for transactional messages. They go through the
 * customer's ordered log; delivery and engagement events change nothing and are only acknowledged.
 */
import type { FeedbackType, LogEntry } from '../domain/customer-log.ts';
import type { CustomerEvent } from '../domain/schemas.ts';
import type { Clock } from '../ports.ts';
import type { Archive } from './archive.ts';
import type { CustomerLog } from './customers.ts';
import { mapLimit } from './send.ts';

const FEEDBACK: ReadonlySet<string> = new Set<FeedbackType>(['unsubscribed', 'complained', 'bounced_hard']);

export async function recordEvents(
  deps: { customers: CustomerLog; clock: Clock; archive?: Archive | undefined },
  events: CustomerEvent[],
): Promise<{ received: number; applied: number }> {
  const now = deps.clock.now();
  const byCustomer = new Map<string, LogEntry[]>();
  for (const event of events) {
    if (!FEEDBACK.has(event.type)) continue;
    const entries = byCustomer.get(event.customerId) ?? [];
    entries.push({
      type: 'feedback',
      at: Date.parse(event.at),
      channel: event.channel,
      feedback: event.type as FeedbackType,
    });
    byCustomer.set(event.customerId, entries);
  }
  await mapLimit([...byCustomer], 16, async ([customerId, entries]) => {
    const appended = await deps.customers.append(customerId, entries, now);
    const positions = appended?.positions ?? [];
    await deps.archive?.add(
      entries.flatMap((entry, i) => {
        const position = positions[i];
        return position ? [{ customerId, entry, position }] : [];
      }),
    );
  });
  return { received: events.length, applied: [...byCustomer.values()].reduce((n, e) => n + e.length, 0) };
}
