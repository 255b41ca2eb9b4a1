/**
 * The simulation's figures as one SVG page of four panels, written by hand (no dependency): customers
 * over their wished frequency, opens and clicks against no governor, unsubscribes and complaints, and
 * the relevance delivered against the upper bound. Bars are the mean over the seeds; whiskers span the
 * lowest and highest seed.
 */
import { type SimulationReport, STRATEGIES, STRATEGY_LABELS, type StrategyId } from './simulation.ts';
import type { Summary } from './summary.ts';

const FONT = 'font-family="Helvetica, Arial, sans-serif"';
/** Short names that fit under a group of bars, on two lines. */
const SHORT: Record<StrategyId | 'upperBound', [string, string?]> = {
  noGovernor: ['no governor'],
  fcfs: ['FCFS caps'],
  fixedAtNoPreemption: ['fixed @ its vol.', 'no pre-emption'],
  governorNoPreemption: ['governor', 'no pre-emption'],
  fixedThreshold: ['fixed @ its vol.', '+ pre-emption'],
  governor: ['governor', '+ pre-emption'],
  governorWithFatigue: ['gov. + fatigue'],
  fixedAtDigests: ['fixed @ its vol.', '+ pre-emption'],
  governorWithDigests: ['gov. + digests', '+ pre-emption'],
  upperBound: ['upper bound'],
};
const groupOf = (id: StrategyId | 'upperBound', more?: string): Group => ({
  lines: [...SHORT[id], ...(more ? [more] : [])].filter((l): l is string => l !== undefined),
});

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const n0 = (x: number) => Math.round(x).toLocaleString('en-US');

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} ${attrs}>${esc(s)}</text>`;
}

/** A round step giving about `count` ticks up to `max`. */
function ticks(max: number, count = 5): number[] {
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(v);
  if ((out[out.length - 1] ?? 0) < max) out.push(out.length * step);
  return out;
}

interface Panel {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Stat {
  mean: number;
  min: number;
  max: number;
}

function stat(xs: number[]): Stat {
  return {
    mean: xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length),
    min: Math.min(...xs),
    max: Math.max(...xs),
  };
}

interface Series {
  label: string;
  color: string;
  /** Per group; undefined draws nothing (a strategy not run). */
  values: (Stat | undefined)[];
  format: (v: number) => string;
}

interface Group {
  /** The first line is the name, the others (smaller) say more. */
  lines: string[];
}

/** A panel of grouped bars with whiskers, a y grid, a legend and optional dashed reference lines. */
function barPanel(
  p: Panel,
  title: string,
  yLabel: string,
  groups: Group[],
  series: Series[],
  yFormat: (v: number) => string,
  references: { value: number; label: string }[] = [],
): string {
  const yMax = Math.max(
    ...series.flatMap((s) => s.values.map((v) => v?.max ?? 0)),
    ...references.map((r) => r.value),
    1e-9,
  );
  const ts = ticks(yMax * 1.08);
  const top = ts[ts.length - 1] ?? yMax;
  const y = (v: number) => p.y + p.h - (v / top) * p.h;
  const parts = [text(p.x - 70, p.y - 30, title, 'font-size="16" font-weight="bold" fill="#222"')];
  for (const t of ts) {
    parts.push(
      `<line x1="${p.x}" x2="${p.x + p.w}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e3e3e3"/>`,
    );
    parts.push(text(p.x - 6, y(t) + 4, yFormat(t), 'font-size="11" fill="#555" text-anchor="end"'));
  }
  parts.push(`<line x1="${p.x}" x2="${p.x}" y1="${p.y}" y2="${p.y + p.h}" stroke="#444"/>`);
  parts.push(`<line x1="${p.x}" x2="${p.x + p.w}" y1="${p.y + p.h}" y2="${p.y + p.h}" stroke="#444"/>`);
  parts.push(
    `<text transform="translate(${p.x - 60},${p.y + p.h / 2}) rotate(-90)" ${FONT} font-size="12" fill="#333" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  const groupW = p.w / groups.length;
  const barW = Math.min(36, (groupW * 0.82) / series.length);
  groups.forEach((g, gi) => {
    const gx = p.x + gi * groupW + (groupW - barW * series.length) / 2;
    const cx = p.x + gi * groupW + groupW / 2;
    series.forEach((s, si) => {
      const v = s.values[gi];
      if (!v) return;
      const bx = gx + si * barW;
      const by = y(Math.max(0, v.mean));
      const w = barW - 3;
      parts.push(
        `<rect x="${bx.toFixed(1)}" y="${by.toFixed(1)}" width="${w.toFixed(1)}" height="${(p.y + p.h - by).toFixed(1)}" fill="${s.color}"/>`,
      );
      if (v.max > v.min) {
        const mx = bx + w / 2;
        parts.push(
          `<path d="M${mx.toFixed(1)} ${y(v.min).toFixed(1)}V${y(v.max).toFixed(1)}M${(mx - 4).toFixed(1)} ${y(v.min).toFixed(1)}h8M${(mx - 4).toFixed(1)} ${y(v.max).toFixed(1)}h8" stroke="#222" stroke-width="1.2" fill="none"/>`,
        );
      }
      parts.push(
        text(
          bx + w / 2,
          Math.min(by, y(v.max)) - 4,
          s.format(v.mean),
          'font-size="10" fill="#333" text-anchor="middle"',
        ),
      );
    });
    g.lines.forEach((line, li) => {
      const style = li === 0 ? 'font-size="12" fill="#333"' : 'font-size="10" fill="#555"';
      parts.push(text(cx, p.y + p.h + 16 + li * 13, line, `${style} text-anchor="middle"`));
    });
  });
  for (const r of references) {
    const ry = y(r.value).toFixed(1);
    parts.push(
      `<line x1="${p.x}" x2="${p.x + p.w}" y1="${ry}" y2="${ry}" stroke="#c0392b" stroke-dasharray="6 4"/>`,
    );
  }
  // The legend: the series, then the reference lines, laid out in rows by the length of their labels.
  const items = [
    ...series.map((s) => ({
      label: s.label,
      swatch: (x: number, y: number) =>
        `<rect x="${x}" y="${y - 10}" width="14" height="10" fill="${s.color}"/>`,
    })),
    ...references.map((r) => ({
      label: r.label,
      swatch: (x: number, y: number) =>
        `<line x1="${x}" x2="${x + 16}" y1="${y - 4}" y2="${y - 4}" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    })),
  ];
  let lx = p.x;
  let ly = p.y + p.h + 60;
  for (const item of items) {
    const w = 30 + item.label.length * 6.3;
    if (lx > p.x && lx + w > p.x + p.w + 40) {
      lx = p.x;
      ly += 17;
    }
    parts.push(item.swatch(lx, ly));
    parts.push(text(lx + 20, ly, item.label, 'font-size="12" fill="#333"'));
    lx += w + 14;
  }
  return parts.join('\n');
}

const pct = (v: number) => `${(v * 100).toFixed(v > 0 && v < 0.1 ? 1 : 0)}%`;

export function renderChart(summary: Summary, reports: readonly SimulationReport[]): string {
  const width = 1900;
  const height = 1540;
  const first = reports[0];
  if (!first) throw new Error('no seed to chart');
  const seeds = reports.map((r) => r.options.seed).join(', ');
  const runs: StrategyId[] = [...STRATEGIES];
  const groups: Group[] = runs.map((id) => groupOf(id));
  const per = (f: (r: SimulationReport, id: StrategyId) => number) =>
    runs.map((id) => stat(reports.map((r) => f(r, id))));
  const vsNoGovernor = (key: 'opens' | 'clicks' | 'unsubscribes') => (r: SimulationReport, id: StrategyId) =>
    r.strategies[id][key] / Math.max(1, r.strategies.noGovernor[key]);
  const perThousand = (key: 'unsubscribes' | 'complaints') => (r: SimulationReport, id: StrategyId) =>
    (r.strategies[id][key] * 1000) / r.options.customers;

  const g = summary.governor;
  const f = summary.fixedThreshold;
  const header = [
    text(
      40,
      34,
      `Governor simulation — seeds ${seeds}, ${n0(first.options.customers)} customers, ${first.options.days} days, ${n0(first.messages)} messages on seed ${first.options.seed}`,
      'font-size="20" font-weight="bold" fill="#111"',
    ),
    text(
      40,
      58,
      `Mean relevance delivered: governor + pre-emption ${g.meanRelevanceDelivered.toFixed(3)}, without ${summary.governorNoPreemption.meanRelevanceDelivered.toFixed(3)}, fixed threshold at the same volume ${f.meanRelevanceDelivered.toFixed(3)}, upper bound ${summary.upperBound.meanRelevanceDelivered.toFixed(3)}. Deferred: governor ${n0(g.deferred)} (mean wait ${g.meanWaitHours.toFixed(1)} h), fixed threshold ${n0(f.deferred)} (${f.meanWaitHours.toFixed(1)} h).`,
      'font-size="13" fill="#333"',
    ),
    text(
      40,
      76,
      `Over their wish with the governor: ${pct(g.overWishedShare)} of customers (${pct(g.overWishedShareStated)} of those who stated it, ${pct(g.overWishedShareUnstated)} of the others); with fatigue ${pct(summary.governorWithFatigue.overWishedShare)}. Bars: mean over the seeds; whiskers: lowest and highest seed.`,
      'font-size="13" fill="#333"',
    ),
  ];

  const panels = [
    barPanel(
      { x: 120, y: 150, w: 780, h: 280 },
      'Customers over their wished frequency (rolling 7 days)',
      '% of customers',
      groups,
      [
        {
          label: 'all customers',
          color: '#34495e',
          values: per((r, id) => r.strategies[id].overWishedShare),
          format: pct,
        },
        {
          label: 'stated their wish',
          color: '#7fb3d5',
          values: per((r, id) => r.strategies[id].overWishedShareStated),
          format: pct,
        },
        {
          label: 'never stated it',
          color: '#e59866',
          values: per((r, id) => r.strategies[id].overWishedShareUnstated),
          format: pct,
        },
      ],
      (v) => `${Math.round(v * 100)}%`,
      [{ value: 0.05, label: 'target with fatigue: < 5%' }],
    ),
    barPanel(
      { x: 1060, y: 150, w: 780, h: 280 },
      'Opens and clicks, against no governor',
      '% of no governor',
      groups,
      [
        { label: 'opens (reported)', color: '#85c1e9', values: per(vsNoGovernor('opens')), format: pct },
        { label: 'clicks', color: '#1f6fb4', values: per(vsNoGovernor('clicks')), format: pct },
      ],
      (v) => `${Math.round(v * 100)}%`,
      [{ value: 0.95, label: 'clicks target with fatigue: ≥ 95%' }],
    ),
    barPanel(
      { x: 120, y: 630, w: 780, h: 280 },
      'Unsubscribes and complaints',
      'per 1,000 customers over the period',
      groups,
      [
        {
          label: 'unsubscribes',
          color: '#e6862e',
          values: per(perThousand('unsubscribes')),
          format: (v) => v.toFixed(1),
        },
        {
          label: 'complaints',
          color: '#c0392b',
          values: per(perThousand('complaints')),
          format: (v) => v.toFixed(1),
        },
      ],
      (v) => v.toFixed(0),
      [
        {
          value: (summary.noGovernor.unsubscribes * 500) / first.options.customers,
          label: 'unsubscribes target with fatigue: ≤ 50% of no governor',
        },
      ],
    ),
    barPanel(
      { x: 1060, y: 630, w: 780, h: 280 },
      'Relevance delivered',
      'mean relevance (0–1)',
      [
        ...runs.map((id) => groupOf(id, `${n0(summary[id].delivered)} delivered`)),
        groupOf('upperBound', 'a bound, not a strategy'),
      ],
      [
        {
          label: 'mean relevance of what was delivered',
          color: '#2a9d3a',
          values: [
            ...per((r, id) => r.strategies[id].meanRelevanceDelivered),
            stat(reports.map((r) => r.upperBound.meanRelevanceDelivered)),
          ],
          format: (v) => v.toFixed(3),
        },
        {
          label: 'upper bound at the same per-customer volume',
          color: '#b7dfb9',
          values: [
            ...per(
              (r, id) =>
                r.strategies[id].relevanceBoundAtSameVolume / Math.max(1, r.strategies[id].delivered),
            ),
            undefined,
          ],
          format: (v) => v.toFixed(3),
        },
      ],
      (v) => v.toFixed(2),
    ),
    barPanel(
      { x: 120, y: 1110, w: 780, h: 280 },
      'Relevance delivered per customer',
      'total relevance per customer over the period',
      [...runs.map((id) => groupOf(id)), groupOf('upperBound', 'a bound, not a strategy')],
      [
        {
          label: 'relevance delivered per customer',
          color: '#2a9d3a',
          values: [
            ...per((r, id) => r.strategies[id].relevancePerCustomer),
            stat(reports.map((r) => r.upperBound.totalRelevanceDelivered / r.options.customers)),
          ],
          format: (v) => v.toFixed(2),
        },
      ],
      (v) => v.toFixed(1),
    ),
    barPanel(
      { x: 1060, y: 1110, w: 780, h: 280 },
      'Messages dropped for lack of a slot, and carried in digests',
      'messages per 1,000 customers',
      groups,
      [
        {
          label: 'dropped by a cap, a gap, quiet hours, fatigue or a more relevant message',
          color: '#8e44ad',
          values: per((r, id) => (r.strategies[id].droppedForLackOfASlot * 1000) / r.options.customers),
          format: n0,
        },
        {
          label: 'carried to the customer inside a digest instead',
          color: '#f1c40f',
          values: per((r, id) => (r.strategies[id].itemsInDigests * 1000) / r.options.customers),
          format: n0,
        },
      ],
      (v) => n0(v),
    ),
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...header,
    ...panels,
    text(
      40,
      height - 20,
      `Strategies: ${STRATEGIES.map((id) => STRATEGY_LABELS[id]).join('; ')}.`,
      'font-size="11" fill="#555"',
    ),
    '</svg>',
    '',
  ].join('\n');
}
