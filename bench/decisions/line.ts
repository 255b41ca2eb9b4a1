/** The benchmark's lines: their ids, and what one line's runs measured. */
import { addSnapshots, type MeterSnapshot } from '../lib/meter.ts';
import { mergeResults, type RunResult } from '../lib/run.ts';

export const LINES = [
  'floor',
  'rlf',
  'governor',
  'engaged',
  'unarchived',
  'uncounted',
  'noop',
  'append',
  'single',
  'batch',
  'start-single',
  'start-batch',
  'start-batches',
  'item',
] as const;
export type LineId = (typeof LINES)[number];

/**
 * CPU time (µs) of this process, of the HTTP API process (or `npm start`'s API instances), of the
 * engines process (the bench's, or `npm start`'s own for its lines), of `npm start`'s workers.
 */
export interface Cpu {
  here: number;
  api?: number | undefined;
  engines: number;
  workers?: number | undefined;
  /** API processes the line's API CPU time is spread over (the ceiling allows each a core). */
  apiProcesses?: number | undefined;
}
export interface Line {
  id: LineId;
  label: string;
  result: RunResult;
  meter: MeterSnapshot;
  cpu: Cpu;
  /** What the latency figures are per. */
  per: string;
  /** False when nobody counted the line's calls (`npm start`'s processes have no meter). */
  metered: boolean;
  /** Messages `npm start` delivered meanwhile (its outbox), for its lines. */
  delivered?: number | undefined;
  /** How long its delivery took to catch up after the line's runs (not part of the line's time). */
  settleMs?: number | undefined;
}
/** Two runs of one line as one: their figures added up. */
export function addLines(a: Line, b: Line): Line {
  const sum = (x: number | undefined, y: number | undefined) =>
    x === undefined || y === undefined ? undefined : x + y;
  return {
    ...a,
    result: mergeResults(a.result, b.result),
    meter: addSnapshots(a.meter, b.meter),
    cpu: {
      here: a.cpu.here + b.cpu.here,
      api: sum(a.cpu.api, b.cpu.api),
      engines: a.cpu.engines + b.cpu.engines,
      workers: sum(a.cpu.workers, b.cpu.workers),
      apiProcesses: a.cpu.apiProcesses,
    },
    delivered: sum(a.delivered, b.delivered),
    settleMs: sum(a.settleMs, b.settleMs),
  };
}
