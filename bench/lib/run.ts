/** Runs tasks at a fixed concurrency (closed loop) and times each one. */

export interface RunResult {
  tasks: number;
  /** Decisions taken (a batch task takes many). */
  decisions: number;
  elapsedMs: number;
  latencies: Float64Array;
  /** Decisions by outcome (accepted, deferred, suppressed, allowed, blocked, error, …). */
  outcomes: Map<string, number>;
}

/** A task takes one or more decisions and names their outcomes. */
export type Task = (index: number) => Promise<string[]>;

export async function runClosedLoop(tasks: number, concurrency: number, task: Task): Promise<RunResult> {
  const latencies = new Float64Array(tasks);
  const outcomes = new Map<string, number>();
  let decisions = 0;
  let next = 0;
  const worker = async () => {
    while (next < tasks) {
      const i = next++;
      const started = performance.now();
      let results: string[];
      try {
        results = await task(i);
      } catch (error) {
        results = ['error'];
        if (!outcomes.has('error')) console.error('first error:', error);
      }
      latencies[i] = performance.now() - started;
      decisions += results.length;
      for (const r of results) outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks) }, worker));
  return { tasks, decisions, elapsedMs: performance.now() - started, latencies, outcomes };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}
