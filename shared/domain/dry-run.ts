/**
 * The dry-run: archived traffic replayed through the real engine (engine-run.ts: `replay` and
 * `compact` of customer-log.ts), one customer (pseudonym) at a time, with the time each record carries
 * as the clock.
 *
 * - `current` replays every record as it was: messages under the policy version they were decided
 *   under, releases when they ran, under the version in force then. It must give what Governor
 *   decided, and counts as the finance report does: each first decision (stage decision), each
 *   release accepted or suppressed (stage release), each deferred message cancelled (suppressed
 *   `cancelled`, stage release) or dropped by an erasure (suppressed `erased`), priced at the channel
 *   costs of the version each was decided under.
 * - `draft` replays the same messages, preference changes, feedback, cancellations and erasures, in the
 *   same order, under the draft policy for the whole period; its deferred messages are released by a
 *   release queue at the time the real release ran them when it released the same message reserved for
 *   the same moment, else at their release time.
 *
 * Everything before `from` is replayed too (the customer's state at the period's start: preferences,
 * sends inside the caps' windows, deferrals), only what falls in [from, to) is counted.
 */
import {
  type ArchiveRecord,
  byLogOrder,
  type CancelRecord,
  type DecisionRecord,
  type ReleaseRecord,
  toLogEntry,
} from './archive.ts';
import { type EntryResult, emptyBase, type Pending } from './customer-log.ts';
import { type CompiledPolicy, compilePolicy, type Verdict } from './decision.ts';
import { digestIdOf } from './digests.ts';
import {
  type AffectedCustomer,
  type DryRunResult,
  type DryRunSide,
  MOST_AFFECTED,
  type OutcomeCounts,
  type ShardResult,
  type ShardTally,
} from './dry-run-result.ts';
import { DueQueue, EngineRun } from './engine-run.ts';
import { type Assignment, assignmentNumber, forCustomer } from './experiments.ts';
import type { Channel, Outcome, Policy } from './schemas.ts';

/** The version number the draft is replayed under (stored versions start at 0). */
export const DRAFT_VERSION = -1;
const WEEK_MS = 7 * 86_400_000;
const NO_CAMPAIGN = '(none)';

export interface ReplayInput {
  /** The period, epoch ms, [from, to). */
  from: number;
  to: number;
  /** Every stored version the records name. */
  policies: Policy[];
  /** The draft, under any version number (replayed as DRAFT_VERSION). */
  draft: Policy;
}

const emptyCounts = (): OutcomeCounts => ({ accepted: 0, deferred: 0, suppressed: 0 });

/** The counts under `key`, created empty the first time. */
function countsAt(map: Record<string, OutcomeCounts>, key: string): OutcomeCounts {
  let counts = map[key];
  if (!counts) {
    counts = emptyCounts();
    map[key] = counts;
  }
  return counts;
}

export function emptyTally(): ShardTally {
  return {
    accepted: 0,
    deferred: 0,
    suppressed: 0,
    byReason: {},
    byChannel: {},
    byCampaign: {},
    avoidedCostMicros: 0,
    relevanceSum: 0,
    relevanceCount: 0,
    acceptedPerCustomer: {},
  };
}

interface Counted {
  outcome: Outcome;
  reason?: string | undefined;
  channel: Channel;
  campaignId?: string | undefined;
  relevance?: number | undefined;
  policy: CompiledPolicy;
}

/** Counts one outcome into a tally and the customer's counts. */
function count(tally: ShardTally, customer: OutcomeCounts, c: Counted): void {
  tally[c.outcome]++;
  customer[c.outcome]++;
  countsAt(tally.byChannel, c.channel)[c.outcome]++;
  countsAt(tally.byCampaign, c.campaignId ?? NO_CAMPAIGN)[c.outcome]++;
  if (c.outcome === 'suppressed') {
    const reason = c.reason ?? 'unknown';
    tally.byReason[reason] = (tally.byReason[reason] ?? 0) + 1;
    tally.avoidedCostMicros += Math.round(c.policy.policy.channelCosts[c.channel] * 1_000_000);
  }
  if (c.outcome === 'accepted' && c.relevance !== undefined) {
    tally.relevanceSum += c.relevance;
    tally.relevanceCount++;
  }
}

