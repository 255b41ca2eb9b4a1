/**
 * What every line of the bench shares: the run's options, the engines (dynalite + fauxqs in a process of
 * their own), one call meter, the workload, and how a line is described to the turns that run it.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Config } from '#shared/config.ts';
import type { PreferencesInput } from '#shared/domain/schemas.ts';
import type { Child } from '../lib/child.ts';
import type { CallMeter, MeterSnapshot } from '../lib/meter.ts';
import type { Workload } from '../lib/workload.ts';
import type { LineId } from './line.ts';

/** The options of `npm run bench`, as parsed and checked. */
export interface BenchOptions {
  /** Decisions in flight per line. */
  concurrency: number;
  customers: number;
  /** Decisions per line. */
  decisions: number;
  batchSize: number;
  /** Batches in flight. */
  batchConcurrency: number;
  /** Warm-up decisions per line (at most WARM_LIMIT_MS). */
  warmup: number;
  /** Each line stops starting decisions after this many seconds (0: no limit). */
  maxSeconds: number;
  rounds: number;
  seed: number;
  /** Recent sends of the item line's customer. */
  sends: number;
  only: ReadonlySet<LineId>;
  /** --instances, when given: the API instances of the npm start lines. */
  instances: string | undefined;
}

/** How long a line's warm-up may take. */
export const WARM_LIMIT_MS = 3000;

export type EngineReady = { env: Record<string, string>; dynamoEndpoint: string; tableName: string };

export interface Bench {
  options: BenchOptions;
  runs(id: LineId): boolean;
  config: Config;
  engine: Child<EngineReady>;
  /** A plain DynamoDB client on the engines, metered. */
  dynamo: DynamoDBClient;
  /** One meter for every client of this process; reset before each measured run. */
  meter: CallMeter;
  load: Workload;
  warm: Workload;
  preferences: Map<number, PreferencesInput>;
  /** What to stop at the end, in order (a line's HTTP clients and servers go first: `unshift`). */
  stopAll: (() => Promise<void>)[];
}

export interface RemoteStats {
  /** The calls the far side counted, if it counts them. */
  snapshot?: MeterSnapshot | undefined;
  cpuMicros: number;
  /** When the line has engines of its own (npm start): their CPU time, instead of the bench's engines'. */
  enginesCpuMicros?: number | undefined;
  workersCpuMicros?: number | undefined;
  apiProcesses?: number | undefined;
  delivered?: number | undefined;
}
/** The process that decides for an HTTP line, asked around each of the line's runs. */
export interface Remote {
  reset(): Promise<void>;
  stats(): Promise<RemoteStats>;
  /** After a line's run, outside its timing: lets the far side finish what the run left it (npm start's
   * delivery backlog), so that it does not take the next line's CPU. Resolves with how long that took. */
  settle?(): Promise<number>;
}

/** A line to run in turns (see `runInTurns`): its tasks, each a decision (or a batch) of the workload. */
export interface LineSpec {
  id: LineId;
  label: string;
  tasks: { warm: number; run: number };
  /** Tasks in flight. */
  conc: number;
  /** Runs task `i` of the phase; resolves with the outcome of each decision it took. */
  task: (phase: 'warm' | 'run', i: number) => Promise<string[]>;
  remote?: Remote | undefined;
  /** What one task is, for the latency figures. */
  per: string;
}
