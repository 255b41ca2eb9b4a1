/**
 * A stacked bar chart of counts per UTC day (uPlot on a canvas), with an HTML legend and, under the
 * cursor, the day's values in words. The numbers it draws are also in a table beside it (the page's),
 * which is what a screen reader reads.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { Format } from '../format.ts';

export interface BarSeries {
  label: string;
  values: number[];
}

/** Okabe–Ito-based colours, each at least 3:1 against white (WCAG 1.4.11), distinct side by side. */
export const PALETTE = [
  '#0b5cad',
  '#d55e00',
  '#007a5a',
  '#a3478f',
  '#8a6d00',
  '#5b6b7f',
  '#1b8ccf',
  '#7a3e00',
  '#3d3d9e',
  '#b3243f',
];
export const OTHERS_COLOR = '#8c96a3';

export const colorOf = (index: number, label: string) =>
  label === 'Others' ? OTHERS_COLOR : (PALETTE[index % PALETTE.length] as string);

const HEIGHT = 260;

export function StackedBars({
  days,
  series,
  format,
  label,
  xLabel = (day, style) => format.day(day, style),
  hint = 'Point at a bar to read the day’s figures.',
}: {
  days: string[];
  series: BarSeries[];
  format: Format;
  label: string;
  /** How a bar is named, under it (`short`) and under the legend (`long`): a UTC day by default. */
  xLabel?: (x: string, style: 'short' | 'long') => string;
  hint?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [hovered, setHovered] = useState<number | null>(null);

  useEffect(() => {
    const element = box.current;
    if (!element || days.length === 0) return;
    const x = days.map((_, i) => i);
    // Each bar is drawn from the top of the stack down: series i is the sum of series 0..i, drawn in
    // reverse so that the lower layers paint over the upper ones.
    const sums: number[][] = [];
    series.forEach((s, i) => {
      sums.push(s.values.map((v, d) => v + (i > 0 ? (sums[i - 1]?.[d] ?? 0) : 0)));
    });
    const order = series.map((_, i) => i).reverse();
    const bars = uPlot.paths.bars?.({ size: [0.7, 56], gap: 1 });
    const options: uPlot.Options = {
      width: element.clientWidth || 600,
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: {
        x: { time: false, range: [-0.5, days.length - 0.5] },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [
        {
          stroke: '#374151',
          grid: { show: false },
          incrs: [1, 2, 7, 14, 28],
          values: (_u, splits) =>
            splits.map((i) => (Number.isInteger(i) && days[i] ? xLabel(days[i], 'short') : '')),
        },
        {
          stroke: '#374151',
          grid: { stroke: '#e5e7eb' },
          incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000],
          values: (_u, splits) => splits.map((v) => format.number(v)),
          size: 56,
        },
      ],
      series: [
        {},
        ...order.map((i) => ({
          label: series[i]?.label ?? '',
          fill: colorOf(i, series[i]?.label ?? ''),
          stroke: '#ffffff',
          width: 1,
          ...(bars ? { paths: bars } : {}),
          points: { show: false },
        })),
      ],
      hooks: {
        setCursor: [(u) => setHovered(u.cursor.idx ?? null)],
      },
    };
    const plot = new uPlot(options, [x, ...order.map((i) => sums[i] ?? [])], element);
    const resize = new ResizeObserver(() => plot.setSize({ width: element.clientWidth, height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [days, series, format]);

  const day = hovered === null ? undefined : days[hovered];
  return (
    <figure class="chart">
      <div ref={box} class="chart-canvas" role="img" aria-label={label} />
      <figcaption>
        <ul class="legend">
          {series.map((s, i) => (
            <li key={s.label}>
              <span class="swatch" style={{ background: colorOf(i, s.label) }} aria-hidden="true" />
              {s.label}
              {day !== undefined && hovered !== null ? (
                <strong class="legend-value">{format.number(s.values[hovered] ?? 0)}</strong>
              ) : null}
            </li>
          ))}
        </ul>
        <p class="muted chart-hint">{day ? xLabel(day, 'long') : hint}</p>
      </figcaption>
    </figure>
  );
}