/** One customer's run under one side: the engine, what it counts, and for the draft its releases. */
class Side {
  private run: EngineRun;
  readonly counts = emptyCounts();
  private readonly releases = new DueQueue<{
    at: number;
    key: string;
    reservedAt: number;
    margin?: number;
  }>();

  constructor(
    private readonly tally: ShardTally,
    private readonly period: { from: number; to: number },
    private readonly lookup: (version: number) => CompiledPolicy,
    private readonly horizonMs: number,
    /** Draft only: when the real release ran a message reserved for a moment (ref → reservedAt → at). */
    private readonly realReleases?: Map<string, Map<number, number>>,
  ) {
    this.run = new EngineRun(emptyBase(), lookup, horizonMs);
  }

  private inPeriod(at: number): boolean {
    return at >= this.period.from && at < this.period.to;
  }

  private pending(key: string): Pending | undefined {
    return this.run.state?.pending.get(key);
  }

  decision(record: DecisionRecord, version?: number): void {
    this.drain(Date.parse(record.at), true);
    const entry = toLogEntry(record, version);
    if (entry?.type !== 'message') return;
    const held = new Map(this.run.state?.pending ?? []);
    const [result] = this.run.append([entry], entry.at);
    if (result?.type !== 'message' || result.duplicate) return;
    const { verdict } = result.decided;
    if (this.inPeriod(entry.at))
      this.count(verdict, {
        campaignId: record.campaignId,
        relevance: record.relevance,
        version: entry.policyVersion,
      });
    // A digest is released once, under its id, by the item that opened it (digests.ts).
    if (verdict.outcome === 'deferred' && verdict.digestId === undefined)
      this.schedule(record.ref, verdict.releaseAt, record.releaseMarginMs);
    else if (verdict.outcome === 'deferred' && verdict.digestId === digestIdOf(entry.facts.key))
      this.schedule(verdict.digestId, verdict.releaseAt, record.releaseMarginMs);
    // A deferred message whose slot it took (pre-emption): suppressed `preempted` now, as finance counts
    // it, or released at its new time.
    for (const { key, verdict: bumped } of result.bumped ?? []) {
      const pending = held.get(key);
      if (!pending) continue;
      if (bumped.outcome === 'deferred') this.schedule(key, bumped.releaseAt, record.releaseMarginMs);
      else if (this.inPeriod(entry.at))
        this.count(bumped, {
          campaignId: pending.facts.campaignId,
          relevance: pending.facts.relevance,
          version: this.run.state?.decisions.get(key)?.policyVersion ?? entry.policyVersion,
        });
    }
  }

  release(record: ReleaseRecord): void {
    const entry = toLogEntry(record);
    if (entry?.type !== 'release') return;
    this.released(entry.key, entry.at, entry.policyVersion, entry.releaseAt, entry.releaseMarginMs);
  }

  /**
   * A cancellation: withdraws the message if this side still holds it, counted suppressed `cancelled`
   * (as finance counts it: at the release stage, priced under the version the message was decided under).
   */
  cancel(record: CancelRecord): void {
    const entry = toLogEntry(record);
    if (entry?.type !== 'cancel') return;
    this.drain(entry.at, true);
    const pending = this.pending(entry.key);
    const [result] = this.run.append([entry], entry.at);
    if (result?.type !== 'cancel' || !result.cancelled || !pending || !this.inPeriod(entry.at)) return;
    this.countOne({
      outcome: 'suppressed',
      reason: 'cancelled',
      channel: result.current.channel,
      campaignId: pending.facts.campaignId,
      policy: this.lookup(result.decided.policyVersion),
    });
  }

