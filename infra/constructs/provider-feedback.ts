/**
 * Provider feedback in: SES event publishing (a configuration set whose event destination is an SNS
 * topic: deliveries, opens, clicks, bounces and complaints) and End User Messaging SMS (a configuration
 * set of its own whose event destination is the same topic: SMS deliveries) → an SQS queue subscribed to
 * that topic → the events function's queue consumer (functions/events/feedback-handler.ts), which
 * records them as `POST /v1/events` does. Every email the ses provider sends, and every SMS the sms-voice
 * provider sends, goes through its configuration set, with tags (an SMS's context) naming the message
 * and its customer (shared/adapters/providers/feedback-tags.ts).
 *
 * The topic is encrypted with a key of its own (neither service can publish to a topic under the
 * AWS-managed SNS key) and only SES and End User Messaging SMS, each for this account's configuration
 * set, may publish to it; the queue and its DLQ are encrypted and refuse plain HTTP; a record the
 * consumer keeps failing goes to the DLQ, which alarms like the delivery DLQ. The consumer reads that
 * queue and writes what the events route writes, nothing else.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import {
  ConfigurationSet,
  ConfigurationSetEventDestination,
  EmailSendingEvent,
  EventDestination,
} from 'aws-cdk-lib/aws-ses';
import { CfnConfigurationSet } from 'aws-cdk-lib/aws-smsvoice';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SMS_FEEDBACK_EVENTS } from '#shared/adapters/providers/provider-events.ts';
import { type ArchiveStreamRef, GovernorFunction } from './governor-function.ts';

/** The consumer's timeout; the queue's visibility timeout is six times this (Lambda's guidance). */
export const FEEDBACK_TIMEOUT = Duration.seconds(30);
/** The receive on which a record the consumer keeps failing goes to the DLQ. */
export const FEEDBACK_MAX_RECEIVE_COUNT = 5;
/** Records per invocation: the more per batch, the fewer writes per customer (one per batch). */
export const FEEDBACK_BATCH_SIZE = 100;
/** The SES events Governor learns from (and the only ones published). */
export const SES_FEEDBACK_EVENTS = [
  EmailSendingEvent.DELIVERY,
  EmailSendingEvent.OPEN,
  EmailSendingEvent.CLICK,
  EmailSendingEvent.BOUNCE,
  EmailSendingEvent.COMPLAINT,
] as const;

export interface ProviderFeedbackProps {
  /** The queue consumer's handler module. */
  readonly entry: string;
  /** The SES configuration set the ses provider sends through (GOVERNOR_SES_CONFIGURATION_SET), if email uses it. */
  readonly sesConfigurationSet?: string | undefined;
  /**
   * The End User Messaging SMS configuration set the sms-voice provider sends through
   * (GOVERNOR_SMS_CONFIGURATION_SET), if SMS uses it.
   */
  readonly smsConfigurationSet?: string | undefined;
  readonly table: ITable;
  /** Event ids and archived changes are keyed hashes. */
  readonly hashSecret: ISecret;
  /** Hard bounces and complaints are archived, as the events route archives them. */
  readonly archive: ArchiveStreamRef;
  /** Added to the consumer's environment (config.ts settings). */
  readonly environment?: Readonly<Record<string, string>>;
}

export class ProviderFeedback extends Construct {
  readonly topic: Topic;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly configurationSet: ConfigurationSet | undefined;
  readonly smsConfigurationSet: CfnConfigurationSet | undefined;
  readonly consumer: GovernorFunction;

  constructor(scope: Construct, id: string, props: ProviderFeedbackProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { sesConfigurationSet, smsConfigurationSet } = props;
    // Confused-deputy guard: each service acting for this account's configuration set, no other.
    const publisher = (service: string, configurationSet: string | undefined) =>
      configurationSet === undefined
        ? undefined
        : {
            principal: new ServicePrincipal(`${service}.amazonaws.com`),
            conditions: {
              StringEquals: { 'aws:SourceAccount': stack.account },
              ArnLike: {
                'aws:SourceArn': stack.formatArn({
                  service,
                  resource: 'configuration-set',
                  resourceName: configurationSet,
                }),
              },
            },
          };
    const ses = publisher('ses', sesConfigurationSet);
    const sms = publisher('sms-voice', smsConfigurationSet);

    const key = new Key(this, 'TopicKey', {
      description: 'Governor provider events topic encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    for (const { principal, conditions } of [ses, sms].filter((p) => p !== undefined)) {
      key.addToResourcePolicy(
        new PolicyStatement({
          principals: [principal],
          actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
          resources: ['*'],
          conditions,
        }),
      );
    }
    this.topic = new Topic(this, 'Topic', {
      displayName: 'Governor provider events',
      masterKey: key,
      enforceSSL: true,
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Kept 14 days (the SQS maximum) for an operator to inspect and redrive.
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(FEEDBACK_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: FEEDBACK_MAX_RECEIVE_COUNT },
    });
    // The queue's policy lets this topic alone send to it (aws:SourceArn).
    this.topic.addSubscription(new SqsSubscription(this.queue));

    this.configurationSet = sesConfigurationSet
      ? new ConfigurationSet(this, 'ConfigurationSet', { configurationSetName: sesConfigurationSet })
      : undefined;
    if (this.configurationSet) {
      // The destination adds the topic's policy: sns:Publish for ses.amazonaws.com, on the conditions
      // aws:SourceAccount (this account) and aws:SourceArn (this configuration set).
      new ConfigurationSetEventDestination(this, 'SesEvents', {
        configurationSet: this.configurationSet,
        destination: EventDestination.snsTopic(this.topic),
        events: [...SES_FEEDBACK_EVENTS],
      });
    }

    this.smsConfigurationSet = smsConfigurationSet
      ? new CfnConfigurationSet(this, 'SmsConfigurationSet', {
          configurationSetName: smsConfigurationSet,
          eventDestinations: [
            {
              eventDestinationName: 'governor-feedback',
              enabled: true,
              matchingEventTypes: [...SMS_FEEDBACK_EVENTS],
              snsDestination: { topicArn: this.topic.topicArn },
            },
          ],
        })
      : undefined;
    if (this.smsConfigurationSet && sms) {
      // End User Messaging SMS checks, when the destination is created, that it may publish.
      const policy = this.topic.addToResourcePolicy(
        new PolicyStatement({
          principals: [sms.principal],
          actions: ['sns:Publish'],
          resources: [this.topic.topicArn],
          conditions: sms.conditions,
        }),
      );
      if (policy.policyDependable) this.smsConfigurationSet.node.addDependency(policy.policyDependable);
      this.smsConfigurationSet.node.addDependency(key);
    }

    this.consumer = new GovernorFunction(this, 'Consumer', {
      entry: props.entry,
      description:
        'Governor: records provider events (SES and SMS deliveries, opens, clicks, bounces, complaints)',
      timeout: FEEDBACK_TIMEOUT,
      environment: props.environment,
    })
      .bindQueue(this.queue, 'consume', { batchSize: FEEDBACK_BATCH_SIZE, variable: null })
      // What POST /v1/events writes: the customers' logs (and the experiment counts), the archive.
      .bindTable(props.table, 'RW')
      .bindSecret(props.hashSecret, 'GOVERNOR_HASH_SECRET_ARN')
      .bindArchiveStream(props.archive);
  }
}
