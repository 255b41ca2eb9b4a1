/**
 * The code and everything that can be replaced at will: the functions, the HTTP API and its routes, the
 * delivery pipeline, alarms and dashboard. It only references the stateful stack's resources.
 */
import { join } from 'node:path';
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { CONSOLE_PATH } from '../../shared/console.ts';
import { DeliveryPipeline, RELEASE_SCHEDULE } from '../constructs/delivery-pipeline.ts';
import { DryRunMachine } from '../constructs/dry-run-machine.ts';
import { GovernorApi } from '../constructs/governor-api.ts';
import { type ArchiveStreamRef, GovernorFunction } from '../constructs/governor-function.ts';
import { GovernorOperations } from '../constructs/operations.ts';
import { ProviderFeedback } from '../constructs/provider-feedback.ts';
import type { DeliveryEntries, HttpFunctionSpec, RouteKey } from '../routes.ts';
import type { GovernorSettings } from '../settings.ts';
import { DELIVERY_MAX_RECEIVE_COUNT } from './stateful-stack.ts';

/** What the stateless stack uses of the stateful one. */
export interface GovernorState {
  readonly table: ITable;
  readonly deliveryQueue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly adminKey: ISecret;
  readonly webhook: ISecret;
  readonly hashSecret: ISecret;
  /** The decision archive: its stream (the functions that archive send to it) and its bucket. */
  readonly archive: ArchiveStreamRef & { readonly bucket: IBucket };
}

export interface StatelessStackProps extends StackProps {
  readonly state: GovernorState;
  readonly settings: GovernorSettings;
  readonly httpFunctions: readonly HttpFunctionSpec[];
  /** The delivery pipeline's functions, once they exist. */
  readonly delivery?: DeliveryEntries | undefined;
  /** The Lambda authorizer's handler module, once it exists. */
  readonly authorizer?: string | undefined;
  /** The dry-run state machine's worker module; undefined: no dry-runs on AWS. */
  readonly dryRunWorker?: string | undefined;
  /** The provider events' queue consumer module; undefined: no provider feedback wired. */
  readonly providerFeedback?: string | undefined;
}

/** The SES configuration set the stack creates when email uses ses and none is named. */
export const DEFAULT_SES_CONFIGURATION_SET = 'governor';
/** The End User Messaging SMS configuration set the stack creates when SMS uses sms-voice and none is named. */
export const DEFAULT_SMS_CONFIGURATION_SET = 'governor-sms';

/** The dispatch function's provider settings (shared/config.ts names). */
function dispatchEnvironment(settings: GovernorSettings): Record<string, string> {
  const env: Record<string, string> = {};
  if (settings.snsSenderId) env.GOVERNOR_SNS_SENDER_ID = settings.snsSenderId;
  if (settings.snsOriginationNumber) env.GOVERNOR_SNS_ORIGINATION_NUMBER = settings.snsOriginationNumber;
  if (Object.keys(settings.deliveryRateLimits).length > 0) {
    env.GOVERNOR_RATE_LIMITS = JSON.stringify(settings.deliveryRateLimits);
  }
  return env;
}

/**
 * Builds the console into the function's bundle, so that the deployed console is the build of the
 * deployed code (the command runs in the project root, when CDK bundles).
 */
export const consoleBuildCommands = (outputDir: string) => [
  `${JSON.stringify(process.execPath)} --import tsx console/build.ts --out ${JSON.stringify(join(outputDir, 'console'))}`,
];

/** The route the send-latency alarm watches. */
export const SEND_ROUTE: RouteKey = 'POST /v1/messages';

