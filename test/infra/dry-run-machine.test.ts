/**
 * The dry-run on AWS (infra/constructs/dry-run-machine.ts): the state machine (plan, a Distributed Map of
 * shard replays, the merge, a failure recorded on the job), its worker, and what each may do.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DRY_RUN_EXECUTION_LEASE_MS } from '#shared/adapters/archive/sfn-runner.ts';
import { ARCHIVE_SHARDS } from '#shared/domain/archive.ts';
import { allow, allowWhen, buildGovernor, resourceNames, statementsOf, Template } from './support.ts';

let stateless: Template;
let names: Map<string, string>;

beforeAll(() => {
  const built = buildGovernor();
  stateless = Template.fromStack(built.stateless);
  names = resourceNames(built.app);
});

const idOf = (path: string) => {
  const id = [...names].find(([, p]) => p === path)?.[0];
  if (!id) throw new Error(`no resource ${path}`);
  return id;
};

interface State {
  Type: string;
  Resource?: string;
  Next?: string;
  End?: boolean;
  Parameters?: Record<string, unknown>;
  ResultPath?: string | null;
  ItemsPath?: string;
  ItemSelector?: Record<string, unknown>;
  MaxConcurrency?: number;
  ItemProcessor?: {
    ProcessorConfig: { Mode: string; ExecutionType: string };
    StartAt: string;
    States: Record<string, State>;
  };
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
}

/** The definition as Step Functions reads it (the worker's ARN left as a marker). */
function definition(): { StartAt: string; States: Record<string, State>; TimeoutSeconds?: number } {
  const machines = Object.values(stateless.findResources('AWS::StepFunctions::StateMachine'));
  expect(machines).toHaveLength(1);
  const [, parts] = machines[0]!.Properties.DefinitionString['Fn::Join'] as [string, unknown[]];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'WORKER')).join(''));
}

describe('the dry-run state machine', () => {
  it('plans, replays every shard in a Distributed Map of Lambda workers, then merges', () => {
    const { StartAt, States } = definition();

    expect(StartAt).toBe('Plan');
    expect(States.Plan).toMatchObject({ Type: 'Task', Next: 'Shards', ResultPath: '$.plan' });
    expect(States.Plan?.Parameters).toEqual({ step: 'plan', 'jobId.$': '$.jobId' });
    expect(States.Shards).toMatchObject({
      Type: 'Map',
      Next: 'Merge',
      ItemsPath: '$.plan.shards',
      ItemSelector: { 'jobId.$': '$.jobId', 'shard.$': '$$.Map.Item.Value' },
      MaxConcurrency: ARCHIVE_SHARDS,
      ResultPath: '$.results',
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'Replay',
      },
    });
    expect(States.Shards?.ItemProcessor?.States.Replay?.Parameters).toEqual({
      step: 'shard',
      'jobId.$': '$.jobId',
      'shard.$': '$.shard',
    });
    expect(States.Merge).toMatchObject({ Type: 'Task', End: true });
    // Each task invokes the one worker function.
    for (const task of [States.Plan, States.Merge, States.Shards?.ItemProcessor?.States.Replay]) {
      expect(task?.Resource).toBe('WORKER');
    }
    expect(States.Merge?.Parameters).toEqual({
      step: 'finish',
      'jobId.$': '$.jobId',
      'results.$': '$.results',
    });
  });

  it('records the failure of any step on the job before the execution fails', () => {
    const { States } = definition();

    for (const step of ['Plan', 'Shards', 'Merge']) {
      expect(States[step]?.Catch, step).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' },
      ]);
    }
    expect(States.RecordFailure).toMatchObject({ Type: 'Task', Next: 'Failed' });
    expect(States.RecordFailure?.Parameters).toEqual({ step: 'fail', 'jobId.$': '$.jobId' });
    expect(States.Failed?.Type).toBe('Fail');
  });

  it('is a standard state machine with a timeout, X-Ray tracing and its execution logs', () => {
    stateless.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
    });
    expect(definition().TimeoutSeconds).toBe(3600);
  });

  it("is outlasted by a job's lease: its timeout and its last step's, so that the API answers failed after both", () => {
    const worker = stateless.findResources('AWS::Lambda::Function')[idOf('DryRunMachine/Worker')]?.Properties;
    const machineMs = (definition().TimeoutSeconds ?? Number.POSITIVE_INFINITY) * 1000;

    expect(machineMs + worker.Timeout * 1000).toBeLessThan(DRY_RUN_EXECUTION_LEASE_MS);
  });

  it('may invoke its worker and run its own map, nothing else but its logs and traces', () => {
    const [roleId] = Object.entries(stateless.findResources('AWS::StepFunctions::StateMachine')).map(
      ([, m]) => (m.Properties.RoleArn as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0],
    );
    const actions = Object.values(stateless.findResources('AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap(
        (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
      );
    const invoke = actions.filter((s) => [s.Action].flat().includes('lambda:InvokeFunction'));

    expect(invoke.length).toBeGreaterThan(0);
    for (const s of invoke) {
      expect(JSON.stringify(s.Resource)).toContain(idOf('DryRunMachine/Worker'));
    }
    const all = actions.flatMap((s) => [s.Action].flat());
    expect(all.filter((a) => !/^(lambda:InvokeFunction|states:|logs:|xray:)/.test(a))).toEqual([]);
  });
});

