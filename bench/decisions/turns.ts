/** The lines take turns: warmed once each, then run in rounds, a slice of every line's workload a round. */
import { addSnapshots } from '../lib/meter.ts';
import { runClosedLoop } from '../lib/run.ts';
import { type Bench, type LineSpec, WARM_LIMIT_MS } from './bench.ts';
import { addLines, type Line, type LineId } from './line.ts';

const engineCpu = async (bench: Bench) => {
  const { cpu } = await bench.engine.ask<{ cpu: NodeJS.CpuUsage }>({ type: 'cpu' });
  return cpu.user + cpu.system;
};

/**
 * Warms every line, then runs the lines in turn, `rounds` times, each round taking the next slice of the
 * line's workload, so that a line's figures cover the same stretches of time as the others': a shared
 * machine's slow minutes fall on every line rather than on whichever ran then. A line's figures add up
 * its rounds.
 */
export async function runInTurns(bench: Bench, specs: readonly LineSpec[]): Promise<Line[]> {
  const { rounds, maxSeconds } = bench.options;
  const lineLimitMs = maxSeconds === 0 ? Number.POSITIVE_INFINITY : maxSeconds * 1000;
  const { meter } = bench;
  for (const spec of specs) {
    if (spec.tasks.warm === 0) continue;
    process.stderr.write(`  warm-up: ${spec.label}\n`);
    await runClosedLoop(spec.tasks.warm, spec.conc, (i) => spec.task('warm', i), WARM_LIMIT_MS);
  }
  const byId = new Map<LineId, Line>();
  for (let round = 0; round < rounds; round++) {
    process.stderr.write(`  round ${round + 1}/${rounds}:`);
    for (const spec of specs) {
      const from = Math.floor((spec.tasks.run * round) / rounds);
      const to = Math.floor((spec.tasks.run * (round + 1)) / rounds);
      meter.reset();
      await spec.remote?.reset();
      const enginesBefore = await engineCpu(bench);
      const here = process.cpuUsage();
      const result = await runClosedLoop(
        to - from,
        spec.conc,
        (i) => spec.task('run', from + i),
        lineLimitMs / rounds,
      );
      const hereUsed = process.cpuUsage(here);
      const engines = (await engineCpu(bench)) - enginesBefore;
      const local = meter.snapshot();
      const far = await spec.remote?.stats();
      const line: Line = {
        id: spec.id,
        label: spec.label,
        result,
        meter: far?.snapshot ? addSnapshots(local, far.snapshot) : local,
        cpu: {
          here: hereUsed.user + hereUsed.system,
          api: far?.cpuMicros,
          engines: far?.enginesCpuMicros ?? engines,
          workers: far?.workersCpuMicros,
          apiProcesses: far?.apiProcesses,
        },
        per: spec.per,
        metered: far === undefined || far.snapshot !== undefined,
        delivered: far?.delivered,
      };
      const settledMs = await spec.remote?.settle?.();
      line.settleMs = settledMs;
      const before = byId.get(spec.id);
      byId.set(spec.id, before ? addLines(before, line) : line);
      process.stderr.write(
        ` ${spec.id} ${Math.round((result.decisions / result.elapsedMs) * 1000)}/s` +
          (settledMs ? ` (+${(settledMs / 1000).toFixed(1)} s delivering)` : ''),
      );
    }
    process.stderr.write('\n');
  }
  return [...byId.values()];
}
