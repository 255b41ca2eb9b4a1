/**
 * The simulation's figures as one SVG page of four panels, written by hand (no dependency): the
 * distribution of messages per customer per week, the customers over the caps and over their wish,
 * what was not sent by channel with the cost it avoided, and the relevance of what was delivered.
 */
import type { Channel } from '#shared/domain/schemas.ts';
import {
  type SimulationReport,
  STRATEGIES,
  STRATEGY_LABELS,
  type StrategyId,
  WEEK_BINS,
} from './simulation.ts';

const COLORS: Record<StrategyId, string> = {
  before: '#8c8c8c',
  fcfs: '#e6862e',
  governor: '#1f6fb4',
  optimum: '#2a9d3a',
  optimumAtGovernorVolume: '#9bd18f',
};
/** Short names that fit under a bar. */
const SHORT: Record<StrategyId, string> = {
  before: 'before',
  fcfs: 'FCFS caps',
  governor: 'governor',
  optimum: 'optimum',
  optimumAtGovernorVolume: 'optimum @ gov. vol.',
};
const CHART_CHANNELS: Channel[] = ['email', 'sms', 'push'];
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 && x > 0 ? 1 : 0)}%`;

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

/** Frame, title, y grid and labels; returns the value-to-pixel map for the y axis. */
function axes(
  p: Panel,
  title: string,
  yLabel: string,
  yMax: number,
  format: (v: number) => string,
): { y: (v: number) => number; parts: string[] } {
  const ts = ticks(yMax);
  const top = ts[ts.length - 1] ?? yMax;
  const y = (v: number) => p.y + p.h - (v / top) * p.h;
  const parts = [text(p.x - 70, p.y - 34, title, 'font-size="16" font-weight="bold" fill="#222"')];
  for (const t of ts) {
    parts.push(
      `<line x1="${p.x}" x2="${p.x + p.w}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e3e3e3"/>`,
    );
    parts.push(text(p.x - 6, y(t) + 4, format(t), 'font-size="11" fill="#555" text-anchor="end"'));
  }
  parts.push(`<line x1="${p.x}" x2="${p.x}" y1="${p.y}" y2="${p.y + p.h}" stroke="#444"/>`);
  parts.push(`<line x1="${p.x}" x2="${p.x + p.w}" y1="${p.y + p.h}" y2="${p.y + p.h}" stroke="#444"/>`);
  parts.push(
    `<text transform="translate(${p.x - 62},${p.y + p.h / 2}) rotate(-90)" ${FONT} font-size="12" fill="#333" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  return { y, parts };
}

function legend(
  x: number,
  y: number,
  ids: readonly StrategyId[],
  dashed: Set<StrategyId> = new Set(),
): string {
  return ids
    .map((id, i) => {
      const lx = x + (i % 3) * 185;
      const ly = y + Math.floor(i / 3) * 17;
      const swatch = dashed.has(id)
        ? `<line x1="${lx}" x2="${lx + 16}" y1="${ly - 4}" y2="${ly - 4}" stroke="${COLORS[id]}" stroke-width="3" stroke-dasharray="4 3"/>`
        : `<rect x="${lx}" y="${ly - 10}" width="14" height="10" fill="${COLORS[id]}"/>`;
      return swatch + text(lx + 20, ly, STRATEGY_LABELS[id], 'font-size="12" fill="#333"');
    })
    .join('');
}

