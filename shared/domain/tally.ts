/**
 * Counting decisions for finance. Decisions are aggregated in memory into groups (day, stage, outcome,
 * reason, channel, campaign, category, policy version) and written once per request; reports sum the
 * groups and price each at the channel cost of the policy version it was decided under, so a later
 * price change does not rewrite history.
 */
import type { ArmOf, Verdict } from './decision.ts';
import type { Channel, Outcome, Policy } from './schemas.ts';

/**
 * Where a count comes from: the send API's decision, the release of a deferred message, an erasure;
 * and, for the experiment report, a customer joining an experiment's arm (`enrolment`, counted with its
 * first decision in it: its outcome and channel) and an event of a customer in an arm (`engagement`,
 * the event's type as its reason, outcome `accepted`). Finance's reports count the first three only.
 */
export type Stage = 'decision' | 'release' | 'erasure' | 'enrolment' | 'engagement';

/** The stages that count decisions (what the suppressed and summary reports read). */
export const DECISION_STAGES: ReadonlySet<Stage> = new Set<Stage>(['decision', 'release', 'erasure']);

export interface Counted {
  at: number;
  stage: Stage;
  outcome: Outcome;
  reason?: string | undefined;
  channel: Channel;
  campaignId?: string | undefined;
  category?: string | undefined;
  policyVersion: number;
  /** The experiment and arm of the customer (absent: none ran). */
  experiment?: ArmOf | undefined;
}

/**
 * A decision as counts see it: a decided message (its verdict) or a release's outcome (already flat),
 * with its time, policy version, campaign and category.
 */
export type Countable = {
  at: number;
  policyVersion: number;
  campaignId?: string | undefined;
  category?: string | undefined;
  experiment?: ArmOf | undefined;
} & ({ verdict: Verdict } | { outcome: Outcome; reason?: string | undefined; channel: Channel });

/** What one decision adds to the counts at `stage`; only a suppression counts its reason. */
export function countedOf(d: Countable, stage: Stage): Counted {
  const { outcome, reason, channel } =
    'verdict' in d
      ? {
          outcome: d.verdict.outcome,
          reason: d.verdict.outcome === 'suppressed' ? d.verdict.reason : undefined,
          channel: d.verdict.channel,
        }
      : d;
  return {
    at: d.at,
    stage,
    outcome,
    reason,
    channel,
    campaignId: d.campaignId,
    category: d.category,
    policyVersion: d.policyVersion,
    ...(d.experiment ? { experiment: d.experiment } : {}),
  };
}

export interface Group {
  day: string;
  stage: Stage;
  outcome: Outcome;
  reason: string;
  channel: Channel;
  campaignId: string;
  category: string;
  policyVersion: number;
  /** The experiment and arm ('' when none: the key of such a group has no such fields). */
  experiment: string;
  arm: string;
}

export const dayOf = (instant: number) => new Date(instant).toISOString().slice(0, 10);

/** A group's key inside a day: the group's fields without the day, as a JSON array. */
export function groupKey(g: Omit<Group, 'day'>): string {
  const fields = [g.stage, g.outcome, g.reason, g.channel, g.campaignId, g.category, g.policyVersion];
  return JSON.stringify(g.experiment === '' ? fields : [...fields, g.experiment, g.arm]);
}

export function parseGroupKey(day: string, key: string): Group {
  const [stage, outcome, reason, channel, campaignId, category, policyVersion, experiment, arm] = JSON.parse(
    key,
  ) as [Stage, Outcome, string, Channel, string, string, number, string?, string?];
  return {
    day,
    stage,
    outcome,
    reason,
    channel,
    campaignId,
    category,
    policyVersion,
    experiment: experiment ?? '',
    arm: arm ?? '',
  };
}

/** Counts by day, then by group key. */
export type DayCounts = Map<string, Map<string, number>>;

export function tally(items: readonly Counted[], into: DayCounts = new Map()): DayCounts {
  for (const c of items) {
    const day = dayOf(c.at);
    const key = groupKey({
      stage: c.stage,
      outcome: c.outcome,
      reason: c.reason ?? '',
      channel: c.channel,
      campaignId: c.campaignId ?? '',
      category: c.category ?? '',
      policyVersion: c.policyVersion,
      experiment: c.experiment?.id ?? '',
      arm: c.experiment?.arm ?? '',
    });
    let groups = into.get(day);
    if (!groups) {
      groups = new Map();
      into.set(day, groups);
    }
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return into;
}

/** a − b, group by group, leaving out zeros. */
export function difference(a: DayCounts, b: DayCounts): DayCounts {
  const out: DayCounts = new Map();
  for (const day of new Set([...a.keys(), ...b.keys()])) {
    const groups = new Map<string, number>();
    const left = a.get(day) ?? new Map<string, number>();
    const right = b.get(day) ?? new Map<string, number>();
    for (const key of new Set([...left.keys(), ...right.keys()])) {
      const d = (left.get(key) ?? 0) - (right.get(key) ?? 0);
      if (d !== 0) groups.set(key, d);
    }
    if (groups.size > 0) out.set(day, groups);
  }
  return out;
}

export function sum(a: DayCounts, b: DayCounts): DayCounts {
  const out: DayCounts = new Map();
  for (const counts of [a, b]) {
    for (const [day, groups] of counts) {
      const target = out.get(day) ?? new Map<string, number>();
      for (const [key, n] of groups) target.set(key, (target.get(key) ?? 0) + n);
      out.set(day, target);
    }
  }
  return out;
}

/** Money as integer millionths of the currency unit, so that sums are exact. */
export function unitCostMicros(policy: Policy, channel: Channel): number {
  return Math.round(policy.channelCosts[channel] * 1_000_000);
}

export const microsToAmount = (micros: number) => micros / 1_000_000;
