/**
 * The dry-run runner on AWS: one Step Functions execution per job (infra/constructs/dry-run-machine.ts),
 * named after it, whose Distributed Map replays the archive's shards in Lambda workers and whose last
 * step merges their results into the job (shared/app/dry-runs.ts, runDryRunStep). The execution's
 * input is the job's id alone: the workers read the job from the table.
 */
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { DryRunJob, DryRunRunner } from '../../ports.ts';

export function createSfnClient(region: string): SFNClient {
  return new SFNClient({ region, maxAttempts: 3 });
}

export class StepFunctionsRunner implements DryRunRunner {
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
