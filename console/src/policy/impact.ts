/**
 * A dry-run's two sides (the policy in force, the draft) as the impact preview shows them: rows of
 * figures side by side, and the differences said in words ("The draft would deliver 120 fewer messages
 * (−12 %)"). Only arithmetic on what the API answered: the replay itself is the server's.
 */
import type { Format } from '../format.ts';
import { reasonLabel } from '../labels.ts';

/** One side of a dry-run, as GET /v1/policy/dry-runs/{id} answers it (the fields the preview shows). */
export interface ImpactSide {
  accepted: number;
  deferred: number;
  suppressed: number;
  byReason: Record<string, number>;
  avoidedCost: number;
  currency: string;
  perCustomerPerWeek: { p50: number; p90: number; p99: number; max: number };
}

export interface ImpactRow {
  key: string;
  label: string;
  current: number;
  draft: number;
  /** A row inside the one above it (a suppression reason under "Suppressed"). */
  sub?: boolean;
  kind: 'count' | 'money' | 'rate';
}

export const PERCENTILES = ['p50', 'p90', 'p99', 'max'] as const;

/** The reasons either side suppressed for, the most frequent (in force) first. */
export function reasonsOf(current: ImpactSide, draft: ImpactSide): string[] {
  const all = new Set([...Object.keys(current.byReason), ...Object.keys(draft.byReason)]);
  return [...all]
    .filter((r) => (current.byReason[r] ?? 0) > 0 || (draft.byReason[r] ?? 0) > 0)
    .sort(
      (a, b) =>
        (current.byReason[b] ?? 0) - (current.byReason[a] ?? 0) ||
        (draft.byReason[b] ?? 0) - (draft.byReason[a] ?? 0) ||
        a.localeCompare(b),
    );
}

export function impactRows(current: ImpactSide, draft: ImpactSide): ImpactRow[] {
  return [
    { key: 'accepted', label: 'Delivered', current: current.accepted, draft: draft.accepted, kind: 'count' },
    { key: 'deferred', label: 'Deferred', current: current.deferred, draft: draft.deferred, kind: 'count' },
    {
      key: 'suppressed',
      label: 'Suppressed',
      current: current.suppressed,
      draft: draft.suppressed,
      kind: 'count',
    },
    ...reasonsOf(current, draft).map(
      (reason): ImpactRow => ({
        key: `reason-${reason}`,
        label: reasonLabel(reason),
        current: current.byReason[reason] ?? 0,
        draft: draft.byReason[reason] ?? 0,
        sub: true,
        kind: 'count',
      }),
    ),
    {
      key: 'avoidedCost',
      label: 'Avoided cost',
      current: current.avoidedCost,
      draft: draft.avoidedCost,
      kind: 'money',
    },
    ...PERCENTILES.map(
      (p): ImpactRow => ({
        key: `perCustomer-${p}`,
        label: p === 'max' ? 'Per customer per week, most' : `Per customer per week, ${p}`,
        current: current.perCustomerPerWeek[p],
        draft: draft.perCustomerPerWeek[p],
        kind: 'rate',
      }),
    ),
  ];
}

const plural = (n: number, one: string, many: string) => (Math.abs(n) === 1 ? one : many);

/** "120 fewer (−12 %)", "3 more (+50 %)": the change of a count, with its share when there was one. */
function change(format: Format, current: number, draft: number, noun: [string, string]): string {
  const delta = draft - current;
  const words = `${format.number(Math.abs(delta))} ${delta < 0 ? 'fewer' : 'more'} ${plural(delta, ...noun)}`;
  if (current === 0) return words;
  const share = format.percent(Math.abs(delta) / current);
  return `${words} (${delta < 0 ? '−' : '+'}${share})`;
}

/** The differences between the two sides, one sentence each; one sentence when there is none. */
export function impactWords(current: ImpactSide, draft: ImpactSide, format: Format): string[] {
  const said: string[] = [];
  if (draft.accepted !== current.accepted)
    said.push(
      `The draft would deliver ${change(format, current.accepted, draft.accepted, ['message', 'messages'])}: ${format.number(draft.accepted)} instead of ${format.number(current.accepted)}.`,
    );
  if (draft.deferred !== current.deferred)
    said.push(
      `It would defer ${change(format, current.deferred, draft.deferred, ['message', 'messages'])}: ${format.number(draft.deferred)} instead of ${format.number(current.deferred)}.`,
    );
  for (const reason of reasonsOf(current, draft)) {
    const before = current.byReason[reason] ?? 0;
    const after = draft.byReason[reason] ?? 0;
    if (before === after) continue;
    said.push(
      `${reasonLabel(reason)}: ${format.number(after)} suppressed instead of ${format.number(before)} (${after > before ? '+' : '−'}${format.number(Math.abs(after - before))}).`,
    );
  }
  if (draft.avoidedCost !== current.avoidedCost || draft.currency !== current.currency) {
    const more = draft.avoidedCost > current.avoidedCost;
    said.push(
      `The avoided cost would be ${format.money(draft.avoidedCost, draft.currency)} instead of ${format.money(current.avoidedCost, current.currency)}${draft.currency === current.currency ? ` (${more ? 'more' : 'less'} saved)` : ''}.`,
    );
  }
  const p = (side: ImpactSide, key: (typeof PERCENTILES)[number]) =>
    format.decimal(side.perCustomerPerWeek[key], 1);
  const moved = PERCENTILES.filter((k) => draft.perCustomerPerWeek[k] !== current.perCustomerPerWeek[k]);
  if (moved.length > 0)
    said.push(
      `Messages per customer per week: ${moved
        .map((k) => `${k === 'max' ? 'the most' : k} from ${p(current, k)} to ${p(draft, k)}`)
        .join(', ')}.`,
    );
  if (said.length === 0) said.push('The draft would decide this traffic exactly as the policy in force did.');
  return said;
}