function distributionPanel(r: SimulationReport, p: Panel): string {
  const ids: StrategyId[] = ['before', 'fcfs', 'governor', 'optimum'];
  const yMax = Math.max(...ids.flatMap((id) => r.strategies[id].perWeek.histogram)) * 100;
  const { y, parts } = axes(
    p,
    'Messages per customer per week (distribution)',
    '% of customers',
    yMax,
    (v) => `${v}%`,
  );
  const x = (bin: number) => p.x + ((bin + 0.5) / WEEK_BINS) * p.w;
  for (let bin = 0; bin < WEEK_BINS; bin++) {
    const label = bin === WEEK_BINS - 1 ? `${bin}+` : `${bin}`;
    parts.push(text(x(bin), p.y + p.h + 16, label, 'font-size="11" fill="#555" text-anchor="middle"'));
  }
  parts.push(
    text(
      p.x + p.w / 2,
      p.y + p.h + 34,
      'messages delivered per week (average over the period, rounded down)',
      'font-size="12" fill="#333" text-anchor="middle"',
    ),
  );
  for (const id of ids) {
    const pts = r.strategies[id].perWeek.histogram.map(
      (share, bin) => `${x(bin).toFixed(1)},${y(share * 100).toFixed(1)}`,
    );
    const dash = id === 'optimum' ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<polyline points="${pts.join(' ')}" fill="none" stroke="${COLORS[id]}" stroke-width="2.5"${dash}/>`,
    );
    for (const pt of pts) {
      const [cx, cy] = pt.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${COLORS[id]}"/>`);
    }
  }
  parts.push(legend(p.x, p.y + p.h + 56, ids, new Set(['optimum'])));
  return parts.join('\n');
}

function groupedBars(
  p: Panel,
  groups: string[],
  series: { label: string; color: string; values: number[]; valueLabels: string[] }[],
  y: (v: number) => number,
): string[] {
  const parts: string[] = [];
  const groupW = p.w / groups.length;
  const barW = Math.min(34, (groupW * 0.8) / series.length);
  groups.forEach((g, gi) => {
    const gx = p.x + gi * groupW + (groupW - barW * series.length) / 2;
    series.forEach((s, si) => {
      const v = s.values[gi] ?? 0;
      const bx = gx + si * barW;
      const by = y(Math.max(0, v));
      parts.push(
        `<rect x="${bx.toFixed(1)}" y="${by.toFixed(1)}" width="${(barW - 3).toFixed(1)}" height="${(p.y + p.h - by).toFixed(1)}" fill="${s.color}"/>`,
      );
      parts.push(
        text(
          bx + (barW - 3) / 2,
          by - 4,
          s.valueLabels[gi] ?? '',
          'font-size="10" fill="#333" text-anchor="middle"',
        ),
      );
    });
    parts.push(
      text(
        p.x + gi * groupW + groupW / 2,
        p.y + p.h + 16,
        g,
        'font-size="12" fill="#333" text-anchor="middle"',
      ),
    );
  });
  return parts;
}

function overCapPanel(r: SimulationReport, p: Panel): string {
  const ids = STRATEGIES;
  const { y, parts } = axes(
    p,
    'Customers over the caps, and over what they want',
    '% of customers',
    100,
    (v) => `${v}%`,
  );
  const metrics = [
    {
      label: 'over a cap in some rolling window (policy caps or their own)',
      color: '#c0392b',
      get: (id: StrategyId) => r.strategies[id].overCapShare,
    },
    {
      label: 'more messages a week than they want',
      color: '#7f8fa6',
      get: (id: StrategyId) => r.strategies[id].overWishShare,
    },
  ];
  parts.push(
    ...groupedBars(
      p,
      ids.map((id) => SHORT[id]),
      metrics.map((m) => ({
        label: m.label,
        color: m.color,
        values: ids.map((id) => m.get(id) * 100),
        valueLabels: ids.map((id) => pct(m.get(id))),
      })),
      y,
    ),
  );
  metrics.forEach((m, i) => {
    const ly = p.y + p.h + 40 + i * 17;
    parts.push(`<rect x="${p.x}" y="${ly - 10}" width="14" height="10" fill="${m.color}"/>`);
    parts.push(text(p.x + 20, ly, m.label, 'font-size="12" fill="#333"'));
  });
  return parts.join('\n');
}

