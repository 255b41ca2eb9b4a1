/**
 * `npm run simulate [-- --seeds 1,7,2024 --customers 5000 --days 30 --out FILE.svg --json --assumptions --tune]`:
 * a synthetic population, a month of campaigns and what customers do with them, run through the real
 * decision engine under each strategy, on several seeds. Prints a table per seed, the spread over the
 * seeds and today's distance to the targets, and writes an SVG chart; `--json` prints one JSON object
 * keyed by strategy instead; `--assumptions` prints the model's assumptions table; `--tune` runs the
 * grid the fatigue settings were chosen from, on the tuning seeds only. Deterministic per seed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { localTime } from '#shared/domain/time-zone.ts';
import { parseCli, usageError } from '../scripts/cli.ts';
import { assumptionsTable } from './simulation/assumptions.ts';
import { renderChart } from './simulation/chart.ts';
import type { StrategyFigures } from './simulation/metrics.ts';
import {
  DIGEST_GRID,
  FATIGUE_GRID,
  GOVERNOR_DIGESTS,
  GOVERNOR_FATIGUE,
  REPORTED_SEEDS,
  TUNING_SEEDS,
} from './simulation/policy.ts';
import { HOME_TIME_ZONE } from './simulation/population.ts';
import {
  FIXED_IDS,
  MATCHED_TO,
  type SimulationReport,
  STRATEGIES,
  STRATEGY_LABELS,
  type StrategyId,
  simulate,
  tuneDigests,
  tuneFatigue,
  withinMatchTolerance,
} from './simulation/simulation.ts';
import { type Summary, summarise } from './simulation/summary.ts';
import { gapPoints, type Target, targets as targetsOf } from './simulation/targets.ts';

const { values } = parseCli({
  name: 'simulate',
  command: 'npm run simulate --',
  usage: ['[options]'],
  description:
    'A synthetic population and a month of campaigns through the real decision engine under each strategy\n' +
    '(no governor, FCFS caps, the governor without and with pre-emption, the governor with fatigue, each\n' +
    'governor beside a fixed threshold at its volume, an upper bound), on several seeds; prints the\n' +
    'figures, their spread and the targets, writes an SVG.',
  options: {
    seeds: {
      type: 'string',
      default: REPORTED_SEEDS.join(','),
      placeholder: 'N,N,…',
      description: 'the seeds to run (a run is the same for a seed); the spread over them is printed',
    },
    seed: { type: 'string', placeholder: 'N', description: 'one seed only (instead of --seeds)' },
    customers: { type: 'string', default: '5000', placeholder: 'N', description: 'customers simulated' },
    days: { type: 'string', default: '30', placeholder: 'N', description: 'days of campaigns' },
    out: {
      type: 'string',
      default: 'bench/out/simulation.svg',
      placeholder: 'FILE',
      description: 'the chart',
    },
    json: { type: 'boolean', default: false, description: 'print one JSON object keyed by strategy' },
    assumptions: { type: 'boolean', default: false, description: "print the model's assumptions table" },
    'tune-digests': {
      type: 'boolean',
      default: false,
      description: `run the digest settings' grid on the tuning seeds (${TUNING_SEEDS.join(', ')}) only`,
    },
    tune: {
      type: 'boolean',
      default: false,
      description: `run the fatigue settings' grid on the tuning seeds (${TUNING_SEEDS.join(', ')}) only`,
    },
  },
});

function integer(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    usageError('simulate', `--${name} must be an integer of at least ${min}`);
  return n;
}

if (values.assumptions) {
  console.log(assumptionsTable());
  process.exit(0);
}

const seeds = (values.seed ?? values.seeds).split(',').map((s) => integer('seeds', s.trim(), 0));
const customers = integer('customers', values.customers, 1);
const days = integer('days', values.days, 1);
const log = (line: string) => (values.json ? console.error(line) : console.log(line));

const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;
const pad = (s: string, n: number) => s.padStart(n);
const WIDTH = 31;

function describeRelevance(p: SimulationReport['policies']['governor']): string {
  const by = Object.entries(p.relevance.byChannel ?? {})
    .map(([c, t]) => `${c} ≥ ${t.toFixed(3)}`)
    .join(', ');
  return `relevance ≥ ${p.relevance.default.toFixed(2)}${by ? ` (${by})` : ''}${p.relevance.pressureSlope ? ` + ${p.relevance.pressureSlope} × pressure` : ', no pressure slope'}`;
}

function describeFatigue(f: SimulationReport['options']['fatigue']): string {
  return `fatigue: score (opens and clicks per delivered, 14-day half-life) < ${f.threshold} after ${f.minDelivered} deliveries → caps × ${f.capScale}, relevance + ${f.relevanceBoost}; ${f.unengagedRun} deliveries without an open or click → caps × ${f.runCapScale}, relevance + ${f.runRelevanceBoost}; a click restores`;
}

function header(r: SimulationReport): string[] {
  const first = localTime(r.start, HOME_TIME_ZONE);
  const start = `${first.year}-${String(first.month).padStart(2, '0')}-${String(first.day).padStart(2, '0')}`;
  const pop = r.population;
  const g = r.policies.governor;
  const caps = g.caps
    .map((c) =>
      c.limit !== undefined ? `${c.match.channel ?? 'all'} ${c.limit}/${c.window}` : `gap ${c.minGap}`,
    )
    .join(', ');
  const tuned = TUNING_SEEDS.includes(r.options.seed)
    ? ' — a tuning seed: its figures are not a fair report'
    : '';
  return [
    `Seed ${r.options.seed}${tuned}: ${n0(r.options.customers)} customers, ${r.options.days} days from ${start} (${HOME_TIME_ZONE}), ${r.campaigns} campaigns, ${n0(r.messages)} messages (mean relevance ${pop.meanRelevanceSent.toFixed(3)})`,
    `Population: ${pct(pop.mostlyUninterestingShare)} get mostly messages below relevance 0.4 (survey 86%), ${pct(pop.statedWishShare)} state their wish in the preference centre, ${pct(pop.otherTimeZoneShare)} in other time zones, ${pct(pop.optedOutShare)} opted out of a channel`,
    `Caps of every engine strategy: ${caps}; quiet hours ${g.quietHours?.start}–${g.quietHours?.end}. Governor: ${describeRelevance(g)}, with and without pre-emption. Fixed thresholds, each running the engine as the governor it is matched to: ${FIXED_IDS.map((id) => `@ ${STRATEGY_LABELS[MATCHED_TO[id]]}'s volume ${describeRelevance(r.policies[id])}`).join('; ')}`,
    `Governor + fatigue: the governor's policy and ${describeFatigue(r.options.fatigue)}`,
    `Governor + pre-emption + digests: the governor's policy and ${(r.policies.governorWithDigests.digests ?? []).map((d) => `digest ${d.id} (${d.match.channel ?? 'any channel'}): at most ${d.maxItems} items, delivered within ${d.maxWait} of its first`).join('; ')}`,
  ];
}

function table(r: SimulationReport): string[] {
  const cols = [
    ['delivered', 10],
    ['/cust/wk', 9],
    ['over wish', 10],
    ['stated', 8],
    ['unstated', 9],
    ['opens', 8],
    ['clicks', 8],
    ['unsubs', 8],
    ['complaints', 11],
    ['mean rel', 9],
    ['total rel', 10],
    ['rel/cust', 9],
    ['of bound', 9],
    ['no slot', 8],
    ['digests', 8],
    ['in them', 8],
    ['avoided €', 10],
  ] as const;
  const lines = [`${'strategy'.padEnd(WIDTH)}${cols.map(([h, w]) => pad(h, w)).join('')}`];
  const row = (label: string, cells: string[]) =>
    `${label.padEnd(WIDTH)}${cells.map((c, i) => pad(c, cols[i]?.[1] ?? 8)).join('')}`;
  for (const id of STRATEGIES) {
    const s = r.strategies[id];
    lines.push(
      row(STRATEGY_LABELS[id], [
        n0(s.delivered),
        s.perCustomerPerWeek.toFixed(2),
        pct(s.overWishedShare),
        pct(s.overWishedShareStated),
        pct(s.overWishedShareUnstated),
        n0(s.opens),
        n0(s.clicks),
        n0(s.unsubscribes),
        n0(s.complaints),
        s.meanRelevanceDelivered.toFixed(3),
        n0(s.totalRelevanceDelivered),
        s.relevancePerCustomer.toFixed(2),
        pct(s.shareOfRelevanceBound),
        n0(s.droppedForLackOfASlot),
        n0(s.digestsDelivered),
        n0(s.itemsInDigests),
        s.avoidedCost.toFixed(2),
      ]),
    );
  }
  const b = r.upperBound;
  const dash = '—';
  lines.push(
    row(`${STRATEGY_LABELS.upperBound} *`, [
      n0(b.delivered),
      dash,
      dash,
      dash,
      dash,
      dash,
      dash,
      dash,
      dash,
      b.meanRelevanceDelivered.toFixed(3),
      n0(b.totalRelevanceDelivered),
      (b.totalRelevanceDelivered / r.options.customers).toFixed(2),
      '100.0%',
      dash,
      dash,
      dash,
      dash,
    ]),
  );
  return lines;
}

function engine(r: SimulationReport): string[] {
  const lines: string[] = [];
  for (const id of STRATEGIES) {
    if (id === 'noGovernor') continue;
    const s = r.strategies[id];
    const reasons = Object.entries(s.suppressedByReason)
      .sort((a, b) => b[1] - a[1])
      .map(([reason, n]) => `${reason} ${n0(n)}`)
      .join(', ');
    const atRelease = Object.values(s.suppressedAtReleaseByReason).reduce((a, b) => a + b, 0);
    lines.push(
      `${STRATEGY_LABELS[id]}: deferred ${n0(s.deferred)} (mean wait ${s.meanWaitHours.toFixed(1)} h); suppressed ${reasons} (${n0(atRelease)} of them at release)`,
    );
  }
  for (const id of FIXED_IDS) {
    const m = r.matchings[id];
    const channels = (['email', 'sms', 'push'] as const)
      .map((c) => `${c} ${n0(m.achieved[c])} vs ${n0(m.target[c])}`)
      .join(', ');
    const off = (['email', 'sms', 'push'] as const).filter(
      (c) => !withinMatchTolerance(m.achieved[c], m.target[c]),
    );
    lines.push(
      `Fixed threshold matched to ${STRATEGY_LABELS[MATCHED_TO[id]]}'s volume per channel by bisection (${m.steps} steps, ${m.populationRuns.toFixed(1)} population runs): ${channels} (worst gap ${pct(m.worstGap, 2)}${off.length > 0 ? `; OUTSIDE the tolerance on ${off.join(', ')}` : ', within the tolerance'})`,
    );
  }
  return lines;
}

type Key = keyof StrategyFigures & keyof Summary['governor'];
function spread(summary: Summary, seedCount: number): string[] {
  const cell = (id: StrategyId, key: Key, format: (x: number) => string) => {
    const s = summary[id];
    const [lo, hi] = s.range[key as keyof typeof s.range];
    return seedCount > 1
      ? `${format(s[key] as number)} (${format(lo)}–${format(hi)})`
      : format(s[key] as number);
  };
  const cols: [string, Key, (x: number) => string, number][] = [
    ['delivered', 'delivered', n0, 26],
    ['over wish', 'overWishedShare', (x) => pct(x), 22],
    ['unstated', 'overWishedShareUnstated', (x) => pct(x), 22],
    ['clicks', 'clicks', n0, 20],
    ['unsubs', 'unsubscribes', n0, 16],
    ['complaints', 'complaints', n0, 14],
    ['mean rel', 'meanRelevanceDelivered', (x) => x.toFixed(3), 22],
    ['rel/cust', 'relevancePerCustomer', (x) => x.toFixed(2), 20],
  ];
  const lines = [`${'strategy'.padEnd(WIDTH)}${cols.map(([h, , , w]) => pad(h, w)).join('')}`];
  for (const id of STRATEGIES)
    lines.push(
      `${STRATEGY_LABELS[id].padEnd(WIDTH)}${cols.map(([, k, f, w]) => pad(cell(id, k, f), w)).join('')}`,
    );
  const b = summary.upperBound;
  const [lo, hi] = b.range.meanRelevanceDelivered;
  lines.push(
    `${STRATEGY_LABELS.upperBound.padEnd(WIDTH)}${pad(n0(b.delivered), 26)}${pad('', 22 + 22 + 20 + 16 + 14)}${pad(seedCount > 1 ? `${b.meanRelevanceDelivered.toFixed(3)} (${lo.toFixed(3)}–${hi.toFixed(3)})` : b.meanRelevanceDelivered.toFixed(3), 22)}`,
  );
  return lines;
}

/**
 * Each governor against the fixed threshold at its volume, and pre-emption against today's governor:
 * delivered, mean and total relevance, relevance per customer (means over the seeds), and the change
 * of each on every seed.
 */
