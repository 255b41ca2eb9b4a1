/**
 * What an operator watches: alarms that call someone (a DLQ with messages in it, dispatch failing,
 * throttled functions, a 5xx rate, the send API's p99 latency, a delivery backlog, a failed dry-run) through an encrypted
 * SNS topic, and one dashboard with the business view (decisions by outcome, suppressed volume by
 * reason, from the Powertools metrics of namespace Governor) above the technical one.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { OUTCOMES, REASONS } from '#shared/domain/schemas.ts';
import type { RouteKey } from '../routes.ts';
import type { GovernorApi } from './governor-api.ts';

/** The Powertools metrics of shared/observability: namespace, and the service dimension it adds. */
export const METRICS_NAMESPACE = 'Governor';
export const SERVICE_NAME = 'governor';

const FIVE_MINUTES = Duration.minutes(5);

/** The five-minute sum of one of the send function's metrics, for one value of its dimension. */
function sumOf(metricName: string, dimension: string, value: string): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME, [dimension]: value },
    statistic: 'Sum',
    period: FIVE_MINUTES,
    label: value,
  });
}

export const decisionsMetric = (outcome: string) => sumOf('Decisions', 'outcome', outcome);
export const suppressedMetric = (reason: string) => sumOf('Suppressed', 'reason', reason);
/** Archive records a function could not deliver (shared/app/archive.ts): decisions = archived + lost. */
export const ARCHIVE_LOST_METRIC = 'ArchiveRecordsLost';
export const archiveLostMetric = () =>
  new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: ARCHIVE_LOST_METRIC,
    dimensionsMap: { service: SERVICE_NAME },
    statistic: 'Sum',
    period: FIVE_MINUTES,
  });

export interface GovernorOperationsProps {
  readonly api: GovernorApi;
  /** The route whose p99 latency is alarmed on. */
  readonly sendRoute: RouteKey;
  readonly sendP99Ms: number;
  /** Every function, by name: errors, throttles and duration on the dashboard, throttles alarmed. */
  readonly functions: ReadonlyMap<string, IFunction>;
  readonly deliveryQueue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly table: ITable;
  readonly alarmEmail?: string;
}

export class GovernorOperations extends Construct {
  readonly alarmTopic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  private readonly props: GovernorOperationsProps;