describe("the dry-run machine's alarm", () => {
  it('calls someone when a dry-run execution fails or times out', () => {
    const props =
      stateless.findResources('AWS::CloudWatch::Alarm')[idOf('Operations/DryRunExecutionsFailed')]
        ?.Properties;
    const metrics = props?.Metrics as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown[] }; Stat: string };
    }[];
    const watched = metrics
      .filter((m) => m.MetricStat)
      .map((m) => ({ id: m.Id, name: m.MetricStat?.Metric.MetricName, stat: m.MetricStat?.Stat }));

    expect(metrics.find((m) => m.Expression)?.Expression).toBe('FILL(failed, 0) + FILL(timedOut, 0)');
    expect(watched).toEqual([
      { id: 'failed', name: 'ExecutionsFailed', stat: 'Sum' },
      { id: 'timedOut', name: 'ExecutionsTimedOut', stat: 'Sum' },
    ]);
    for (const m of metrics.filter((m) => m.MetricStat)) {
      expect(m.MetricStat?.Metric).toMatchObject({
        Namespace: 'AWS/States',
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: idOf('DryRunMachine/StateMachine') } }],
      });
    }
    expect(props).toMatchObject({
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: idOf('Operations/AlarmTopic') }],
      OKActions: [{ Ref: idOf('Operations/AlarmTopic') }],
    });
  });
});

describe('the dry-run worker', () => {
  it('has 15 minutes and the memory of a shard, the bucket and the table named', () => {
    const worker = stateless.findResources('AWS::Lambda::Function')[idOf('DryRunMachine/Worker')]?.Properties;

    expect(worker).toMatchObject({ Timeout: 900, MemorySize: 4096 });
    expect(Object.keys(worker.Environment.Variables)).toEqual(
      expect.arrayContaining(['GOVERNOR_ARCHIVE_BUCKET', 'GOVERNOR_TABLE_NAME']),
    );
  });

  it("reads the archive's objects and the job and policy items, and nothing else", () => {
    expect(statementsOf(stateless, names, 'DryRunMachine/Worker')).toEqual(
      [
        allow(['logs:CreateLogStream', 'logs:PutLogEvents'], 'DryRunMachine/WorkerLogs'),
        allow(['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], '*'),
        allowWhen({ StringLike: { 's3:prefix': ['archive/*'] } }, ['s3:ListBucket'], 'Archive/Bucket'),
        allow(['s3:GetObject'], 'Archive/Bucket/archive/*'),
        allowWhen(
          { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DRYRUN#*'] } },
          ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          'Table',
        ),
        allowWhen(
          { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['POLICY'] } },
          ['dynamodb:GetItem', 'dynamodb:Query'],
          'Table',
        ),
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
  });
});

describe('the dry-runs function', () => {
  it('is told the state machine and may start its executions alone', () => {
    const fn = stateless.findResources('AWS::Lambda::Function')[idOf('DryRuns')]?.Properties;
    const start = statementsOf(stateless, names, 'DryRuns').filter((s) =>
      s.actions.includes('states:StartExecution'),
    );

    expect(fn.Environment.Variables.GOVERNOR_DRY_RUN_STATE_MACHINE).toEqual({
      Ref: idOf('DryRunMachine/StateMachine'),
    });
    expect(start).toEqual([allow(['states:StartExecution'], 'DryRunMachine/StateMachine')]);
  });
});