function versus(reports: readonly SimulationReport[], summary: Summary): string[] {
  const keys = [
    ['delivered', 'delivered', n0],
    ['mean rel', 'meanRelevanceDelivered', (x: number) => x.toFixed(3)],
    ['total rel', 'totalRelevanceDelivered', n0],
    ['rel/cust', 'relevancePerCustomer', (x: number) => x.toFixed(2)],
    ['dropped for lack of a slot', 'droppedForLackOfASlot', n0],
    ['items in digests', 'itemsInDigests', n0],
  ] as const;
  const change = (a: number, b: number) => `${a >= b ? '+' : ''}${pct(b === 0 ? 0 : a / b - 1)}`;
  const pair = (id: StrategyId, than: StrategyId) =>
    `${STRATEGY_LABELS[id]} vs ${STRATEGY_LABELS[than]}: ${keys
      .map(([label, key, f]) => {
        const bySeed = reports.map((r) => change(r.strategies[id][key], r.strategies[than][key]));
        return `${label} ${f(summary[id][key])} vs ${f(summary[than][key])} (${bySeed.join(', ')})`;
      })
      .join('; ')}`;
  return [
    `Each against its comparator, means over the seeds (the change on each seed: ${reports.map((r) => r.options.seed).join(', ')}):`,
    pair('governor', 'governorNoPreemption'),
    pair('governorWithDigests', 'governor'),
    ...FIXED_IDS.map((id) => pair(MATCHED_TO[id], id)),
  ];
}

