/**
 * The figures of several seeds together: per strategy, the mean over the seeds of each figure, its
 * range (min and max), and each seed's own figures. This is what `npm run simulate -- --json` prints:
 * one JSON object keyed by strategy (README "The simulation" documents the keys).
 */
import type { StrategyFigures } from './metrics.ts';
import {
  type BoundFigures,
  type FixedId,
  MATCHED_TO,
  type Matching,
  type SimulationReport,
  STRATEGIES,
  STRATEGY_LABELS,
  type StrategyId,
} from './simulation.ts';

/** The figures that are numbers: the ones averaged and ranged over seeds. */
export type NumericFigure = {
  [K in keyof StrategyFigures]: StrategyFigures[K] extends number ? K : never;
}[keyof StrategyFigures];

export type StrategySummary = { label: string; kind: 'strategy' } & Record<NumericFigure, number> & {
    range: Record<NumericFigure, [number, number]>;
    bySeed: Record<string, StrategyFigures & { matching?: Matching }>;
  };

/** The bound has only relevance figures; the others are null (it ignores timing, so no behaviour). */
export type BoundSummary = { label: string; kind: 'bound'; note: string } & BoundFigures & {
    range: Record<keyof BoundFigures, [number, number]>;
    bySeed: Record<string, BoundFigures>;
  } & Partial<Record<Exclude<NumericFigure, keyof BoundFigures>, null>>;

export type Summary = Record<StrategyId, StrategySummary> & { upperBound: BoundSummary };

function numericKeys<T extends object>(o: T): (keyof T & string)[] {
  return (Object.keys(o) as (keyof T & string)[]).filter((k) => typeof o[k] === 'number');
}

function stats<T extends object>(rows: T[], keys: (keyof T & string)[]) {
  const mean = {} as Record<string, number>;
  const range = {} as Record<string, [number, number]>;
  for (const k of keys) {
    const values = rows.map((r) => r[k] as number);
    mean[k] = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
    range[k] = [Math.min(...values), Math.max(...values)];
  }
  return { mean, range };
}

const isFixed = (id: StrategyId): id is FixedId => id in MATCHED_TO;

export function summarise(reports: readonly SimulationReport[]): Summary {
  const first = reports[0];
  if (!first) throw new Error('no seed to summarise');
  const out = {} as Summary;
  for (const id of STRATEGIES) {
    const rows = reports.map((r) => r.strategies[id]);
    const { mean, range } = stats(rows, numericKeys(first.strategies[id]));
    const bySeed: StrategySummary['bySeed'] = {};
    for (const r of reports)
      bySeed[String(r.options.seed)] = isFixed(id)
        ? { ...r.strategies[id], matching: r.matchings[id] }
        : r.strategies[id];
    out[id] = { label: STRATEGY_LABELS[id], kind: 'strategy', ...mean, range, bySeed } as StrategySummary;
  }
  const bounds = reports.map((r) => r.upperBound);
  const { mean, range } = stats(bounds, numericKeys(first.upperBound));
  const nulls = Object.fromEntries(
    numericKeys(first.strategies.governor)
      .filter((k) => !(k in first.upperBound))
      .map((k) => [k, null]),
  );
  out.upperBound = {
    label: STRATEGY_LABELS.upperBound,
    kind: 'bound',
    note: "a bound, not a strategy: each customer's most relevant messages, as many as the governor delivered to them, ignoring timing and caps",
    ...nulls,
    ...(mean as unknown as BoundFigures),
    range: range as BoundSummary['range'],
    bySeed: Object.fromEntries(reports.map((r) => [String(r.options.seed), r.upperBound])),
  };
  return out;
}
