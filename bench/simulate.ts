/**
 * `npm run simulate [-- --seed N --customers N --days N --out FILE.svg --sweep]`: a synthetic population
 * and a month of campaigns run through the real decision engine, compared with first-come-first-served
 * capping and the offline optimum. Prints the figures and writes an SVG chart. Deterministic per seed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { localTime } from '#shared/domain/time-zone.ts';
import { parseCli, usageError } from '../scripts/cli.ts';
import { renderChart } from './simulation/chart.ts';
import type { RelevanceSettings } from './simulation/policy.ts';
import { HOME_TIME_ZONE } from './simulation/population.ts';
import {
  INTERESTING,
  type SimulationReport,
  STRATEGIES,
  STRATEGY_LABELS,
  type StrategyId,
  simulate,
  UNINTERESTING,
} from './simulation/simulation.ts';

const { values } = parseCli({
  name: 'simulate',
  command: 'npm run simulate --',
  usage: ['[options]'],
  description:
    'A synthetic population and a month of campaigns through the real decision engine, compared with\n' +
    'no governor, first-come-first-served capping and the offline optimum; prints the figures, writes an SVG.',
  options: {
    seed: { type: 'string', default: '42', placeholder: 'N', description: 'the run is the same for a seed' },
    customers: { type: 'string', default: '5000', placeholder: 'N', description: 'customers simulated' },
    days: { type: 'string', default: '30', placeholder: 'N', description: 'days of campaigns' },
    out: {
      type: 'string',
      default: 'bench/out/simulation.svg',
      placeholder: 'FILE',
      description: 'the chart',
    },
    sweep: { type: 'boolean', default: false, description: 'also print the trade-off of other thresholds' },
  },
});

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || (name !== 'seed' && n === 0))
    usageError('simulate', `--${name} must be a positive integer`);
  return n;
}

const seed = positiveInt('seed', values.seed);
const customers = positiveInt('customers', values.customers);
const days = positiveInt('days', values.days);

const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)}%`;
const pad = (s: string, n: number) => s.padStart(n);

function describePolicy(r: SimulationReport): string {
  const p = r.policy;
  const caps = p.caps
    .map((c) =>
      c.limit !== undefined ? `${c.match.channel ?? 'all'} ${c.limit}/${c.window}` : `min gap ${c.minGap}`,
    )
    .join(', ');
  const sms = p.relevance.byChannel?.sms;
  return (
    `caps ${caps}; relevance ≥ ${p.relevance.default.toFixed(2)}${sms === undefined ? '' : ` (sms ≥ ${sms.toFixed(2)})`}` +
    ` + ${p.relevance.pressureSlope.toFixed(2)} × pressure; quiet hours ${p.quietHours?.start}–${p.quietHours?.end} ${p.quietHours?.defaultTimezone}`
  );
}

function print(r: SimulationReport, elapsedMs: number, out: string): void {
  const pop = r.population;
  const lines: string[] = [];
  const first = localTime(r.start, HOME_TIME_ZONE);
  const start = `${first.year}-${String(first.month).padStart(2, '0')}-${String(first.day).padStart(2, '0')}`;
  lines.push(
    `Governor simulation — seed ${r.options.seed}, ${n0(r.options.customers)} customers, ${r.options.days} days from ${start} (${HOME_TIME_ZONE}), ${r.campaigns} campaigns, ${n0(r.messages)} messages (mean relevance ${pop.meanRelevanceSent.toFixed(3)})`,
  );
  lines.push(
    `Population, survey → simulated: too much that does not interest them 86% → ${pct(pop.mostlyUninterestingShare)} (most of what they get is below ${UNINTERESTING}); ` +
      `contacted too often 75% → ${pct(pop.overWishBeforeShare)} (more a week than they want); ` +
      `want to choose moment/channel/topics 42% → ${pct(pop.preferenceCentreShare)} use the preference centre; ` +
      `other time zones ${pct(pop.otherTimeZoneShare)}; a channel opted out ${pct(pop.optedOutShare)}`,
  );
  lines.push(`Governor policy: ${describePolicy(r)}`);
  lines.push(
    'FCFS policy: the same caps, quiet hours and deferral, no relevance threshold; before: no governor at all',
  );
  lines.push('');
  lines.push(
    `${'strategy'.padEnd(24)}${pad('delivered', 10)}${pad('/cust/wk', 9)}${pad('p10', 6)}${pad('p50', 6)}${pad('p90', 6)}` +
      `${pad('over cap', 10)}${pad('over wish', 10)}${pad('at night', 9)}${pad('mean rel', 10)}${pad('total rel', 10)}${pad(`rel≥${INTERESTING}`, 9)}`,
  );
  for (const id of STRATEGIES) {
    const s = r.strategies[id];
    lines.push(
      `${STRATEGY_LABELS[id].padEnd(24)}${pad(n0(s.delivered), 10)}${pad(s.perWeek.mean.toFixed(2), 9)}` +
        `${pad(s.perWeek.p10.toFixed(1), 6)}${pad(s.perWeek.p50.toFixed(1), 6)}${pad(s.perWeek.p90.toFixed(1), 6)}` +
        `${pad(pct(s.overCapShare), 10)}${pad(pct(s.overWishShare), 10)}${pad(pct(s.nightShare), 9)}` +
        `${pad(s.meanRelevance.toFixed(3), 10)}${pad(n0(s.relevanceSum), 10)}${pad(pct(s.interestingShare), 9)}`,
    );
  }
  lines.push('');
  const currency = r.policy.channelCosts.currency;
  lines.push(`Not sent compared with before, and avoided cost (${currency})`);
  const channels = ['email', 'sms', 'push'] as const;
  lines.push(`${''.padEnd(24)}${channels.map((c) => pad(c, 20)).join('')}${pad('total', 20)}`);
  for (const id of ['fcfs', 'governor', 'optimum'] satisfies StrategyId[]) {
    const s = r.strategies[id];
    const cell = (n: number, cost: number) => pad(`${n0(n)} / ${cost.toFixed(2)}`, 20);
    const total = channels.reduce((a, c) => a + s.notSent[c], 0);
    lines.push(
      `${STRATEGY_LABELS[id].padEnd(24)}${channels.map((c) => cell(s.notSent[c], s.avoidedCost[c])).join('')}${cell(total, s.avoidedCostTotal)}`,
    );
  }
  lines.push('');
  for (const id of ['governor', 'fcfs'] as const) {
    const o = r.outcomes[id];
    const list = (counts: Record<string, number>) =>
      Object.entries(counts)
        .sort((a, b) => b[1] - a[1])
        .map(([reason, n]) => `${reason} ${n0(n)}`)
        .join(', ');
    const atRelease = o.suppressedAtRelease === 0 ? '' : `: ${list(o.suppressedAtReleaseByReason)}`;
    lines.push(
      `${STRATEGY_LABELS[id]} engine: deferred ${n0(o.deferred)} (delivered later ${n0(o.deferredDelivered)}, mean wait ${o.meanWaitHours.toFixed(1)} h), ` +
        `suppressed ${n0(o.suppressed)} (${n0(o.suppressedAtRelease)} at release${atRelease}): ${list(o.suppressedByReason)}`,
    );
  }
  lines.push('');
  const t = r.targets;
  const ok = (b: boolean) => (b ? 'met' : 'NOT met');
  lines.push(
    `Target: governor mean delivered relevance vs FCFS ${signed(t.vsFcfs)} (≥ +10%: ${ok(t.vsFcfs >= 0.1)})`,
  );
  lines.push(
    `Target: vs the offline optimum delivering as many messages as the governor ${signed(t.vsOptimumAtGovernorVolume)} (within 5%: ${ok(t.vsOptimumAtGovernorVolume >= -0.05)})`,
  );
  const vol = r.strategies.governor.delivered / r.strategies.optimum.delivered;
  lines.push(
    `vs the offline optimum filling the caps (max total relevance): mean ${signed(t.vsOptimum)}, with ${pct(vol, 0)} of its volume and ${pct(t.totalVsOptimum, 0)} of its total relevance`,
  );
  lines.push(`Chart: ${out} — ${(elapsedMs / 1000).toFixed(1)} s`);
  console.log(lines.join('\n'));
}

function sweep(): void {
  const settings: RelevanceSettings[] = [
    { default: 0, sms: 0, pressureSlope: 0 },
    { default: 0.1, sms: 0.3, pressureSlope: 0.3 },
    { default: 0.2, sms: 0.4, pressureSlope: 0 },
    { default: 0.2, sms: 0.4, pressureSlope: 0.3 },
    { default: 0.2, sms: 0.4, pressureSlope: 0.6 },
    { default: 0.3, sms: 0.5, pressureSlope: 0.3 },
    { default: 0.4, sms: 0.6, pressureSlope: 0.3 },
  ];
  console.log('\nSweep of the governor relevance settings (same population and campaigns):');
  console.log(
    `${'default/sms/slope'.padEnd(20)}${pad('delivered', 10)}${pad('/cust/wk', 9)}${pad('mean rel', 10)}${pad('vs FCFS', 9)}${pad('vs opt@vol', 11)}${pad('vs opt', 9)}${pad('Σrel/opt', 9)}`,
  );
  for (const relevance of settings) {
    const r = simulate({ seed, customers, days, relevance });
    const g = r.strategies.governor;
    const t = r.targets;
    console.log(
      `${`${relevance.default}/${relevance.sms}/${relevance.pressureSlope}`.padEnd(20)}${pad(n0(g.delivered), 10)}${pad(g.perWeek.mean.toFixed(2), 9)}` +
        `${pad(g.meanRelevance.toFixed(3), 10)}${pad(signed(t.vsFcfs), 9)}${pad(signed(t.vsOptimumAtGovernorVolume), 11)}${pad(signed(t.vsOptimum), 9)}${pad(pct(t.totalVsOptimum, 0), 9)}`,
    );
  }
}

const began = performance.now();
const report = simulate({ seed, customers, days });
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, renderChart(report));
print(report, performance.now() - began, values.out);
if (values.sweep) sweep();