const comparisonText = (t: Target) => `${t.comparison} ${pct(t.goal, 0)}`;

/**
 * The targets of the governor with fatigue, each measured on each seed of this run that was not used
 * for tuning (a tuning seed's line is marked, and does not count): a target is met when it is met on
 * every such seed.
 */
function targets(reports: readonly SimulationReport[]): string[] {
  const fair = reports.filter((r) => !TUNING_SEEDS.includes(r.options.seed));
  const bySeed = reports.map((r) => ({
    seed: r.options.seed,
    tuning: TUNING_SEEDS.includes(r.options.seed),
    targets: targetsOf({
      noGovernor: r.strategies.noGovernor,
      fixedThreshold: r.strategies.fixedThreshold,
      candidate: r.strategies.governorWithFatigue,
    }),
  }));
  const first = bySeed[0]?.targets ?? [];
  const seedCols = bySeed.map((s) => `seed ${s.seed}${s.tuning ? ' (tuning)' : ''}`);
  const lines = [
    `Targets for ${STRATEGY_LABELS.governorWithFatigue}, same run; met when met on every seed not used for tuning (${fair.map((r) => r.options.seed).join(', ') || 'none in this run'}):`,
    `${'target'.padEnd(42)}${pad('goal', 7)}${seedCols.map((c) => pad(c, 22)).join('')}   verdict`,
  ];
  first.forEach((t, i) => {
    const cells = bySeed.map((s) => {
      const x = s.targets[i];
      return x ? `${pct(x.value)} ${x.met ? 'MET' : 'MISSED'}` : '—';
    });
    const counted = bySeed.filter((s) => !s.tuning).map((s) => s.targets[i]);
    const worst = counted.filter((x): x is Target => x !== undefined && !x.met);
    const overall =
      counted.length === 0
        ? 'no seed to judge'
        : worst.length === 0
          ? 'MET'
          : `MISSED (on ${worst.length} of ${counted.length} seeds; by up to ${Math.max(...worst.map(gapPoints)).toFixed(1)} pts)`;
    lines.push(
      `${t.label.padEnd(42)}${pad(comparisonText(t), 7)}${cells.map((c) => pad(c, 22)).join('')}   ${overall}`,
    );
  });
  return lines;
}

