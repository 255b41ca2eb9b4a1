/**
 * The dry-run runner on AWS: one Step Functions execution per job (infra/constructs/dry-run-machine.ts),
 * named after it, whose Distributed Map replays the archive's shards in Lambda workers and whose last
 * step merges their results into the job (shared/app/dry-runs.ts, runDryRunStep). The execution's
 * input is the job's id alone: the workers read the job from the table.
 */
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { DryRunJob, DryRunRunner } from '../../ports.ts';

/** The longest an execution runs: the state machine's own timeout (infra/constructs/dry-run-machine.ts). */
export const DRY_RUN_EXECUTION_TIMEOUT_MS = 3_600_000;
/** The longest one step's Lambda runs (Lambda's longest timeout): a shard's replay may read weeks of it. */
export const DRY_RUN_STEP_TIMEOUT_MS = 900_000;

/**
 * The lease of a job on AWS, from its creation: the execution's timeout, plus one step's (a Lambda still
 * running when its execution times out may yet write its outcome), plus a minute for the start's delay
 * and the clocks of the processes. Step Functions bounds the execution, so the lease needs no renewal: a
 * heartbeat per step could not be finer anyway, as a shard's replay is one synchronous run of up to a
 * step's timeout, during which its Lambda writes nothing. A job past it that is not done has no execution
 * left to finish it — one that timed out or was stopped records nothing (RecordFailure runs on a step's
 * failure only) — and reads as failed (getDryRun).
 */
export const DRY_RUN_EXECUTION_LEASE_MS = DRY_RUN_EXECUTION_TIMEOUT_MS + DRY_RUN_STEP_TIMEOUT_MS + 60_000;

export function createSfnClient(region: string): SFNClient {
  return new SFNClient({ region, maxAttempts: 3 });
}

export class StepFunctionsRunner implements DryRunRunner {
  readonly leaseMs = DRY_RUN_EXECUTION_LEASE_MS;

  constructor(
    private readonly sfn: Pick<SFNClient, 'send'>,
    private readonly stateMachineArn: string,
  ) {}

  /** Starts the job's execution; resolves once Step Functions has it (not when it ends). */
  async start(job: DryRunJob): Promise<void> {
    await this.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: this.stateMachineArn,
        // One execution per job: a retried start of the same job is refused, not run twice.
        name: job.id,
        input: JSON.stringify({ jobId: job.id }),
      }),
    );
  }
}