  /** A preference change or feedback. */
  change(record: ArchiveRecord): void {
    const entry = toLogEntry(record);
    if (!entry) return;
    this.drain(entry.at, true);
    this.run.append([entry], entry.at);
  }

  /** The erasure: what was still deferred is dropped (`erased`); a new life is another pseudonym. */
  erasure(at: number): void {
    this.drain(at, true);
    for (const p of this.run.state?.pending.values() ?? []) {
      if (this.inPeriod(at))
        this.countOne({
          outcome: 'suppressed',
          reason: 'erased',
          channel: p.facts.channel,
          campaignId: p.facts.campaignId,
          policy: this.lookup(p.policyVersion),
        });
    }
    this.releases.clear();
    this.run = new EngineRun(emptyBase(), this.lookup, this.horizonMs);
  }

  /** Draft: runs the releases due by `until` (those due at `until` too when `inclusive`). */
  drain(until: number, inclusive: boolean): void {
    if (!this.realReleases) return;
    for (let next = this.releases.peek(); next; next = this.releases.peek()) {
      if (next.at > until || (!inclusive && next.at === until)) return;
      this.releases.shift();
      this.released(next.key, next.at, DRAFT_VERSION, next.reservedAt, next.margin);
    }
  }

  private schedule(key: string, reservedAt: number, margin: number | undefined): void {
    if (!this.realReleases) return;
    const at = this.realReleases.get(key)?.get(reservedAt) ?? reservedAt;
    this.releases.push({ at, key, reservedAt, ...(margin === undefined ? {} : { margin }) });
  }

  private released(key: string, at: number, version: number, reservedAt: number, margin?: number): void {
    const pending = this.pending(key);
    const held = new Map(this.run.state?.pending ?? []);
    const [result]: EntryResult[] = this.run.append(
      [{ type: 'release', at, policyVersion: version, key, releaseAt: reservedAt, releaseMarginMs: margin }],
      at,
    );
    if (result?.type === 'release' && !result.stale && result.digest) {
      this.digestReleased(result.decided.verdict, result.digest.items, held, key, at, version, margin);
      return;
    }
    if (result?.type !== 'release' || result.stale || !pending) return;
    const { verdict } = result.decided;
    if (verdict.outcome === 'deferred') {
      this.schedule(key, verdict.releaseAt, margin);
      return;
    }
    if (this.inPeriod(at))
      this.count(verdict, {
        campaignId: pending.facts.campaignId,
        relevance: pending.facts.relevance,
        version,
      });
  }

  /**
   * A digest's release, counted as finance counts it: its first delivered item as the send, each other
   * delivered one suppressed `digest` (a send avoided), those that left it with their reason.
   */
  private digestReleased(
    verdict: Verdict,
    items: readonly { key: string; verdict: Verdict }[],
    held: ReadonlyMap<string, Pending>,
    key: string,
    at: number,
    version: number,
    margin: number | undefined,
  ): void {
    if (verdict.outcome === 'deferred') {
      this.schedule(key, verdict.releaseAt, margin);
      return;
    }
    if (!this.inPeriod(at)) return;
    let sent = false;
    for (const item of items) {
      const pending = held.get(item.key);
      if (!pending) continue;
      const v = item.verdict;
      const counted: Verdict =
        v.outcome === 'accepted' && sent
          ? { outcome: 'suppressed', channel: v.channel, reason: 'digest' }
          : v;
      if (v.outcome === 'accepted') sent = true;
      this.count(counted, {
        campaignId: pending.facts.campaignId,
        relevance: pending.facts.relevance,
        version,
      });
    }
  }

  private count(
    verdict: Verdict,
    m: { campaignId?: string | undefined; relevance?: number | undefined; version: number },
  ): void {
    this.countOne({
      outcome: verdict.outcome,
      reason: verdict.outcome === 'suppressed' ? verdict.reason : undefined,
      channel: verdict.channel,
      campaignId: m.campaignId,
      relevance: m.relevance,
      policy: this.lookup(m.version),
    });
  }

