/**
 * Restoring exact counts after a crash. A decision is durable in the customer's log before it is
 * counted, so a process that dies between the two leaves a decision uncounted. The logs remember every
 * decision for GOVERNOR_IDEMPOTENCY_HOURS; erased customers left an anonymous archive of theirs. For
 * each day still inside that window, the decisions the logs and archives hold are compared with the
 * counts, and the difference is written as a correction. Running it again finds no difference.
 *
 * Run it for days on which no decision is being taken any more (a closed day, or after the traffic
 * stopped): a decision taken during the scan could otherwise be counted and not yet seen in its log.
 *
 * A log remembers a bounded number of decisions (MAX_REMEMBERED beyond those still counting or
 * deferred): a customer sent more than that in the window has decisions the log forgot, and says how
 * many per day. For such a day the correction only adds what the logs show missing (it may then miss
 * counts lost for forgotten decisions, never invent any); it never subtracts what they cannot see.
 */
import type { Counted, DayCounts } from '../domain/tally.ts';
import { countedOf, dayOf, difference, parseGroupKey, sum, tally } from '../domain/tally.ts';
import { ValidationError } from '../errors.ts';
import { type Clock, FORGOTTEN, type TallyStore } from '../ports.ts';
import type { CustomerLog, Replayed } from './customers.ts';

export interface ReconcileDeps {
  customers: CustomerLog;
  tallies: TallyStore;
  clock: Clock;
  idempotencyMs: number;
}

/** The decisions a replayed customer log holds, as counts, for the given days. */
export function decisionsOf(replayed: Pick<Replayed, 'state'>, days?: ReadonlySet<string>): Counted[] {
  const counted: Counted[] = [];
  for (const decided of replayed.state.decisions.values()) {
    if (days && !days.has(dayOf(decided.at))) continue;
    counted.push(countedOf(decided, 'decision'));
  }
  return counted;
}

function onlyDecisions(counts: DayCounts): DayCounts {
  const out: DayCounts = new Map();
  for (const [day, groups] of counts) {
    const kept = new Map([...groups].filter(([key]) => parseGroupKey(day, key).stage === 'decision'));
    if (kept.size > 0) out.set(day, kept);
  }
  return out;
}

const total = (counts: DayCounts, f: (n: number) => number = (n) => n) =>
  [...counts.values()].reduce((n, g) => n + [...g.values()].reduce((a, b) => a + f(b), 0), 0);

export interface ReconcileResult {
  days: string[];
  customers: number;
  /** Decisions of those days in the logs and archives. */
  inLogs: number;
  /** Decisions of those days counted before this run. */
  counted: number;
  /** Counts added or removed by the correction (0 when nothing was missing). */
  corrected: number;
  /** Decisions of those days that flooded customers' logs had forgotten (see above). */
  forgotten: number;
}

export async function reconcile(deps: ReconcileDeps, days: string[]): Promise<ReconcileResult> {
  const oldest = deps.clock.now() - deps.idempotencyMs;
  for (const day of days) {
    if (Date.parse(`${day}T00:00:00Z`) < oldest) {
      throw new ValidationError(`${day} is older than the decisions the logs remember`, [
        {
          path: 'day',
          message: `must be within the last ${Math.floor(deps.idempotencyMs / 3600_000)} hours`,
        },
      ]);
    }
  }
  const wanted = new Set(days);
  let fromLogs: DayCounts = new Map();
  const forgotten = new Map<string, number>();
  let customers = 0;
  for await (const replayed of deps.customers.replayAll()) {
    customers++;
    fromLogs = tally(decisionsOf(replayed, wanted), fromLogs);
    for (const [day, n] of Object.entries(replayed.state.forgotten))
      if (wanted.has(day)) forgotten.set(day, (forgotten.get(day) ?? 0) + n);
  }
  for (const [day, groups] of await deps.tallies.read(days, ['forgotten']))
    forgotten.set(day, (forgotten.get(day) ?? 0) + (groups.get(FORGOTTEN) ?? 0));
  const archived = await deps.tallies.read(days, ['archive']);
  const expected = onlyDecisions(sum(fromLogs, archived));
  const counted = onlyDecisions(await deps.tallies.read(days, ['live', 'correction']));
  const correction = difference(expected, counted);
  // Where logs forgot decisions, fewer in the logs than counted is no loss: add only what is missing.
  for (const [day, groups] of correction) {
    if (!forgotten.get(day)) continue;
    for (const [key, n] of groups) if (n < 0) groups.delete(key);
    if (groups.size === 0) correction.delete(day);
  }
  if (correction.size > 0) await deps.tallies.put(`reconcile-${deps.clock.now()}`, 'correction', correction);
  return {
    days,
    customers,
    inLogs: total(expected),
    counted: total(counted),
    corrected: total(correction, Math.abs),
    forgotten: [...forgotten.values()].reduce((a, b) => a + b, 0),
  };
}