function suppressedPanel(r: SimulationReport, p: Panel): string {
  const ids: StrategyId[] = ['fcfs', 'governor', 'optimum'];
  const yMax = Math.max(...ids.flatMap((id) => CHART_CHANNELS.map((c) => r.strategies[id].notSent[c])));
  const { y, parts } = axes(
    p,
    'Not sent compared with before, by channel (label: avoided cost, EUR)',
    'messages not sent',
    yMax,
    n0,
  );
  parts.push(
    ...groupedBars(
      p,
      CHART_CHANNELS.map((c) => `${c} (${n0(r.strategies.before.byChannel[c])} sent before)`),
      ids.map((id) => ({
        label: STRATEGY_LABELS[id],
        color: COLORS[id],
        values: CHART_CHANNELS.map((c) => r.strategies[id].notSent[c]),
        valueLabels: CHART_CHANNELS.map((c) => `€${r.strategies[id].avoidedCost[c].toFixed(0)}`),
      })),
      y,
    ),
  );
  parts.push(legend(p.x, p.y + p.h + 40, ids));
  return parts.join('\n');
}

function relevancePanel(r: SimulationReport, p: Panel): string {
  const ids = STRATEGIES;
  const yMax = Math.max(...ids.map((id) => r.strategies[id].meanRelevance));
  const { y, parts } = axes(p, 'Mean relevance of delivered messages', 'mean relevance (0–1)', yMax, (v) =>
    v.toFixed(2),
  );
  const groupW = p.w / ids.length;
  ids.forEach((id, i) => {
    const s = r.strategies[id];
    const bw = groupW * 0.55;
    const bx = p.x + i * groupW + (groupW - bw) / 2;
    const by = y(s.meanRelevance);
    parts.push(
      `<rect x="${bx.toFixed(1)}" y="${by.toFixed(1)}" width="${bw.toFixed(1)}" height="${(p.y + p.h - by).toFixed(1)}" fill="${COLORS[id]}"/>`,
    );
    parts.push(
      text(
        bx + bw / 2,
        by - 5,
        s.meanRelevance.toFixed(3),
        'font-size="12" font-weight="bold" fill="#222" text-anchor="middle"',
      ),
    );
    const cx = p.x + i * groupW + groupW / 2;
    parts.push(text(cx, p.y + p.h + 16, SHORT[id], 'font-size="12" fill="#333" text-anchor="middle"'));
    parts.push(
      text(
        cx,
        p.y + p.h + 31,
        `${n0(s.delivered)} delivered`,
        'font-size="10" fill="#555" text-anchor="middle"',
      ),
    );
    parts.push(
      text(
        cx,
        p.y + p.h + 45,
        `Σ relevance ${n0(s.relevanceSum)}`,
        'font-size="10" fill="#555" text-anchor="middle"',
      ),
    );
  });
  return parts.join('\n');
}

export function renderChart(r: SimulationReport): string {
  const width = 1400;
  const height = 1000;
  const { seed, customers, days } = r.options;
  const t = r.targets;
  const sign = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)}%`;
  const header = [
    text(
      40,
      34,
      `Governor simulation — seed ${seed}, ${n0(customers)} customers, ${days} days, ${n0(r.messages)} messages from ${r.campaigns} campaigns`,
      'font-size="20" font-weight="bold" fill="#111"',
    ),
    text(
      40,
      58,
      `Governor mean delivered relevance ${sign(t.vsFcfs)} vs FCFS; ${sign(t.vsOptimumAtGovernorVolume)} vs the offline optimum at the same volume; ${sign(t.vsOptimum)} vs the optimum filling the caps, with ${pct(t.totalVsOptimum)} of its total relevance.`,
      'font-size="13" fill="#333"',
    ),
  ];
  const panels = [
    distributionPanel(r, { x: 120, y: 140, w: 540, h: 280 }),
    overCapPanel(r, { x: 820, y: 140, w: 540, h: 280 }),
    suppressedPanel(r, { x: 120, y: 610, w: 540, h: 280 }),
    relevancePanel(r, { x: 820, y: 610, w: 540, h: 280 }),
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...header,
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}
