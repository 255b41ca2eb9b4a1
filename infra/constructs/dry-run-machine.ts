/**
 * The dry-run on AWS: a Step Functions state machine per deployment, one execution per job
 * (shared/adapters/archive/sfn-runner.ts starts it with `{jobId}`). `Plan` marks the job running and
 * lists the archive's shards; a Distributed Map replays each shard in a Lambda worker (runShard: its
 * S3 partitions of every day up to the period's end, through the real engine, its records counted into
 * the job's total and its progress added as it finishes); `Merge` merges the shards' results into the job
 * (mergeShards). Any failure is recorded on the job (`RecordFailure`) before the execution fails.
 * One worker function serves every step (shared/app/dry-runs.ts, runDryRunStep).
 */
import { type CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { type IMetric, MathExpression } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  DefinitionBody,
  DistributedMap,
  Fail,
  JsonPath,
  LogLevel,
  StateMachine,
  StateMachineType,
  TaskInput,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import {
  DRY_RUN_EXECUTION_TIMEOUT_MS,
  DRY_RUN_STEP_TIMEOUT_MS,
} from '#shared/adapters/archive/sfn-runner.ts';
import { dryRunPk, POLICY_PK } from '#shared/adapters/dynamodb/keys.ts';
import { ARCHIVE_SHARDS } from '#shared/domain/archive.ts';
import { ARCHIVE_PREFIX } from './decision-archive.ts';
import { GovernorFunction } from './governor-function.ts';

/** A shard's replay may read weeks of one sixteenth of the archive: Lambda's longest timeout. */
export const DRY_RUN_WORKER_TIMEOUT = Duration.millis(DRY_RUN_STEP_TIMEOUT_MS);
/** Memory holds a shard's records; it also buys CPU (1,769 MB is one vCPU). */
export const DRY_RUN_WORKER_MEMORY_MB = 4096;
/**
 * The longest a job may run before the execution fails; the job's lease covers it (the API answers a job
 * past it failed: sfn-runner.ts, DRY_RUN_EXECUTION_LEASE_MS).
 */
export const DRY_RUN_MACHINE_TIMEOUT = Duration.millis(DRY_RUN_EXECUTION_TIMEOUT_MS);

export interface DryRunMachineProps {
  /** The worker's handler module (functions/dry-run-worker/handler.ts). */
  readonly entry: string;
  readonly table: ITable;
  /** The archive's bucket (objects under ARCHIVE_PREFIX): its name, and its ARN (imported, or in this stack). */
  readonly bucketName: string;
  readonly bucketArn: string;
  /** Added to the worker's environment (config.ts settings). */
  readonly environment?: Readonly<Record<string, string>>;
}

export class DryRunMachine extends Construct {
  readonly worker: GovernorFunction;
  readonly stateMachine: StateMachine;
  private readonly bucketArn: string;

  constructor(scope: Construct, id: string, props: DryRunMachineProps) {
    super(scope, id);
    const { table } = props;
    this.bucketArn = props.bucketArn;

    this.worker = new GovernorFunction(this, 'Worker', {
      entry: props.entry,
      description: 'Governor: one step of a dry-run (plan, a shard replayed, the merge)',
      timeout: DRY_RUN_WORKER_TIMEOUT,
      memorySize: DRY_RUN_WORKER_MEMORY_MB,
      environment: { ...props.environment, GOVERNOR_ARCHIVE_BUCKET: props.bucketName },
    });
    this.grantWorker(table, props.bucketArn);

    const invoke = (name: string, payload: Record<string, unknown>, resultPath?: string) =>
      new LambdaInvoke(this, name, {
        lambdaFunction: this.worker,
        payload: TaskInput.fromObject(payload),
        payloadResponseOnly: true,
        ...(resultPath ? { resultPath } : {}),
      });
    const jobId = JsonPath.stringAt('$.jobId');

    const recordFailure = invoke('RecordFailure', { step: 'fail', jobId }, JsonPath.DISCARD).next(
      new Fail(this, 'Failed', { error: 'DryRunFailed', cause: 'a step of the dry-run failed' }),
    );
    const plan = invoke('Plan', { step: 'plan', jobId }, '$.plan');
    plan.addCatch(recordFailure, { resultPath: '$.error' });
    const shards = new DistributedMap(this, 'Shards', {
      itemsPath: '$.plan.shards',
      itemSelector: { jobId, shard: JsonPath.numberAt('$$.Map.Item.Value') },
      maxConcurrency: ARCHIVE_SHARDS,
      resultPath: '$.results',
    });
    shards.itemProcessor(invoke('Replay', { step: 'shard', jobId, shard: JsonPath.numberAt('$.shard') }));
    shards.addCatch(recordFailure, { resultPath: '$.error' });
    const merge = invoke('Merge', { step: 'finish', jobId, results: JsonPath.listAt('$.results') });
    merge.addCatch(recordFailure, { resultPath: '$.error' });

    const logs = new LogGroup(this, 'Logs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(plan.next(shards).next(merge)),
      timeout: DRY_RUN_MACHINE_TIMEOUT,
      tracingEnabled: true,
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: false },
    });
    this.acknowledgeWildcards();
  }

  /**
   * Executions that failed or timed out, per five minutes: a failed one has marked its job failed
   * (RecordFailure); one that ran past DRY_RUN_MACHINE_TIMEOUT ends without a step, and its job reads as
   * failed once its lease runs out. Either way the caller gets no result; the execution's history says why.
   */
  metricFailedExecutions(): IMetric {
    const period = Duration.minutes(5);
    return new MathExpression({
      // A period without executions has no datapoint: counted as none, so that either alone alarms.
      expression: 'FILL(failed, 0) + FILL(timedOut, 0)',
      usingMetrics: {
        failed: this.stateMachine.metricFailed({ period, statistic: 'Sum' }),
        timedOut: this.stateMachine.metricTimedOut({ period, statistic: 'Sum' }),
      },
      period,
      label: 'dry-runs failed or timed out',
    });
  }

  /** The wildcards IAM cannot do without, each on its own resource, with its reason. */
  private acknowledgeWildcards(): void {
    const stack = Stack.of(this);
    const worker = stack.getLogicalId(this.worker.node.defaultChild as CfnFunction);
    const machine = stack.getLogicalId(this.stateMachine.node.defaultChild as CfnResource);
    const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${machine}"}]}]}`;
    const acknowledge = (id: string, reason: string) =>
      Validations.of(this.stateMachine).acknowledge({ id: `AwsSolutions-IAM5[Resource::${id}]`, reason });
    acknowledge(
      `<${worker}.Arn>:*`,
      'The state machine invokes its one worker function; Step Functions grants lambda:InvokeFunction on the ' +
        "function's versions and aliases too (ARN:*), of that function alone.",
    );
    acknowledge(
      '*',
      'Step Functions delivers execution logs through CloudWatch Logs log deliveries and X-Ray, whose actions ' +
        '(logs:CreateLogDelivery, logs:DescribeResourcePolicies, xray:PutTraceSegments, ...) take no resource.',
    );
    acknowledge(
      `${executions}:*`,
      "The Distributed Map's child executions are named by Step Functions; the grant covers this state " +
        "machine's executions only (DescribeExecution, StopExecution of the map run).",
    );
    acknowledge(
      `${executions}/*:*`,
      "The Distributed Map's map runs are named by Step Functions; the grant covers this state machine's map " +
        'runs only.',
    );
    Validations.of(this.worker.functionRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagName(stack.resolve(this.bucketArn))}/${ARCHIVE_PREFIX}*]`,
      reason:
        'Firehose names the archive objects itself (partition, time, random suffix): the worker may only get ' +
        'the objects under archive/ of the archive bucket, to replay them; no write, no other prefix.',
    });
  }

  /**
   * The worker reads the archive's objects (list the bucket under archive/, get them) and the job and
   * policy items of the table (the job's item read and updated; the policy versions read), nothing else.
   */
  private grantWorker(table: ITable, bucketArn: string): void {
    const worker = this.worker;
    worker.addEnvironment('GOVERNOR_TABLE_NAME', table.tableName);
    worker.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${ARCHIVE_PREFIX}*`] } },
      }),
    );
    worker.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [`${bucketArn}/${ARCHIVE_PREFIX}*`],
      }),
    );
    worker.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [dryRunPk('*')] } },
      }),
    );
    worker.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:Query'],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [POLICY_PK] } },
      }),
    );
    table.encryptionKey?.grantEncryptDecrypt(worker);
  }
}

/** How cdk-nag names a resource: an imported value by its export, a resource of this stack `<Id.Arn>`. */
function nagName(resolved: unknown): string {
  const value = resolved as Record<string, unknown>;
  if (typeof value['Fn::ImportValue'] === 'string') return value['Fn::ImportValue'];
  const getAtt = value['Fn::GetAtt'] as [string, string] | undefined;
  if (getAtt) return `<${getAtt[0]}.${getAtt[1]}>`;
  return String(resolved);
}
