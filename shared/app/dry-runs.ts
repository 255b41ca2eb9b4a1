/**
 * Dry-runs: `POST /v1/policy/dry-runs {policy, from, to}` stores a job and has the runner start it;
 * `GET /v1/policy/dry-runs/{id}` reads its status, progress and result. A runner (local: worker threads;
 * AWS: Step Functions) replays each shard of the archive with `runShard` and merges with `finishJob`.
 */
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { DEFAULT_POLICY } from '../domain/default-policy.ts';
import { DRAFT_VERSION, mergeShards, type ReplayInput, replayShard } from '../domain/dry-run.ts';
import { dryRunResultSchema, type ShardResult } from '../domain/dry-run-result.ts';
import { type Policy, policyEditSchema } from '../domain/schemas.ts';
import { NotFoundError } from '../errors.ts';
import type {
  ArchiveReader,
  ArchiveShard,
  Clock,
  DryRunJob,
  DryRunRunner,
  DryRunStore,
  PolicyStore,
} from '../ports.ts';

/** The longest period a dry-run replays. */
export const MAX_DRY_RUN_DAYS = 31;
const DAY = 86_400_000;

/** A day (`2026-12-01`: its start for `from`, its end for `to`, as the finance report reads days) or an instant. */
const bound = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

export const dryRunRequestSchema = z
  .strictObject({
    policy: policyEditSchema.meta({
      description: 'the draft: a whole policy document, as PUT /v1/policy takes',
    }),
    from: bound.meta({ description: 'the period’s start: a UTC day (from its start) or an instant' }),
    to: bound.meta({
      description: 'the period’s end: a UTC day (to its end, inclusive) or an instant (exclusive)',
    }),
  })
  .transform((r) => ({
    policy: r.policy,
    from: Date.parse(r.from.length === 10 ? `${r.from}T00:00:00Z` : r.from),
    to: r.to.length === 10 ? Date.parse(`${r.to}T00:00:00Z`) + DAY : Date.parse(r.to),
  }))
  .refine((r) => r.from < r.to, { message: 'from must be before to', path: ['from'] })
  .refine((r) => r.to - r.from <= MAX_DRY_RUN_DAYS * DAY, {
    message: `the period is at most ${MAX_DRY_RUN_DAYS} days`,
    path: ['to'],
  });
export type DryRunRequest = z.output<typeof dryRunRequestSchema>;

export const DRY_RUN_STATUSES = ['queued', 'running', 'done', 'failed'] as const;

export const dryRunAcceptedSchema = z.object({ id: z.string(), status: z.enum(DRY_RUN_STATUSES) });

export const dryRunSchema = z.object({
  id: z.string(),
  status: z.enum(DRY_RUN_STATUSES),
  progress: z.object({ events: z.number().int(), totalEvents: z.number().int() }),
  result: dryRunResultSchema.optional().meta({ description: 'once done' }),
  error: z.string().optional().meta({ description: 'why it failed' }),
});
export type DryRunView = z.infer<typeof dryRunSchema>;

export interface DryRunDeps {
  store: DryRunStore;
  runner: DryRunRunner;
  clock: Clock;
}

export async function startDryRun(
  deps: DryRunDeps,
  request: DryRunRequest,
  author: string,
): Promise<DryRunJob> {
  const { version: _v, createdAt: _c, author: _a, ...document } = request.policy;
  const now = deps.clock.now();
  const draft: Policy = { ...document, version: 0, createdAt: new Date(now).toISOString(), author };
  const job: DryRunJob = {
    id: randomBytes(12).toString('base64url'),
    status: 'queued',
    from: request.from,
    to: request.to,
    draft,
    createdAt: now,
    author,
    progress: { events: 0, totalEvents: 0 },
    // The runner's lease from the start: a job whose runner never reports reads as failed once it runs out.
    updatedAt: now,
    leaseMs: deps.runner.leaseMs,
  };
  await deps.store.create(job);
  await deps.runner.start(job);
  return job;
}

export async function getDryRun(deps: Pick<DryRunDeps, 'store' | 'clock'>, id: string): Promise<DryRunView> {
  const job = await deps.store.get(id);
  if (!job) throw new NotFoundError(`no dry-run ${id}`);
  const view: DryRunView = { id: job.id, status: job.status, progress: progressOf(job) };
  if (job.result) view.result = job.result;
  if (job.error) view.error = job.error;
  const lost = lostRunner(job, deps.clock.now());
  if (lost) Object.assign(view, { status: 'failed', error: lost });
  return view;
}

/**
 * Why a job that is not finished has lost its runner: its lease ran out — the local process that ran it
 * stopped heartbeating, or the state machine's execution ended without recording an outcome (timed out,
 * stopped). Undefined while the lease holds, or without one (a job stored before leases).
 */