  private countOne(c: Counted): void {
    count(this.tally, this.counts, c);
  }
}

/**
 * A customer's assignment to the arms of experiments, from its records: a number inside the slice of
 * the arm its records name (the middle of it), else one read from its pseudonym.
 */
function assignmentOf(records: readonly ArchiveRecord[], pseudonym: string): Assignment {
  const arms = new Map<string, string>();
  for (const r of records)
    if ((r.type === 'decision' || r.type === 'release') && r.experiment)
      arms.set(r.experiment.id, r.experiment.arm);
  return (experiment) => {
    const named = arms.get(experiment.id);
    let from = 0;
    for (const arm of experiment.arms) {
      if (arm.id === named) return from + arm.share / 2;
      from += arm.share;
    }
    return assignmentNumber(pseudonym);
  };
}

/** Replays one shard's records (any order; several pseudonyms): the real engine, both sides. */
export function replayShard(records: readonly ArchiveRecord[], input: ReplayInput): ShardResult {
  const compiled = new Map<number, CompiledPolicy>(input.policies.map((p) => [p.version, compilePolicy(p)]));
  const draft = compilePolicy({ ...input.draft, version: DRAFT_VERSION });
  const lookupCurrent = (version: number) => {
    const p = compiled.get(version);
    if (!p) throw new RangeError(`policy version ${version} is not known`);
    return p;
  };
  const currentHorizon = Math.max(0, ...[...compiled.values()].map((p) => p.horizonMs));
  const byPseudonym = new Map<string, ArchiveRecord[]>();
  for (const r of records) {
    const list = byPseudonym.get(r.pseudonym);
    if (list) list.push(r);
    else byPseudonym.set(r.pseudonym, [r]);
  }
  const result: ShardResult = {
    events: records.length,
    current: emptyTally(),
    draft: emptyTally(),
    mostAffected: [],
  };
  const period = { from: input.from, to: input.to };
  for (const [pseudonym, list] of byPseudonym) {
    list.sort(byLogOrder);
    const realReleases = new Map<string, Map<number, number>>();
    let seen = false;
    for (const r of list) {
      if (r.type === 'release') {
        const byTime = realReleases.get(r.ref) ?? new Map<number, number>();
        byTime.set(Date.parse(r.reservedAt), Date.parse(r.at));
        realReleases.set(r.ref, byTime);
      }
      if (r.type === 'decision' && r.at >= new Date(input.from).toISOString() && Date.parse(r.at) < input.to)
        seen = true;
    }
    // The customer stays in the arms its records name; an experiment they name none of (one the draft
    // adds) places it by its pseudonym, a keyed hash, as evenly.
    const assignment = assignmentOf(list, pseudonym);
    const boundCurrent = (version: number) => forCustomer(lookupCurrent(version), assignment);
    const boundDraft = forCustomer(draft, assignment);
    const current = new Side(result.current, period, boundCurrent, currentHorizon);
    const drafted = new Side(result.draft, period, () => boundDraft, draft.horizonMs, realReleases);
    for (const r of list) {
      const at = Date.parse(r.at);
      if (at >= input.to) break;
      switch (r.type) {
        case 'decision':
          current.decision(r);
          drafted.decision(r, DRAFT_VERSION);
          break;
        case 'release':
          current.release(r);
          break;
        case 'cancel':
          current.cancel(r);
          drafted.cancel(r);
          break;
        case 'erasure':
          current.erasure(at);
          drafted.erasure(at);
          break;
        default:
          current.change(r);
          drafted.change(r);
      }
    }
    drafted.drain(input.to, false);
    if (!seen) continue;
    for (const [side, counts] of [
      [result.current, current.counts],
      [result.draft, drafted.counts],
    ] as const) {
      const key = String(counts.accepted);
      side.acceptedPerCustomer[key] = (side.acceptedPerCustomer[key] ?? 0) + 1;
    }
    result.mostAffected = topAffected([
      ...result.mostAffected,
      { pseudonym, before: current.counts, after: drafted.counts },
    ]);
  }
  return result;
}

