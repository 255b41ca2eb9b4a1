/**
 * The two dry-run runners on dynalite and the local archive: the state machine's steps (plan, one
 * invocation per shard, merge: shared/app/dry-runs.ts, runDryRunStep) give the very result the local
 * worker threads give, from the same shard and merge code; a failure is recorded on the job; and a job
 * whose runner is gone — a local one that stopped heartbeating, an execution that timed out — reads as
 * failed once its lease has run out (injected clock).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DRY_RUN_EXECUTION_LEASE_MS,
  DRY_RUN_EXECUTION_TIMEOUT_MS,
  DRY_RUN_STEP_TIMEOUT_MS,
  StepFunctionsRunner,
} from '#shared/adapters/archive/sfn-runner.ts';
import { DRY_RUN_LEASE_MS } from '#shared/adapters/archive/worker-runner.ts';
import type { Archive } from '#shared/app/archive.ts';
import {
  DRY_RUN_FAILED,
  dryRunRequestSchema,
  getDryRun,
  runDryRunStep,
  startDryRun,
} from '#shared/app/dry-runs.ts';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import { createDryRunRoot, createDryRunWorkerRoot, type Root } from '#shared/composition.ts';
import type { ShardResult } from '#shared/domain/dry-run-result.ts';
import { messageSchema } from '#shared/domain/schemas.ts';
import type { DryRunRunner } from '#shared/ports.ts';
import { type EnginesFixture, startEnginesFixture } from '../support/engines-fixture.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const costs = { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' };

let fixture: EnginesFixture;
let now = T0;
const clock = { now: () => now };
let root: Root;

beforeAll(async () => {
  fixture = await startEnginesFixture({
    name: 'dry-run-runners',
    clock,
    env: (dataDir) => ({ GOVERNOR_ARCHIVE_DIR: join(dataDir, 'archive') }),
    policy: { caps: [{ id: 'hour', limit: 2, window: 'PT1H' }], channelCosts: costs },
  });
  root = fixture.root;
  // Traffic: 24 customers (spread over the shards), 4 messages each, a few minutes apart.
  const deps: SendDeps = { ...root, counter: undefined };
  for (let m = 0; m < 4; m++) {
    const messages = Array.from({ length: 24 }, (_, c) =>
      messageSchema.parse({
        messageId: `m-${c}-${m}`,
        customerId: `runner-customer-${c}`,
        channel: c % 3 === 0 ? 'sms' : 'email',
        campaignId: m % 2 === 0 ? 'spring' : 'summer',
        relevance: 0.5 + (c % 5) / 10,
        expiresAt: new Date(now + 10 * MINUTE).toISOString(),
        payload: { address: `c${c}@example.com` },
      }),
    );
    await sendMessages(deps, messages);
    now += 5 * MINUTE;
  }
  await (root.archive as Archive).drain();
});

afterAll(async () => {
  await fixture?.stop();
});

const request = () =>
  dryRunRequestSchema.parse({
    policy: { caps: [{ id: 'hour', limit: 1, window: 'PT1H' }], channelCosts: costs },
    from: '2026-03-02',
    to: '2026-03-02',
  });
/** A runner that only records that it was asked: the test plays the state machine's part. */
const noRunner: DryRunRunner = { leaseMs: DRY_RUN_LEASE_MS, start: async () => undefined };
/** The Step Functions runner, its client answering StartExecution as Step Functions does (no local engine). */
const stateMachine = () =>
  new StepFunctionsRunner({ send: async () => ({ executionArn: 'arn:execution' }) }, 'arn:machine');

describe('the dry-run runners', () => {
  it("gives the local worker threads' result when run as the state machine runs it: plan, each shard, merge", async () => {
    // Prepare
    const local = createDryRunRoot(root);
    const worker = createDryRunWorkerRoot(root);
    const byThreads = await startDryRun(local, request(), 'test');
    const bySteps = await startDryRun({ ...local, runner: noRunner }, request(), 'test');

    // Act
    const plan = (await runDryRunStep(worker, { step: 'plan', jobId: bySteps.id })) as { shards: number[] };
    const results: ShardResult[] = [];
    for (const shard of plan.shards) {
      results.push((await runDryRunStep(worker, { step: 'shard', jobId: bySteps.id, shard })) as ShardResult);
    }
    await runDryRunStep(worker, { step: 'finish', jobId: bySteps.id, results });
    await vi.waitFor(async () => expect((await local.store.get(byThreads.id))?.status).toBe('done'), {
      timeout: 20_000,
      interval: 50,
    });

    // Assess
    const threads = await getDryRun(local, byThreads.id);
    const steps = await getDryRun(local, bySteps.id);
    expect(plan.shards.length).toBeGreaterThan(1);
    expect(steps.status).toBe('done');
    expect(steps.result).toEqual(threads.result);
    expect(threads.result?.events).toBe(96);
    expect(steps.progress).toEqual({ events: 96, totalEvents: 96 });
    expect(threads.progress).toEqual({ events: 96, totalEvents: 96 });
  });

  it('records a failed execution on the job, without its internals', async () => {
    const local = createDryRunRoot(root);
    const job = await startDryRun({ ...local, runner: noRunner }, request(), 'test');

    await runDryRunStep(createDryRunWorkerRoot(root), { step: 'fail', jobId: job.id });

    expect(await getDryRun(local, job.id)).toMatchObject({ status: 'failed', error: DRY_RUN_FAILED });
  });
});

