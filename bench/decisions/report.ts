/** The bench's report: the machine, the parameters, a row per line, the ratios, the cost table, the targets. */
import { cpus, loadavg, totalmem } from 'node:os';
import type { ArchiveBytes } from '../lib/archive-bytes.ts';
import { costTable, formatCostTable, type Measured } from '../lib/cost.ts';
import { percentile } from '../lib/run.ts';
import { type BenchOptions, WARM_LIMIT_MS } from './bench.ts';
import type { Avoided } from './in-process.ts';
import type { ItemReport } from './item.ts';
import type { Line, LineId } from './line.ts';

/** What the report prints: the run's options, its lines, and what the lines left to say. */
export interface ReportInput {
  options: BenchOptions;
  lines: readonly Line[];
  /** Customers of the workload with preferences. */
  preferencesCount: number;
  /** The 1-minute load average when the bench started. */
  loadAtStart: number;
  /** performance.now() when the bench started. */
  benchStarted: number;
  /** The bench policy's version, and whether an X-Ray async hook was active after Governor's modules loaded. */
  governor: { policyVersion: number; xrayHook: boolean };
  avoided: Avoided;
  /** The item line's report, when it ran. */
  item: ItemReport | undefined;
  /** What the run's archive records weigh (undefined when nothing was archived). */
  archived: ArchiveBytes | undefined;
  /** The body of a batch request of --batch-size messages of the workload, for the API's billed requests. */
  batchRequestBytes: number;
}

