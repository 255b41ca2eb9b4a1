/**
 * Every Governor function: the defaults fixed in one place (Node.js 22 on arm64, ESM bundle built by
 * esbuild with source maps, JSON logs kept a month, X-Ray tracing, Powertools settings) and intent
 * methods that set a function's environment and its permissions together, so that a function can reach
 * exactly what it was bound to and nothing else.
 */
import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  type CfnFunction,
  LoggingFormat,
  Runtime,
} from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { RATE_COUNTER_PREFIX } from '#shared/adapters/dynamodb/keys.ts';
import { PROJECT_ROOT } from '../paths.ts';

export type TableAccess = 'R' | 'RW';
/** The decision archive's Firehose stream, as the functions that archive reach it. */
export interface ArchiveStreamRef {
  readonly streamName: string;
  readonly streamArn: string;
}
export type QueueAccess = 'send' | 'consume' | 'inspect';
/** The variables of shared/config.ts that name a queue. */
export type QueueVariable = 'GOVERNOR_DELIVERY_QUEUE_URL' | 'GOVERNOR_DLQ_URL';
/** The variables that name a Secrets Manager secret (ARN) the function reads at cold start. */
export type SecretVariable =
  | 'GOVERNOR_ADMIN_KEY_SECRET_ARN'
  | 'GOVERNOR_WEBHOOK_SECRET_ARN'
  | 'GOVERNOR_HASH_SECRET_ARN';

/**
 * The data-plane actions of each access level: what the DynamoDB adapters call (GetItem, BatchGetItem,
 * Query, UpdateItem, PutItem, DeleteItem, BatchWriteItem) and nothing broader: no Scan (see bindTable),
 * no table management. DeleteItem grants nothing BatchWriteItem's DeleteRequest does not already allow.
 */
export const TABLE_ACTIONS: Record<TableAccess, readonly string[]> = {
  R: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
  RW: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
  ],
};

