/**
 * Runs tasks at a fixed concurrency (closed loop) and times each one; with a time limit, stops starting
 * tasks once it is reached (the tasks in flight finish), so a slow line keeps the whole run in budget.
 */

export interface RunResult {
  /** Tasks completed (fewer than asked when the time limit stopped the run). */
  tasks: number;
  asked: number;
  /** Decisions taken (a batch task takes many). */
  decisions: number;
  elapsedMs: number;
  latencies: Float64Array;
  /** Decisions by outcome (accepted, deferred, suppressed, allowed, blocked, error, …). */
  outcomes: Map<string, number>;
}

/** A task takes one or more decisions and names their outcomes. */
export type Task = (index: number) => Promise<string[]>;

export async function runClosedLoop(
  tasks: number,
  concurrency: number,
  task: Task,
  limitMs = Number.POSITIVE_INFINITY,
): Promise<RunResult> {
  const latencies = new Float64Array(tasks);
  const outcomes = new Map<string, number>();
  let decisions = 0;
  let next = 0;
  let done = 0;
  const started = performance.now();
  const deadline = started + limitMs;
  const worker = async () => {
    while (next < tasks && performance.now() < deadline) {
      const i = next++;
      const begun = performance.now();
      let results: string[];
      try {
        results = await task(i);
      } catch (error) {
        results = ['error'];
        if (!outcomes.has('error')) console.error('first error:', error);
      }
      latencies[i] = performance.now() - begun;
      done++;
      decisions += results.length;
      for (const r of results) outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks) }, worker));
  // Every task started has finished, and they start in index order: the first `done` are the ones run.
  return {
    tasks: done,
    asked: tasks,
    decisions,
    elapsedMs: performance.now() - started,
    latencies: latencies.slice(0, done),
    outcomes,
  };
}

/** Two runs of one line as one (the rounds of a line). */
export function mergeResults(a: RunResult, b: RunResult): RunResult {
  const latencies = new Float64Array(a.latencies.length + b.latencies.length);
  latencies.set(a.latencies);
  latencies.set(b.latencies, a.latencies.length);
  const outcomes = new Map(a.outcomes);
  for (const [k, n] of b.outcomes) outcomes.set(k, (outcomes.get(k) ?? 0) + n);
  return {
    tasks: a.tasks + b.tasks,
    asked: a.asked + b.asked,
    decisions: a.decisions + b.decisions,
    elapsedMs: a.elapsedMs + b.elapsedMs,
    latencies,
    outcomes,
  };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}