describe('the lease of a local dry-run', () => {
  it('is taken by the local runner as it starts the job', async () => {
    const local = createDryRunRoot(root);

    const job = await startDryRun(local, request(), 'test');

    expect(await local.store.get(job.id)).toMatchObject({ updatedAt: now, leaseMs: DRY_RUN_LEASE_MS });
    await vi.waitFor(async () => expect((await local.store.get(job.id))?.status).toBe('done'), {
      timeout: 20_000,
      interval: 50,
    });
  });

  it('answers failed, with the last heartbeat, for a running job whose runner stopped heartbeating', async () => {
    // Prepare: a job running under a lease, its runner gone (nobody heartbeats).
    const local = createDryRunRoot(root);
    const job = await startDryRun({ ...local, runner: noRunner }, request(), 'test');
    await local.store.start(job.id, 96);
    const beat = now;
    await local.store.heartbeat(job.id, beat, DRY_RUN_LEASE_MS);

    // Act & Assess: running while the lease holds, failed once it has run out
    now = beat + DRY_RUN_LEASE_MS;
    expect((await getDryRun(local, job.id)).status).toBe('running');
    now = beat + DRY_RUN_LEASE_MS + 1;
    const lost = await getDryRun(local, job.id);
    expect(lost.status).toBe('failed');
    expect(lost.error).toContain(`renewed last at ${new Date(beat).toISOString()}`);
  });
});

describe('the lease of a dry-run on AWS', () => {
  it("answers failed for a job whose execution ended without an outcome, once the execution's time is over", async () => {
    // Prepare: a job the state machine planned and started replaying; its execution then timed out, so
    // no step recorded anything (RecordFailure runs on a step's failure, not on the execution's timeout).
    const aws = createDryRunRoot(root, stateMachine());
    const started = now;
    const job = await startDryRun(aws, request(), 'test');
    await runDryRunStep(createDryRunWorkerRoot(root), { step: 'plan', jobId: job.id });

    // Act & Assess: running while an execution (or its last step) may still finish it, failed after
    now = started + DRY_RUN_EXECUTION_TIMEOUT_MS + DRY_RUN_STEP_TIMEOUT_MS;
    expect((await getDryRun(aws, job.id)).status).toBe('running');
    now = started + DRY_RUN_EXECUTION_LEASE_MS + 1;
    const lost = await getDryRun(aws, job.id);
    expect(lost.status).toBe('failed');
    expect(lost.error).toContain(`renewed last at ${new Date(started).toISOString()}`);
  });

  it('leaves a job the execution finished as it finished it, however old', async () => {
    const aws = createDryRunRoot(root, stateMachine());
    const worker = createDryRunWorkerRoot(root);
    const job = await startDryRun(aws, request(), 'test');
    await runDryRunStep(worker, { step: 'plan', jobId: job.id });
    await runDryRunStep(worker, { step: 'finish', jobId: job.id, results: [] });

    now += 10 * DRY_RUN_EXECUTION_LEASE_MS;

    expect((await getDryRun(aws, job.id)).status).toBe('done');
  });
});

describe('the progress of a dry-run on AWS', () => {
  it('has a total from the first shard read on, estimated from the bytes, and a share that never goes back', async () => {
    // Prepare: the state machine's plan, its shards then replayed one after the other
    const aws = createDryRunRoot(root, stateMachine());
    const worker = createDryRunWorkerRoot(root);
    const job = await startDryRun(aws, request(), 'test');
    const plan = (await runDryRunStep(worker, { step: 'plan', jobId: job.id })) as { shards: number[] };

    // Act
    const seen: { events: number; totalEvents: number }[] = [];
    for (const shard of plan.shards) {
      await runDryRunStep(worker, { step: 'shard', jobId: job.id, shard });
      seen.push((await getDryRun(aws, job.id)).progress);
    }

    // Assess: the first shard's total counts the shards still to read; the share only grows, to all of it
    const shares = seen.map((p) => p.events / p.totalEvents);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen[0]?.totalEvents).toBeGreaterThan(seen[0]?.events ?? 0);
    expect(shares).toEqual([...shares].sort((a, b) => a - b));
    expect(seen.at(-1)).toEqual({ events: 96, totalEvents: 96 });
  });
});