  constructor(scope: Construct, id: string, props: GovernorOperationsProps) {
    super(scope, id);
    this.props = props;

    // CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, so the topic has a key
    // of its own whose policy lets CloudWatch use it.
    const key = new Key(this, 'AlarmTopicKey', {
      description: 'Governor alarm topic encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'Governor alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));

    this.alarm('DeadLetters', {
      description: 'Deliveries failed 5 times and wait in governor-delivery-dlq: inspect, fix, redrive.',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 0,
      evaluationPeriods: 1,
    });
    this.alarm('DeliveryBacklog', {
      description:
        'The oldest delivery has waited over 15 minutes: dispatch is failing, throttled or stopped.',
      metric: props.deliveryQueue.metricApproximateAgeOfOldestMessage({
        period: FIVE_MINUTES,
        statistic: 'Maximum',
      }),
      threshold: 15 * 60,
      evaluationPeriods: 1,
    });
    const requests = props.api.api.metricCount({ period: FIVE_MINUTES, statistic: 'Sum' });
    const serverErrors = props.api.api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' });
    this.alarm('ApiServerErrorRate', {
      description:
        'Over 1% of API requests answered 5xx in 2 of the last 3 five-minute periods (20 requests at least).',
      metric: new MathExpression({
        expression: 'IF(requests >= 20, 100 * errors / requests, 0)',
        usingMetrics: { requests, errors: serverErrors },
        period: FIVE_MINUTES,
        label: '5xx rate (%)',
      }),
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    });
    this.alarm('SendLatencyP99', {
      description: `The p99 latency of ${props.sendRoute} is over ${props.sendP99Ms} ms for 15 minutes.`,
      metric: this.routeLatency(props.sendRoute, 'p99'),
      threshold: props.sendP99Ms,
      evaluationPeriods: 3,
    });
    this.alarm('ArchiveRecordsLost', {
      description:
        'Decision archive records were lost (Firehose refused them after retries): the archive and the dry-runs over it miss decisions.',
      metric: archiveLostMetric(),
      threshold: 0,
      evaluationPeriods: 1,
    });
    for (const [name, fn] of props.functions) {
      this.alarm(`${name}Throttles`, {
        description: `The ${name} function was throttled: its requests or deliveries are being refused or delayed.`,
        metric: fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
        threshold: 0,
        evaluationPeriods: 1,
      });
    }

    this.dashboard = new Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(24),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# Governor\nDecisions by outcome and suppressed volume by reason (Powertools metrics, namespace `Governor`).',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Decisions by outcome',
        left: OUTCOMES.map(decisionsMetric),
        stacked: true,
        width: 12,
      }),
      new GraphWidget({
        title: 'Suppressed by reason',
        left: REASONS.map(suppressedMetric),
        stacked: true,
        width: 12,
      }),
    );
  }

  /** The per-route latency the detailed metrics of the `$default` stage publish. */
  routeLatency(route: RouteKey, statistic: string): Metric {
    const [method, resource] = route.split(' ') as [string, string];
    return new Metric({
      namespace: 'AWS/ApiGateway',
      metricName: 'Latency',
      dimensionsMap: {
        ApiId: this.props.api.api.apiId,
        Stage: '$default',
        Method: method,
        Resource: resource,
      },
      statistic,
      period: FIVE_MINUTES,
      label: `${route} ${statistic}`,
    });
  }

  /** Alarms when `fn` fails (an invocation error, not a reported batch item failure). */
  alarmOnErrors(name: string, fn: IFunction): Alarm {
    return this.alarm(`${name}Errors`, {
      description: `The ${name} function failed invocations: a whole batch or run was retried.`,
      metric: fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
      threshold: 0,
      evaluationPeriods: 1,
    });
  }

  /** Alarms as soon as one message waits in the dead-letter queue `queue`, as the delivery DLQ's alarm does. */
  alarmOnDeadLetters(name: string, queue: IQueue, description: string): Alarm {
    return this.alarm(`${name}DeadLetters`, {
      description,
      metric: queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 0,
      evaluationPeriods: 1,
    });
  }

  /** Alarms when executions of a state machine fail or time out (`failures`: how many, per period). */
  alarmOnFailedExecutions(name: string, failures: IMetric): Alarm {
    return this.alarm(`${name}ExecutionsFailed`, {
      description: `${name} executions failed or timed out: the execution's history in Step Functions says why.`,
      metric: failures,
      threshold: 0,
      evaluationPeriods: 1,
    });
  }

  /** The technical rows, added once every function and alarm exists. */
  addTechnicalWidgets(): void {
    const { api, functions, deliveryQueue, deadLetterQueue, table, sendRoute } = this.props;
    const perFunction = (metric: (fn: IFunction) => IMetric) => [...functions.values()].map(metric);
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'API requests and errors',
        left: [api.api.metricCount({ period: FIVE_MINUTES })],
        right: [
          api.api.metricClientError({ period: FIVE_MINUTES }),
          api.api.metricServerError({ period: FIVE_MINUTES }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: `${sendRoute} latency`,
        left: [this.routeLatency(sendRoute, 'p50'), this.routeLatency(sendRoute, 'p99')],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Function errors',
        left: [...functions].map(([name, fn]) => fn.metricErrors({ period: FIVE_MINUTES, label: name })),
        width: 8,
      }),
      new GraphWidget({
        title: 'Function throttles',
        left: [...functions].map(([name, fn]) => fn.metricThrottles({ period: FIVE_MINUTES, label: name })),
        width: 8,
      }),
      new GraphWidget({
        title: 'Function duration p99',
        left: perFunction((fn) => fn.metricDuration({ period: FIVE_MINUTES, statistic: 'p99' })),
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Delivery queue',
        left: [deliveryQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES })],
        right: [deliveryQueue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES })],
        width: 8,
      }),
      new GraphWidget({
        title: 'Dead letters',
        left: [deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES })],
        width: 8,
      }),
      new GraphWidget({
        title: 'Table capacity consumed',
        left: [
          table.metricConsumedWriteCapacityUnits({ period: FIVE_MINUTES }),
          table.metricConsumedReadCapacityUnits({ period: FIVE_MINUTES }),
        ],
        width: 8,
      }),
    );
  }

  private alarm(
    id: string,
    options: {
      description: string;
      metric: IMetric;
      threshold: number;
      evaluationPeriods: number;
      datapointsToAlarm?: number;
    },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      alarmDescription: options.description,
      metric: options.metric,
      threshold: options.threshold,
      evaluationPeriods: options.evaluationPeriods,
      ...(options.datapointsToAlarm === undefined ? {} : { datapointsToAlarm: options.datapointsToAlarm }),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(this.alarmTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }
}