/** esbuild's ESM output has no `require`; CommonJS dependencies bundled into it need one. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __governorCreateRequire } from 'node:module'; const require = __governorCreateRequire(import.meta.url);";

/** What every function's environment carries (besides what the bind methods add). */
export const BASE_ENVIRONMENT: Readonly<Record<string, string>> = {
  NODE_OPTIONS: '--enable-source-maps',
  POWERTOOLS_SERVICE_NAME: 'governor',
  POWERTOOLS_METRICS_NAMESPACE: 'Governor',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export interface GovernorFunctionProps {
  /** The handler module, relative to the project root, exporting `handler`: `functions/send/handler.ts`. */
  readonly entry: string;
  readonly description?: string;
  /** @default 10 seconds (an HTTP API integration gives up after 30). */
  readonly timeout?: Duration;
  /** @default 1024 MB: more memory is more CPU, and a faster cold start. */
  readonly memorySize?: number;
  readonly environment?: Readonly<Record<string, string>>;
  /** @default one month */
  readonly logRetention?: RetentionDays;
  /**
   * Shell commands run in the project root once esbuild has written the bundle into `outputDir`: to put
   * files the function serves beside its code (the console's build).
   */
  readonly afterBundling?: (outputDir: string) => string[];
}

export class GovernorFunction extends NodejsFunction {
  /** The handler module, relative to the project root. */
  readonly entryModule: string;
  readonly functionLogGroup: LogGroup;
  readonly functionRole: Role;

  constructor(scope: Construct, id: string, props: GovernorFunctionProps) {
    // The role and log group are built here (siblings, since `this` does not exist before super) so
    // that the role can write to this log group only, instead of AWSLambdaBasicExecutionRole's
    // CreateLogGroup/PutLogEvents on every log group of the account.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Governor ${id} function: only what its bind* calls grant`,
    });
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description ?? `Governor ${props.entry}`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(10),
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      awsSdkConnectionReuse: false,
      environment: { ...BASE_ENVIRONMENT, ...props.environment },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        platform: 'node',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        // index.mjs.map beside the bundle, linked by a sourceMappingURL comment, without the sources
        // themselves: stack traces name the TypeScript file and line (NODE_OPTIONS --enable-source-maps).
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        // The SDK is bundled (tree-shaken, pinned by package-lock.json) rather than taken from the
        // runtime: the deployed code is exactly the code tested, and it loads faster from one file.
        bundleAwsSDK: true,
        externalModules: [],
        tsconfig: join(PROJECT_ROOT, 'tsconfig.json'),
        ...(props.afterBundling
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_inputDir: string, outputDir: string) =>
                  props.afterBundling?.(outputDir) ?? [],
              },
            }
          : {}),
      },
    });
    this.entryModule = props.entry;
    this.functionRole = role;
    this.functionLogGroup = logGroup;
    logGroup.grantWrite(role);
    this.enableActiveTracing(role);
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the runtime the service is built and tested for (the deployment brief fixes it); it is a ' +
        'supported Lambda runtime until 2027-04. Moving to Node.js 24 is a deliberate upgrade, tested first.',
    });
  }

  /**
   * X-Ray active tracing with its write permission in a policy of its own: PutTraceSegments and
   * PutTelemetryRecords have no resource type, so they need `Resource: *`, and keeping them apart lets
   * that one finding be acknowledged without hiding a wildcard added to the function's other grants.
   */
  private enableActiveTracing(role: Role): void {
    const cfn = this.node.defaultChild as CfnFunction;
    cfn.tracingConfig = { mode: 'Active' };
    const policy = new Policy(this, 'TracingPolicy', {
      roles: [role],
      statements: [
        new PolicyStatement({
          actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
          resources: ['*'],
        }),
      ],
    });
    cfn.node.addDependency(policy);
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (the IAM ' +
        'service authorization reference lists no resource type), so X-Ray tracing needs Resource "*". This ' +
        'policy holds only those two actions.',
    });
  }

  /**
   * Reads ('R': GetItem, Query) or reads and writes ('RW') the items of `table`, and sets
   * GOVERNOR_TABLE_NAME. `indexes` names the secondary indexes the function queries, `scan` allows a
   * full-table Scan (recovery jobs only); neither by default.
   */
  bindTable(
    table: ITable,
    access: TableAccess,
    options: { indexes?: readonly string[]; scan?: boolean } = {},
  ): this {
    this.addEnvironment('GOVERNOR_TABLE_NAME', table.tableName);
    const indexArns = (options.indexes ?? []).map((index) => `${table.tableArn}/index/${index}`);
    const actions = [...TABLE_ACTIONS[access], ...(options.scan ? ['dynamodb:Scan'] : [])];
    this.addToRolePolicy(new PolicyStatement({ actions, resources: [table.tableArn, ...indexArns] }));
    table.encryptionKey?.grantEncryptDecrypt(this);
    return this;
  }

  /**
   * 'send': sqs:SendMessage (which also authorizes SendMessageBatch) to `queue`, its URL in `variable`.
   * 'consume': the queue becomes this function's event source; batches report item failures, so one
   * failed record is retried alone (the function must answer `{ batchItemFailures }`).
   * 'inspect': sqs:GetQueueAttributes on `queue` (its approximate depths), nothing else.
   * `variable: null` sets no variable.
   */
  bindQueue(
    queue: IQueue,
    access: QueueAccess,
    options: { variable?: QueueVariable | null; batchSize?: number; maxConcurrency?: number } = {},
  ): this {
    // null: a consumer that never names its queue (Lambda hands it the records).
    if (options.variable !== null)
      this.addEnvironment(options.variable ?? 'GOVERNOR_DELIVERY_QUEUE_URL', queue.queueUrl);
    if (access === 'send') {
      this.addToRolePolicy(
        new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
      );
      queue.encryptionMasterKey?.grant(this, 'kms:GenerateDataKey', 'kms:Decrypt');
    } else if (access === 'inspect') {
      this.addToRolePolicy(
        new PolicyStatement({ actions: ['sqs:GetQueueAttributes'], resources: [queue.queueArn] }),
      );
    } else {
      this.addEventSource(
        new SqsEventSource(queue, {
          reportBatchItemFailures: true,
          batchSize: options.batchSize ?? 10,
          maxBatchingWindow: Duration.seconds(1),
          ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
        }),
      );
    }
    return this;
  }

  /**
   * Adds to and reads the API keys' shared request counts (shared/app/rate-limit.ts): GetItem and
   * UpdateItem on the `RATE#<key id>` items of `table` only, for a function that checks keys' rate
   * limits without writing the table otherwise.
   */
  bindRateCounter(table: ITable): this {
    this.addEnvironment('GOVERNOR_TABLE_NAME', table.tableName);
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${RATE_COUNTER_PREFIX}*`] } },
      }),
    );
    table.encryptionKey?.grantEncryptDecrypt(this);
    return this;
  }

  /**
   * Sends archive records to the decision archive's Firehose stream (shared/adapters/archive/firehose-sink.ts):
   * firehose:PutRecordBatch on that stream alone, its name in GOVERNOR_ARCHIVE_STREAM.
   */
  bindArchiveStream(stream: ArchiveStreamRef): this {
    this.addEnvironment('GOVERNOR_ARCHIVE_STREAM', stream.streamName);
    this.addToRolePolicy(
      new PolicyStatement({ actions: ['firehose:PutRecordBatch'], resources: [stream.streamArn] }),
    );
    return this;
  }

  /** Reads one secret (GetSecretValue, DescribeSecret on it alone) whose ARN goes in `variable`. */
  bindSecret(secret: ISecret, variable: SecretVariable): this {
    this.addEnvironment(variable, secret.secretArn);
    secret.grantRead(this);
    return this;
  }
}