export class StatelessStack extends Stack {
  readonly api: GovernorApi;
  readonly functions = new Map<string, GovernorFunction>();
  readonly pipeline: DeliveryPipeline | undefined;
  readonly dryRuns: DryRunMachine | undefined;
  readonly feedback: ProviderFeedback | undefined;
  readonly operations: GovernorOperations;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { state, settings } = props;
    const environment = {
      GOVERNOR_POLICY_TTL_MS: String(settings.policyTtlMs),
      GOVERNOR_IDEMPOTENCY_HOURS: String(settings.idempotencyHours),
      // A frozen Lambda runs no timer: decision counts are written at the end of every invocation.
      GOVERNOR_COUNT_FLUSH_MS: '0',
      GOVERNOR_KEY_CACHE_TTL_MS: String(settings.keyCacheTtlMs),
      GOVERNOR_DEFAULT_RATE_LIMIT: String(settings.defaultRateLimit),
      // The release schedule's interval (RELEASE_SCHEDULE): decisions keep a margin of it before expiries.
      GOVERNOR_RELEASE_INTERVAL_S: String(RELEASE_SCHEDULE.toSeconds()),
    };

    let authorizer: GovernorFunction | undefined;
    if (props.authorizer) {
      authorizer = new GovernorFunction(this, 'Authorizer', {
        entry: props.authorizer,
        description: 'Governor: checks the API key and its scopes for the HTTP API',
        environment,
      })
        .bindTable(state.table, 'R')
        .bindSecret(state.adminKey, 'GOVERNOR_ADMIN_KEY_SECRET_ARN');
      this.functions.set('Authorizer', authorizer);
    }

    this.api = new GovernorApi(this, 'Api', {
      allowedOrigins: settings.allowedOrigins,
      rateLimit: settings.apiRateLimit,
      burstLimit: settings.apiBurstLimit,
      ...(authorizer ? { authorizer } : {}),
    });

    this.dryRuns = props.dryRunWorker
      ? new DryRunMachine(this, 'DryRunMachine', {
          entry: props.dryRunWorker,
          table: state.table,
          bucketName: state.archive.bucket.bucketName,
          // Exported by name, so that the worker's grant on archive/* can be acknowledged by that name.
          bucketArn: Stack.of(state.archive.bucket).exportValue(state.archive.bucket.bucketArn),
          environment,
        })
      : undefined;
    if (this.dryRuns) this.functions.set('DryRunWorker', this.dryRuns.worker);

    for (const spec of props.httpFunctions) {
      const fn = new GovernorFunction(this, spec.name, {
        entry: spec.entry,
        // The console's files sit beside the bundled handler, in console/.
        environment: spec.servesConsole ? { ...environment, GOVERNOR_CONSOLE_DIR: 'console' } : environment,
        ...(spec.timeoutSeconds ? { timeout: Duration.seconds(spec.timeoutSeconds) } : {}),
        ...(spec.servesConsole ? { afterBundling: consoleBuildCommands } : {}),
      });
      if (spec.table) fn.bindTable(state.table, spec.table, { scan: spec.tableScan === true });
      // A protected route's rate limit adds to the key's shared count, whatever else the function may write.
      if (!spec.public && spec.table !== 'RW') fn.bindRateCounter(state.table);
      if (spec.sendsDeliveries) fn.bindQueue(state.deliveryQueue, 'send');
      if (spec.inspectsQueues) {
        fn.bindQueue(state.deliveryQueue, 'inspect').bindQueue(state.deadLetterQueue, 'inspect', {
          variable: 'GOVERNOR_DLQ_URL',
        });
      }
      if (spec.hashes) fn.bindSecret(state.hashSecret, 'GOVERNOR_HASH_SECRET_ARN');
      if (spec.archives) fn.bindArchiveStream(state.archive);
      if (spec.startsDryRuns && this.dryRuns) {
        fn.addEnvironment('GOVERNOR_DRY_RUN_STATE_MACHINE', this.dryRuns.stateMachine.stateMachineArn);
        this.dryRuns.stateMachine.grantStartExecution(fn);
      }
      // Without an authorizer, a protected route's function checks the API key itself.
      if (!authorizer && !spec.public) fn.bindSecret(state.adminKey, 'GOVERNOR_ADMIN_KEY_SECRET_ARN');
      this.api.addRoutes(spec.name, fn, spec.routes, { public: spec.public === true });
      this.functions.set(spec.name, fn);
    }

