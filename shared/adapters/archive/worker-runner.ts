/**
 * The local dry-run runner: the archive's shards replayed in worker threads (the API process goes on
 * answering meanwhile), progress written to the job store as each shard finishes, the results merged.
 * The AWS runner does the same with Step Functions and Lambda workers over the S3 partitions.
 */
import { createReadStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ReplayInput } from '../../domain/dry-run.ts';
import type { ShardResult } from '../../domain/dry-run-result.ts';
import type { Policy } from '../../domain/schemas.ts';
import { logger } from '../../observability/index.ts';
import type {
  ArchiveReader,
  ArchiveShard,
  Clock,
  DryRunJob,
  DryRunRunner,
  DryRunStore,
} from '../../ports.ts';
import type { ShardTask } from './dry-run-worker.ts';

export interface WorkerRunnerOptions {
  dir: string;
  reader: ArchiveReader;
  store: DryRunStore;
  /** Every policy version the archive's records may name (the use case's policiesInForce). */
  policies: () => Promise<Policy[]>;
  /** Merges the shards' results and stores them (the use case's finishJob). */
  finish: (job: DryRunJob, input: ReplayInput, results: ShardResult[]) => Promise<void>;
  /** Worker threads (default: the cores less one, at least one, at most four). */
  threads?: number;
  /** The clock of the heartbeats. */
  clock: Clock;
  /**
   * The job's lease: the runner heartbeats every third of it while the job runs, so that a job whose
   * process stopped reads as failed once it runs out (getDryRun). 30 s by default.
   */
  leaseMs?: number;
}

export const DRY_RUN_LEASE_MS = 30_000;

/** A worker thread running dry-run-worker (from source through tsx, or bundled). */
function startWorker(): Worker {
  const module = new URL(
    `./dry-run-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
    import.meta.url,
  );
  return new Worker(new URL('./dry-run-worker-boot.mjs', import.meta.url), {
    workerData: { module: module.href },
  });
}

/** The records a shard holds: its lines, counted without parsing. */
async function countRecords(shard: ArchiveShard): Promise<number> {
  let n = 0;
  for (const path of shard.parts) {
    for await (const chunk of createReadStream(path)) {
      const buffer = chunk as Buffer;
      for (let i = buffer.indexOf(10); i !== -1; i = buffer.indexOf(10, i + 1)) n++;
    }
  }
  return n;
}

export class WorkerThreadRunner implements DryRunRunner {
  private readonly threads: number;
  readonly leaseMs: number;

  constructor(private readonly options: WorkerRunnerOptions) {
    this.threads = options.threads ?? Math.min(4, Math.max(1, availableParallelism() - 1));
    this.leaseMs = options.leaseMs ?? DRY_RUN_LEASE_MS;
  }

  /** Starts the job in the background, under its lease; its failure is recorded on the job. */
  async start(job: DryRunJob): Promise<void> {
    const { store, clock } = this.options;
    const { leaseMs } = this;
    const beat = () => store.heartbeat(job.id, clock.now(), leaseMs);
    await beat();
    const timer = setInterval(() => {
      beat().catch((error: unknown) => logger.warn('dry-run heartbeat failed', { error: error as Error }));
    }, leaseMs / 3);
    timer.unref();
    void this.run(job)
      .catch(async (error: unknown) => {
        logger.error('dry-run failed', { error: error as Error, dryRun: job.id });
        await store.fail(job.id, 'the dry-run failed; see the logs').catch(() => undefined);
      })
      .finally(() => clearInterval(timer));
  }

  private async run(job: DryRunJob): Promise<void> {
    const { reader, store, policies, finish } = this.options;
    const shards = await reader.shards(job.to);
    const counts = await Promise.all(shards.map(countRecords));
    await store.start(
      job.id,
      counts.reduce((a, b) => a + b, 0),
    );
    const input: ReplayInput = {
      from: job.from,
      to: job.to,
      policies: await policies(),
      draft: job.draft,
    };
    const results = await this.replayAll(job.id, shards, input);
    await finish(job, input, results);
  }

  private async replayAll(jobId: string, shards: ArchiveShard[], input: ReplayInput): Promise<ShardResult[]> {
    const results: ShardResult[] = new Array(shards.length);
    const workers = Array.from({ length: Math.min(this.threads, shards.length) }, startWorker);
    let next = 0;
    try {
      await Promise.all(
        workers.map(async (worker) => {
          while (next < shards.length) {
            const task = next++;
            const shard = shards[task] as ArchiveShard;
            results[task] = await this.replayIn(worker, { task, dir: this.options.dir, shard, input });
            await this.options.store.advance(jobId, results[task].events);
          }
        }),
      );
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
    return results;
  }

  private replayIn(worker: Worker, task: ShardTask): Promise<ShardResult> {
    return new Promise((resolve, reject) => {
      const onMessage = (answer: { task: number; result?: ShardResult; error?: string }) => {
        if (answer.task !== task.task) return;
        worker.off('message', onMessage);
        worker.off('error', reject);
        if (answer.result) resolve(answer.result);
        else reject(new Error(answer.error ?? 'the shard failed'));
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.postMessage(task);
    });
  }
}