/** `--tune`: the grid of fatigue settings on the tuning seeds, each with its targets; the chosen one marked. */
function tune(): void {
  const tuningSeeds = seeds.filter((s) => TUNING_SEEDS.includes(s));
  const runSeeds = tuningSeeds.length > 0 ? tuningSeeds : [...TUNING_SEEDS];
  const same = (a: object, b: object) => JSON.stringify(a) === JSON.stringify(b);
  for (const seed of runSeeds) {
    const wall = performance.now();
    const report = tuneFatigue({ seed, customers, days }, FATIGUE_GRID);
    console.log(
      `Tuning seed ${seed} (${n0(customers)} customers, ${days} days): no governor ${n0(report.noGovernor.clicks)} clicks, ${n0(report.noGovernor.unsubscribes)} unsubscribes; governor ${pct(report.governor.overWishedShare)} over their wish; fixed threshold ${n0(report.fixedThreshold.clicks)} clicks, ${n0(report.fixedThreshold.unsubscribes)} unsubscribes`,
    );
    const head = targetsOf({ ...report, candidate: report.governor }).map((t) => t.id);
    console.log(`${'  settings'.padEnd(60)}${pad('delivered', 10)}${head.map((h) => pad(h, 21)).join('')}`);
    for (const row of report.rows) {
      const f = row.fatigue;
      const label = `${same(f, GOVERNOR_FATIGUE) ? '* ' : '  '}t<${f.threshold} min ${f.minDelivered} ×${f.capScale} +${f.relevanceBoost} run ${f.unengagedRun} ×${f.runCapScale} +${f.runRelevanceBoost}`;
      const ts = targetsOf({ ...report, candidate: row.figures });
      console.log(
        `${label.padEnd(60)}${pad(n0(row.figures.delivered), 10)}${ts.map((t) => pad(`${pct(t.value)} ${t.met ? 'MET' : 'MISS'}`, 21)).join('')}`,
      );
    }
    console.log(
      `Seed ${seed}: ${((performance.now() - wall) / 1000).toFixed(1)} s. * the settings chosen (GOVERNOR_FATIGUE)`,
    );
  }
}