    // SES event publishing and End User Messaging SMS events into the events function, when email goes
    // through SES or SMS through sms-voice: every message is sent through the configuration set whose
    // events come back.
    const sesConfigurationSet = settings.sesConfigurationSet ?? DEFAULT_SES_CONFIGURATION_SET;
    const smsConfigurationSet = settings.smsConfigurationSet ?? DEFAULT_SMS_CONFIGURATION_SET;
    const sesFeedback = settings.providers.email === 'ses';
    const smsFeedback = settings.providers.sms === 'sms-voice';
    this.feedback =
      props.providerFeedback && props.delivery && (sesFeedback || smsFeedback)
        ? new ProviderFeedback(this, 'Feedback', {
            entry: props.providerFeedback,
            sesConfigurationSet: sesFeedback ? sesConfigurationSet : undefined,
            smsConfigurationSet: smsFeedback ? smsConfigurationSet : undefined,
            table: state.table,
            hashSecret: state.hashSecret,
            archive: state.archive,
            environment,
          })
        : undefined;
    if (this.feedback) this.functions.set('ProviderEvents', this.feedback.consumer);

    this.pipeline = props.delivery
      ? new DeliveryPipeline(this, 'Delivery', {
          entries: props.delivery,
          table: state.table,
          deliveryQueue: state.deliveryQueue,
          deadLetterQueue: state.deadLetterQueue,
          maxReceives: DELIVERY_MAX_RECEIVE_COUNT,
          webhook: state.webhook,
          hashSecret: state.hashSecret,
          archive: state.archive,
          providers: settings.providers,
          ses: settings.sesFrom
            ? {
                from: settings.sesFrom,
                configurationSet: this.feedback?.configurationSet
                  ? sesConfigurationSet
                  : settings.sesConfigurationSet,
              }
            : undefined,
          sms: {
            configurationSet: this.feedback?.smsConfigurationSet
              ? smsConfigurationSet
              : settings.smsConfigurationSet,
            originationIdentity: settings.smsOriginationIdentity,
          },
          dispatchEnvironment: dispatchEnvironment(settings),
          maxConcurrency: settings.dispatchMaxConcurrency,
          environment,
        })
      : undefined;
    if (this.pipeline) {
      this.functions.set('Dispatch', this.pipeline.dispatch);
      this.functions.set('Release', this.pipeline.release);
    }

    this.operations = new GovernorOperations(this, 'Operations', {
      api: this.api,
      sendRoute: SEND_ROUTE,
      sendP99Ms: settings.sendP99Ms,
      functions: this.functions as ReadonlyMap<string, IFunction>,
      deliveryQueue: state.deliveryQueue,
      deadLetterQueue: state.deadLetterQueue,
      table: state.table,
      ...(settings.alarmEmail ? { alarmEmail: settings.alarmEmail } : {}),
    });
    if (this.pipeline) this.operations.alarmOnErrors('Dispatch', this.pipeline.dispatch);
    if (this.feedback)
      this.operations.alarmOnDeadLetters(
        'ProviderEvents',
        this.feedback.deadLetterQueue,
        'Provider events (SES, SMS) failed 5 times to be recorded and wait in the feedback DLQ: inspect, fix, redrive.',
      );
    if (this.dryRuns)
      this.operations.alarmOnFailedExecutions('DryRun', this.dryRuns.metricFailedExecutions());
    this.operations.addTechnicalWidgets();

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'The Governor API base URL' });
    if (props.httpFunctions.some((spec) => spec.servesConsole)) {
      new CfnOutput(this, 'ConsoleUrl', {
        value: `${this.api.url}${CONSOLE_PATH.slice(1)}`,
        description: 'The Governor console (sign in with an API key)',
      });
    }
    new CfnOutput(this, 'AlarmTopicArn', { value: this.operations.alarmTopic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.operations.dashboard.dashboardName });
  }
}