const change = (c: AffectedCustomer) =>
  Math.abs(c.after.accepted - c.before.accepted) * 1e6 + Math.abs(c.after.suppressed - c.before.suppressed);

function topAffected(list: AffectedCustomer[]): AffectedCustomer[] {
  return list
    .filter((c) => change(c) > 0)
    .sort((a, b) => change(b) - change(a) || (a.pseudonym < b.pseudonym ? -1 : 1))
    .slice(0, MOST_AFFECTED);
}

function addCounts(into: Record<string, OutcomeCounts>, from: Record<string, OutcomeCounts>): void {
  for (const [k, c] of Object.entries(from)) {
    const t = countsAt(into, k);
    t.accepted += c.accepted;
    t.deferred += c.deferred;
    t.suppressed += c.suppressed;
  }
}

function addTally(into: ShardTally, t: ShardTally): void {
  into.accepted += t.accepted;
  into.deferred += t.deferred;
  into.suppressed += t.suppressed;
  for (const [k, n] of Object.entries(t.byReason)) into.byReason[k] = (into.byReason[k] ?? 0) + n;
  addCounts(into.byChannel, t.byChannel);
  addCounts(into.byCampaign, t.byCampaign);
  into.avoidedCostMicros += t.avoidedCostMicros;
  into.relevanceSum += t.relevanceSum;
  into.relevanceCount += t.relevanceCount;
  for (const [k, n] of Object.entries(t.acceptedPerCustomer))
    into.acceptedPerCustomer[k] = (into.acceptedPerCustomer[k] ?? 0) + n;
}

/** Nearest-rank percentiles of accepted messages per customer per week. */
function perWeek(histogram: Record<string, number>, weeks: number): DryRunSide['perCustomerPerWeek'] {
  const values = Object.entries(histogram)
    .map(([k, n]) => [Number(k), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = values.reduce((s, [, n]) => s + n, 0);
  const at = (q: number) => {
    if (total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (const [v, n] of values) {
      seen += n;
      if (seen >= rank) return Math.round((v / weeks) * 1000) / 1000;
    }
    return 0;
  };
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

function side(t: ShardTally, currency: string, weeks: number): DryRunSide {
  return {
    accepted: t.accepted,
    deferred: t.deferred,
    suppressed: t.suppressed,
    byReason: t.byReason,
    byChannel: t.byChannel,
    byCampaign: t.byCampaign,
    avoidedCost: t.avoidedCostMicros / 1_000_000,
    currency,
    meanRelevanceDelivered:
      t.relevanceCount === 0 ? null : Math.round((t.relevanceSum / t.relevanceCount) * 10_000) / 10_000,
    perCustomerPerWeek: perWeek(t.acceptedPerCustomer, weeks),
  };
}

/** Merges the shards' results (exact: sums, a histogram, the top of the tops). */
export function mergeShards(
  results: readonly ShardResult[],
  input: { from: number; to: number; currency: { current: string; draft: string } },
): DryRunResult {
  const current = emptyTally();
  const draft = emptyTally();
  let events = 0;
  let affected: AffectedCustomer[] = [];
  for (const r of results) {
    events += r.events;
    addTally(current, r.current);
    addTally(draft, r.draft);
    affected = topAffected([...affected, ...r.mostAffected]);
  }
  const weeks = (input.to - input.from) / WEEK_MS;
  return {
    from: new Date(input.from).toISOString(),
    to: new Date(input.to).toISOString(),
    events,
    current: side(current, input.currency.current, weeks),
    draft: side(draft, input.currency.draft, weeks),
    mostAffected: affected,
  };
}