if (values.tune) {
  tune();
  process.exit(0);
}

/** `--tune-digests`: the digest settings' grid on the tuning seeds; the chosen one marked. */
function tuneDigestSettings(): void {
  const tuningSeeds = seeds.filter((s) => TUNING_SEEDS.includes(s));
  for (const seed of tuningSeeds.length > 0 ? tuningSeeds : [...TUNING_SEEDS]) {
    const report = tuneDigests({ seed, customers, days }, DIGEST_GRID);
    const g = report.governor;
    log(
      `Tuning seed ${seed} (${n0(customers)} customers, ${days} days): governor + pre-emption ${n0(g.delivered)} delivered, ${n0(g.droppedForLackOfASlot)} dropped for lack of a slot, total relevance ${n0(g.totalRelevanceDelivered)}`,
    );
    log(
      `${'  maxItems maxWait'.padEnd(20)}${['sends', 'digests', 'items in them', 'dropped', 'total rel', 'clicks', 'unsubs'].map((h) => pad(h, 14)).join('')}`,
    );
    for (const { digests: d, figures: f } of report.rows) {
      const chosen = d.maxItems === GOVERNOR_DIGESTS.maxItems && d.maxWait === GOVERNOR_DIGESTS.maxWait;
      log(
        `${`${chosen ? '* ' : '  '}${d.maxItems} ${d.maxWait}`.padEnd(20)}${[f.delivered, f.digestsDelivered, f.itemsInDigests, f.droppedForLackOfASlot, f.totalRelevanceDelivered, f.clicks, f.unsubscribes].map((x) => pad(n0(x), 14)).join('')}`,
      );
    }
    log('* the settings chosen (GOVERNOR_DIGESTS)');
  }
}

if (values['tune-digests']) {
  tuneDigestSettings();
  process.exit(0);
}

const reports: SimulationReport[] = [];
const timings: string[] = [];
for (const seed of seeds) {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const report = simulate({ seed, customers, days });
  const used = process.cpuUsage(cpu);
  const timing = `${((performance.now() - wall) / 1000).toFixed(1)} s (${((used.user + used.system) / 1e6).toFixed(1)} s CPU)`;
  timings.push(`seed ${seed}: ${timing}`);
  reports.push(report);
  if (!values.json) {
    log('');
    for (const line of [...header(report), '', ...table(report), '', ...engine(report)]) log(line);
    log(`Seed ${seed}: ${timing}`);
  } else log(`seed ${seed}: ${timing}`);
}

const summary = summarise(reports);
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, renderChart(summary, reports));

if (values.json) {
  console.log(JSON.stringify(summary, null, 2));
} else {
  log('');
  log(`Over the seeds ${seeds.join(', ')}, mean (min–max):`);
  for (const line of spread(summary, seeds.length)) log(line);
  log('');
  for (const line of versus(reports, summary)) log(line);
  log('');
  for (const line of targets(reports)) log(line);
  log('');
  log(
    '* a bound, not a strategy: each customer\'s most relevant messages, as many as the governor delivered to them, ignoring timing and caps; no strategy delivering those volumes can have more relevance. "of bound": total relevance over the bound at the strategy\'s own per-customer volumes.',
  );
  const tuned = seeds.filter((s) => TUNING_SEEDS.includes(s));
  if (tuned.length > 0)
    log(`Seed ${tuned.join(', ')} was used for tuning: its figures are not a fair report.`);
  log(`Chart: ${values.out}. ${timings.join('; ')}`);
}