export function printReport(input: ReportInput): void {
  const { lines, options: o, avoided } = input;
  const fmt = (x: number, digits = 0) =>
    Number.isFinite(x)
      ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
      : '–';
  const c = cpus();
  const loadAtEnd = loadavg()[0] ?? 0;
  const busy = Math.max(input.loadAtStart, loadAtEnd) > c.length;
  console.log(
    `Machine: ${c.length} cores (${c[0]?.model.trim() ?? '?'}), ${fmt(totalmem() / 2 ** 30, 1)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`,
  );
  console.log(
    `Load average (1 min): ${fmt(input.loadAtStart, 1)} at start, ${fmt(loadAtEnd, 1)} at end` +
      (busy ? ` — more than ${c.length} cores: other processes competed, rates are understated` : ''),
  );
  console.log(
    `Parameters: ${fmt(o.decisions)} decisions, ${fmt(o.customers)} customers (${input.preferencesCount} with preferences), concurrency ${o.concurrency}, ` +
      `batches of ${o.batchSize} × ${o.batchConcurrency} in flight, warm-up ${o.warmup} (≤ ${WARM_LIMIT_MS / 1000} s), ` +
      `at most ${o.maxSeconds === 0 ? '∞' : o.maxSeconds} s per line, seed ${o.seed}; processes: bench (clients), engines (dynalite + fauxqs), API (HTTP lines), npm start's own (npm start lines)`,
  );
  console.log(
    `Governor policy v${input.governor.policyVersion}: marketing 5/P7D, 2/P1D, sms 1/P7D, min gap PT2H; relevance ≥ 0.3 (sms/whatsapp 0.5) + 0.4 × pressure; no quiet hours. ` +
      `X-Ray async hook in the bench process after Governor's modules load: ${input.governor.xrayHook ? 'yes' : 'no'}`,
  );
  console.log('');

  const columns: [string, number][] = [
    ['line', 36],
    ['decisions/s', 12],
    ['p50 ms', 8],
    ['p99 ms', 8],
    ['DDB calls', 10],
    ['SQS calls', 10],
    ['item B', 8],
    ['WCU', 6],
    ['CPU µs: bench', 14],
    ['api', 6],
    ['engines', 8],
    ['ceiling/s', 10],
  ];
  const row = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(columns[i]![1]) : cell.padStart(columns[i]![1]))).join('');
  console.log(row(columns.map(([name]) => name)));
  console.log(`${''.padEnd(36)}${'(all per decision; item B: average customer item written)'.padStart(84)}`);
  console.log('─'.repeat(columns.reduce((n, [, w]) => n + w, 0)));
  const rate = (l: Line) => (l.result.decisions / l.result.elapsedMs) * 1000;
  /**
   * What the line's CPU time allows on this machine's cores when nothing else runs: the decider (this
   * process, or the API process for the HTTP lines; not the load generator) and the engines each use at
   * most one core, and together at most all of them. An estimate that a busy machine does not distort.
   */
  const ceiling = (l: Line) => {
    const d = l.result.decisions;
    const decider = (l.cpu.api ?? l.cpu.here) / d;
    const engines = l.cpu.engines / d;
    // npm start: its API instances each use at most a core, and its workers' delivery shares the cores.
    const deciders = Math.min(l.cpu.apiProcesses ?? 1, c.length);
    const workers = (l.cpu.workers ?? 0) / d;
    return Math.min(
      (deciders * 1e6) / decider,
      1e6 / engines,
      (c.length * 1e6) / (decider + engines + workers),
    );
  };
  const metered = (l: Line, value: number, digits = 0) => (l.metered ? fmt(value, digits) : '–');
  for (const l of lines) {
    const sorted = Float64Array.from(l.result.latencies).sort();
    const d = l.result.decisions;
    console.log(
      row([
        l.label,
        fmt(rate(l)),
        fmt(percentile(sorted, 50), 1),
        fmt(percentile(sorted, 99), 1),
        metered(l, l.meter.dynamoCalls / d, 3),
        metered(l, l.meter.sqsCalls / d, 3),
        metered(l, l.meter.itemCount ? l.meter.itemBytesSum / l.meter.itemCount : Number.NaN),
        metered(l, l.meter.writeUnits / d, 2),
        fmt(l.cpu.here / d),
        l.cpu.api === undefined ? '–' : fmt(l.cpu.api / d),
        fmt(l.cpu.engines / d),
        fmt(ceiling(l)),
      ]),
    );
  }
  console.log('');
  for (const l of lines) {
    const d = l.result.decisions;
    const perDecision = (m: Record<string, number>) =>
      Object.entries(m)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k.replace(/Command$/, '')} ${fmt(n / d, 3)}`)
        .join(', ') || '–';
    const outcomes = [...l.result.outcomes]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${fmt((n / d) * 100)}%`)
      .join(', ');
    const cut =
      l.result.tasks < l.result.asked
        ? `; time limit: ${fmt(d)} decisions in ${fmt(l.result.elapsedMs / 1000, 1)} s (of ${fmt(o.decisions)})`
        : '';
    console.log(`  ${l.label}: ${outcomes}${l.per === 'decision' ? '' : `; latency per ${l.per}`}${cut}`);
    if (l.metered)
      console.log(
        `    calls/decision ${perDecision(l.meter.calls)}; WCU/decision ${perDecision(l.meter.writeUnitsByCall)}` +
          (l.meter.errors ? `; ${l.meter.errors} calls failed (conditional checks included)` : ''),
      );
    else
      console.log(
        `    npm start's own processes (calls not counted): CPU µs/decision API ${fmt((l.cpu.api ?? 0) / d)} over ` +
          `${l.cpu.apiProcesses ?? '?'} instances, engines ${fmt(l.cpu.engines / d)}, workers ${fmt((l.cpu.workers ?? 0) / d)}; ` +
          `${fmt(l.delivered ?? 0)} messages delivered during the line (${fmt(l.result.outcomes.get('accepted') ?? 0)} accepted), ` +
          `the rest in ${fmt((l.settleMs ?? 0) / 1000, 1)} s after its runs (not timed)`,
      );
  }
  console.log('');

  const byId = new Map(lines.map((l) => [l.id, rate(l)]));
  const floor = byId.get('floor');
  const rlf = byId.get('rlf');
  const over = (id: LineId, base: number | undefined) => {
    const v = byId.get(id);
    return v !== undefined && base ? v / base : undefined;
  };
  const ratio = (id: LineId, base: number | undefined) => {
    const r = over(id, base);
    return r === undefined ? 'n/a' : `${r.toFixed(2)}×`;
  };
  console.log(
    `ratios vs floor: governor in-process ${ratio('governor', floor)} (no queue/counter ${ratio('noop', floor)}, append only ${ratio('append', floor)}), ` +
      `http batch ${ratio('batch', floor)}, http single ${ratio('single', floor)}, rate-limiter-flexible ${ratio('rlf', floor)}; ` +
      `governor/rlf ${ratio('governor', rlf)} (no queue/counter ${ratio('noop', rlf)}, http batch ${ratio('batch', rlf)})`,
  );
  console.log(
    `through npm start (its own processes${o.instances ? `, --instances ${o.instances}` : ''}): ` +
      `batch ${ratio('start-batch', floor)}, one batch per API instance ${ratio('start-batches', floor)}, single ${ratio('start-single', floor)} the floor`,
  );
  console.log(`counting on/off (in-process, same run): ${ratio('governor', byId.get('uncounted'))}`);
  console.log(`archive on/off (in-process, same run): ${ratio('governor', byId.get('unarchived'))}`);
  console.log(
    `fatigue and an experiment on/off (in-process, same run): ${ratio('engaged', byId.get('governor'))}; ` +
      `with them vs floor ${ratio('engaged', floor)}`,
  );
  const ceilings = new Map(lines.map((l) => [l.id, ceiling(l)]));
  const ceilingRatio = (id: LineId) => {
    const v = ceilings.get(id);
    const base = ceilings.get('floor');
    return v !== undefined && base ? `${(v / base).toFixed(2)}×` : 'n/a';
  };
  console.log(
    `CPU-bound ceilings vs floor's: governor in-process ${ceilingRatio('governor')} (no queue/counter ${ceilingRatio('noop')}), ` +
      `http batch ${ceilingRatio('batch')}, http single ${ceilingRatio('single')}, rate-limiter-flexible ${ceilingRatio('rlf')}`,
  );
  for (const line of input.item?.lines ?? []) console.log(line);
  console.log('');

  const governorLine = lines.find((l) => l.id === 'governor');
  if (governorLine) {
    const d = governorLine.result.decisions;
    const measured: Measured = {
      label: `measured on the '${governorLine.label}' line`,
      writeUnits: governorLine.meter.writeUnits / d,
      readUnits: governorLine.meter.readUnits / d,
      sqsRequests: governorLine.meter.sqsBilledRequests / d,
      cpuMs: governorLine.cpu.here / d / 1000,
      acceptedShare: (governorLine.result.outcomes.get('accepted') ?? 0) / d,
      archiveDays: 90,
      // Bytes of a record, as every Governor line of this run archived them; one record a decision (the
      // run's decisions are first decisions; its deferrals are not released while it runs).
      ...(input.archived
        ? {
            archiveBytes: input.archived.bytesPerLine,
            archiveStoredBytes: input.archived.storedBytesPerLine,
            archiveLines: 1,
          }
        : {}),
      batchRequestBytes: input.batchRequestBytes,
      batchSize: o.batchSize,
    };
    const perMillion = avoided.decisions > 0 ? (avoided.amount / avoided.decisions) * 1e6 : undefined;
    for (const line of formatCostTable(
      measured,
      costTable(measured),
      perMillion === undefined ? undefined : `${avoided.currency} ${fmt(perMillion, 0)}`,
    ))
      console.log(line);
    console.log('');
  }

  const target = (name: string, value: number | undefined, goal: number, unit: string, atMost = false) => {
    if (value === undefined) return console.log(`target ${name}: not measured`);
    const met = atMost ? value <= goal : value >= goal;
    const by = Math.abs(value - goal);
    console.log(
      `target ${name}: ${met ? 'MET' : 'MISSED'} — ${fmt(value, 2)}${unit} (goal ${atMost ? '≤' : '≥'} ${goal}${unit}${met ? '' : `, off by ${fmt(by, 2)}${unit}`})`,
    );
  };
  target('governor in-process ≥ 0.8 × floor', over('governor', floor), 0.8, '×');
  target('http batch ≥ 0.6 × floor', over('batch', floor), 0.6, '×');
  target('npm start batch ≥ 0.7 × floor', over('start-batch', floor), 0.7, '×');
  target(
    'npm start batches, one in flight per API instance, ≥ 0.7 × floor',
    over('start-batches', floor),
    0.7,
    '×',
  );
  target('npm start single ≥ 0.4 × floor', over('start-single', floor), 0.4, '×');
  target('governor in-process ≥ 1.5 × rate-limiter-flexible', over('governor', rlf), 1.5, '×');
  target(`≤ 1 write unit per decision with ${o.sends} recent sends`, input.item?.writeUnits, 1, ' WCU', true);
  const totalS = (performance.now() - input.benchStarted) / 1000;
  const cutLines = lines.filter((l) => l.result.tasks < l.result.asked).map((l) => l.label);
  console.log(
    `total ${fmt(totalS, 1)} s` +
      (totalS > 180
        ? ' — over the 3-minute budget: the slowest lines set it (--max-seconds N bounds each line)'
        : '') +
      (cutLines.length > 0
        ? `; cut short by --max-seconds, so seeing fewer messages per customer than the others: ${cutLines.join('; ')}`
        : ''),
  );
}
