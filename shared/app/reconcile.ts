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
 *
 * What became of a message after its decision is counted at the release stage: a release accepted or
 * suppressed, a pre-emption (`preempted`), a cancellation (`cancelled`). Each is durable in the log before
 * it is counted too, and the log keeps it with its time (a decision is remembered while it or what became
 * of it is inside the window), so these counts are rebuilt the same way, on the day it happened. Their
 * correction only ever adds: a log written before it kept these times, or an erased customer's archive
 * written then, cannot show them, and what it cannot show is no loss. Erasures' counts are left alone
 * (written by the erasure under ids of their own, a retry rewrites them).
 */
import type { Counted, DayCounts, Stage } from '../domain/tally.ts';
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

/**
 * What a replayed customer log holds, as counts, for the given days: its decisions, and what became of
 * its deferred messages since (released accepted or suppressed, pre-empted, cancelled: the release
 * stage), counted as they were when they happened.
 */
export function decisionsOf(replayed: Pick<Replayed, 'state'>, days?: ReadonlySet<string>): Counted[] {
  const { state } = replayed;
  const counted: Counted[] = [];
  for (const decided of state.decisions.values()) {
    if (days && !days.has(dayOf(decided.at))) continue;
    counted.push(countedOf(decided, 'decision'));
  }
  for (const [key, after] of state.after) {
    const verdict = state.current.get(key);
    const decided = state.decisions.get(key);
    // Deferred again (a release, a pre-emption) counts nothing yet: what becomes of it next will.
    if (!verdict || !decided || verdict.outcome === 'deferred') continue;
    if (days && !days.has(dayOf(after.at))) continue;
    const { at, policyVersion, experiment } = after;
    const { campaignId, category } = decided;
    counted.push(countedOf({ verdict, at, policyVersion, campaignId, category, experiment }, 'release'));
  }
  return counted;
}

/** The stages reconciliation rebuilds. */
const REBUILT: ReadonlySet<Stage> = new Set<Stage>(['decision', 'release']);

function only(stages: ReadonlySet<Stage>, counts: DayCounts): DayCounts {
  const out: DayCounts = new Map();
  for (const [day, groups] of counts) {
    const kept = new Map([...groups].filter(([key]) => stages.has(parseGroupKey(day, key).stage)));
    if (kept.size > 0) out.set(day, kept);
  }
  return out;
}

const DECISION: ReadonlySet<Stage> = new Set<Stage>(['decision']);

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
  const expected = only(REBUILT, sum(fromLogs, archived));
  const counted = only(REBUILT, await deps.tallies.read(days, ['live', 'correction']));
  const correction = difference(expected, counted);
  // Where logs forgot decisions, and at the release stage always, fewer in the logs than counted is no
  // loss: add only what is missing.
  for (const [day, groups] of correction) {
    const addOnly = !!forgotten.get(day);
    for (const [key, n] of groups)
      if (n < 0 && (addOnly || parseGroupKey(day, key).stage !== 'decision')) groups.delete(key);
    if (groups.size === 0) correction.delete(day);
  }
  if (correction.size > 0) await deps.tallies.put(`reconcile-${deps.clock.now()}`, 'correction', correction);
  return {
    days,
    customers,
    inLogs: total(only(DECISION, expected)),
    counted: total(only(DECISION, counted)),
    corrected: total(correction, Math.abs),
    forgotten: [...forgotten.values()].reduce((a, b) => a + b, 0),
  };
}