export function lostRunner(job: DryRunJob, now: number): string | undefined {
  if (job.status === 'done' || job.status === 'failed') return undefined;
  if (job.leaseMs === undefined || job.updatedAt === undefined) return undefined;
  if (now - job.updatedAt <= job.leaseMs) return undefined;
  const renewed = new Date(job.updatedAt).toISOString();
  return `the dry-run's runner stopped: its lease, renewed last at ${renewed}, ran out; start it again`;
}

/**
 * The progress to show. Where the records are counted only as each shard is read (AWS), the total is,
 * until the last shard is, an estimate: the archive's bytes at the records per byte of the shards read
 * so far (never below the records counted). As those shards' records are both replayed and counted,
 * the share shown is the share of the bytes read, which never decreases; the total is exact once all are.
 */
export function progressOf(job: Pick<DryRunJob, 'progress' | 'bytes'>): DryRunJob['progress'] {
  const { progress, bytes } = job;
  if (!bytes || bytes.read <= 0 || bytes.read >= bytes.total) return progress;
  const estimate = Math.round((progress.totalEvents * bytes.total) / bytes.read);
  return { events: progress.events, totalEvents: Math.max(progress.totalEvents, estimate) };
}

/** Every policy version the archive's records may name: the stored ones and the default (0). */
export async function policiesInForce(policies: PolicyStore): Promise<Policy[]> {
  const versions = await policies.versions();
  const stored = await Promise.all(versions.map((v) => policies.get(v.version)));
  return [DEFAULT_POLICY, ...stored.filter((p): p is Policy => p !== undefined)];
}

/** What a shard's replay needs besides its records (JSON-serialisable: it crosses threads and Lambdas). */
export type ShardInput = ReplayInput;

/**
 * One shard: read, replay through the real engine, report its records as progress. With `count`, they
 * are added to the job's total at the same time, and the shard's bytes to those read (a runner that did
 * not count them before starting: the total is estimated from the bytes meanwhile, progressOf).
 */
export async function runShard(
  deps: { reader: ArchiveReader; store?: DryRunStore | undefined },
  jobId: string,
  shard: ArchiveShard,
  input: ShardInput,
  options: { count?: boolean } = {},
): Promise<ShardResult> {
  const records = await deps.reader.read(shard);
  const result = replayShard(records, input);
  if (options.count) await deps.store?.count(jobId, result.events, shard.bytes ?? 0);
  else await deps.store?.advance(jobId, result.events);
  return result;
}

/** Merges the shards' results and stores them: the job is done. */
export async function finishJob(
  store: DryRunStore,
  job: DryRunJob,
  input: ShardInput,
  results: ShardResult[],
): Promise<void> {
  const latest = input.policies.reduce((a, b) => (b.version > a.version ? b : a), DEFAULT_POLICY);
  const result = mergeShards(results, {
    from: job.from,
    to: job.to,
    currency: { current: latest.channelCosts.currency, draft: input.draft.channelCosts.currency },
  });
  await store.finish(job.id, result);
}

/**
 * The steps of a dry-run on AWS, each a Lambda invocation of the state machine
 * (infra/constructs/dry-run-machine.ts): `plan` marks the job running and names the shards to replay
 * (the Distributed Map's items), `shard` replays one (runShard, counting its records into the total),
 * `finish` merges the shards' results (finishJob), `fail` records why the execution failed.
 */
export type DryRunStep =
  | { step: 'plan'; jobId: string }
  | { step: 'shard'; jobId: string; shard: number }
  | { step: 'finish'; jobId: string; results: ShardResult[] }
  | { step: 'fail'; jobId: string; error?: string | undefined };

export interface DryRunStepDeps {
  store: DryRunStore;
  reader: ArchiveReader;
  policies: PolicyStore;
}

/** What the execution's failure tells the caller: no internals (the execution's history has them). */
export const DRY_RUN_FAILED = 'the dry-run failed; see the state machine execution';

export async function runDryRunStep(
  deps: DryRunStepDeps,
  step: DryRunStep,
): Promise<{ shards: number[] } | ShardResult | undefined> {
  if (step.step === 'fail') {
    await deps.store.fail(step.jobId, DRY_RUN_FAILED);
    return undefined;
  }
  const job = await deps.store.get(step.jobId);
  if (!job) throw new NotFoundError(`no dry-run ${step.jobId}`);
  const input = async (): Promise<ShardInput> => ({
    from: job.from,
    to: job.to,
    policies: await policiesInForce(deps.policies),
    draft: job.draft,
  });
  switch (step.step) {
    case 'plan': {
      const shards = await deps.reader.shards(job.to);
      await deps.store.start(
        job.id,
        0,
        shards.reduce((sum, s) => sum + (s.bytes ?? 0), 0),
      );
      return { shards: shards.map((s) => s.shard) };
    }
    case 'shard': {
      const [shard] = await deps.reader.shards(job.to, step.shard);
      const empty: ArchiveShard = { shard: step.shard, parts: [] };
      return runShard(deps, job.id, shard ?? empty, await input(), { count: true });
    }
    case 'finish':
      await finishJob(deps.store, job, await input(), step.results);
      return undefined;
  }
}

export { DRAFT_VERSION };
