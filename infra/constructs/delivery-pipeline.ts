/**
 * Delivery: the dispatch function consumes the delivery queue (batches with partial failure reports;
 * a delivery failing five times goes to the DLQ) and hands each message to its channel's provider; the
 * release function runs every minute and sends the deferred messages that are due back through the
 * decision and onto the queue.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CAMPAIGN_INDEX, DUE_INDEX } from '#shared/adapters/dynamodb/keys.ts';
import { CHANNELS, type Channel } from '#shared/domain/schemas.ts';
import type { DeliveryEntries } from '../routes.ts';
import type { Provider } from '../settings.ts';
import { type ArchiveStreamRef, GovernorFunction } from './governor-function.ts';

/** The dispatch function's timeout; the delivery queue's visibility timeout is six times this. */
export const DISPATCH_TIMEOUT = Duration.seconds(30);
/** The release function's timeout: a run ends before the next one starts. */
export const RELEASE_TIMEOUT = Duration.seconds(50);
/** How often the release runs (GOVERNOR_RELEASE_INTERVAL_S of every function). */
export const RELEASE_SCHEDULE = Duration.minutes(1);

/** The SES settings of the ses provider. */
export interface SesSettings {
  /** `news@mail.example.com` or `Brand <news@mail.example.com>` (GOVERNOR_SES_FROM). */
  readonly from: string;
  readonly configurationSet?: string | undefined;
}

export interface DeliveryPipelineProps {
  readonly entries: DeliveryEntries;
  readonly table: ITable;
  readonly deliveryQueue: IQueue;
  /** Where dispatch puts a delivery that failed permanently or too often. */
  readonly deadLetterQueue: IQueue;
  /** The delivery queue's maxReceiveCount: dispatch dead-letters a delivery itself on that receive. */
  readonly maxReceives: number;
  /** `{"url", "secret"}` of the webhook provider. */
  readonly webhook: ISecret;
  /** The keyed hashes' secret: release computes message keys, dispatch reads erasure markers. */
  readonly hashSecret: ISecret;
  /** The decision archive's stream: release archives every release it decides. */
  readonly archive: ArchiveStreamRef;
  /** The provider of each channel; channels left out use the webhook. */
  readonly providers?: Partial<Record<Channel, Provider>>;
  /** Required when email uses ses. */
  readonly ses?: SesSettings | undefined;
  /** The sms-voice provider's configuration set and origination identity (its ARN), when SMS uses it. */
  readonly sms?: SmsVoiceSettings | undefined;
  /** Added to the dispatch function's environment (GOVERNOR_SNS_*, GOVERNOR_RATE_LIMITS). */
  readonly dispatchEnvironment?: Readonly<Record<string, string>>;
  /** At most this many dispatch invocations at once. */
  readonly maxConcurrency?: number;
  /** Added to both functions' environment (config.ts settings). */
  readonly environment?: Readonly<Record<string, string>>;
}

export interface SmsVoiceSettings {
  readonly configurationSet?: string | undefined;
  readonly originationIdentity?: string | undefined;
}

/** The address of `Brand <news@example.com>` or `news@example.com`. */
export function senderAddress(from: string): string {
  return /<([^>]+)>/.exec(from)?.[1]?.trim() ?? from.trim();
}

export class DeliveryPipeline extends Construct {
  readonly dispatch: GovernorFunction;
  readonly release: GovernorFunction;
  readonly releaseSchedule: Rule;

  constructor(scope: Construct, id: string, props: DeliveryPipelineProps) {
    super(scope, id);
    const providers = Object.fromEntries(
      CHANNELS.map((channel) => [channel, props.providers?.[channel] ?? 'webhook']),
    );
    const used = new Set(Object.values(providers));
    // push and whatsapp have no provider but the webhook: dispatch always reads its secret.

    this.dispatch = new GovernorFunction(this, 'Dispatch', {
      entry: props.entries.dispatch,
      description: 'Governor: delivers queued messages to their channel provider',
      timeout: DISPATCH_TIMEOUT,
      environment: {
        ...props.environment,
        ...props.dispatchEnvironment,
        GOVERNOR_PROVIDERS: JSON.stringify(providers),
        GOVERNOR_DELIVERY_MAX_RECEIVES: String(props.maxReceives),
        ...(props.ses ? { GOVERNOR_SES_FROM: props.ses.from } : {}),
        ...(props.ses?.configurationSet
          ? { GOVERNOR_SES_CONFIGURATION_SET: props.ses.configurationSet }
          : {}),
        ...(used.has('sms-voice') && props.sms?.configurationSet
          ? { GOVERNOR_SMS_CONFIGURATION_SET: props.sms.configurationSet }
          : {}),
        ...(used.has('sms-voice') && props.sms?.originationIdentity
          ? { GOVERNOR_SMS_ORIGINATION_IDENTITY: props.sms.originationIdentity }
          : {}),
      },
    })
      .bindQueue(props.deliveryQueue, 'consume', {
        batchSize: 10,
        ...(props.maxConcurrency === undefined ? {} : { maxConcurrency: props.maxConcurrency }),
      })
      // Permanent failures, and the last transient one, are dead-lettered with their reason.
      .bindQueue(props.deadLetterQueue, 'send', { variable: 'GOVERNOR_DLQ_URL' })
      // The delivery ledger (claim, lease, delivered) that keeps a redelivered message from the provider.
      .bindTable(props.table, 'RW')
      .bindSecret(props.webhook, 'GOVERNOR_WEBHOOK_SECRET_ARN')
      // Erasure markers are keyed hashes of the customer id: dispatch drops an erased customer's messages.
      .bindSecret(props.hashSecret, 'GOVERNOR_HASH_SECRET_ARN');
    if (used.has('ses')) this.allowSes(props.ses);
    if (used.has('sns')) this.allowSms();
    if (used.has('sms-voice')) this.allowSmsVoice(props.sms);

    this.release = new GovernorFunction(this, 'Release', {
      entry: props.entries.release,
      description: 'Governor: releases due deferred messages every minute',
      timeout: RELEASE_TIMEOUT,
      environment: props.environment,
    })
      .bindTable(props.table, 'RW', { indexes: [DUE_INDEX, CAMPAIGN_INDEX] })
      .bindQueue(props.deliveryQueue, 'send')
      .bindSecret(props.hashSecret, 'GOVERNOR_HASH_SECRET_ARN')
      .bindArchiveStream(props.archive);

    this.releaseSchedule = new Rule(this, 'ReleaseSchedule', {
      description: 'Governor: release due deferred messages',
      schedule: Schedule.rate(RELEASE_SCHEDULE),
      // No retry: the next run, a minute later, picks up whatever this one left.
      targets: [new LambdaFunction(this.release, { retryAttempts: 0 })],
    });
  }

  /**
   * SES v2 SendEmail (simple, raw or templated content: one action) from the sender's identity: its
   * address or its domain, whichever is the verified one, and through the configuration set if any.
   */
  private allowSes(ses: SesSettings | undefined): void {
    if (!ses) throw new Error('the ses provider needs its sender (sesFrom)');
    const stack = Stack.of(this);
    const address = senderAddress(ses.from);
    const domain = address.slice(address.lastIndexOf('@') + 1);
    const identity = (name: string) =>
      stack.formatArn({ service: 'ses', resource: 'identity', resourceName: name });
    const resources = [identity(address), identity(domain)];
    if (ses.configurationSet) {
      resources.push(
        stack.formatArn({
          service: 'ses',
          resource: 'configuration-set',
          resourceName: ses.configurationSet,
        }),
      );
    }
    this.dispatch.addToRolePolicy(new PolicyStatement({ actions: ['ses:SendEmail'], resources }));
  }

  /**
   * End User Messaging SMS SendTextMessage through its configuration set, from its origination identity
   * when one is configured: those resources only.
   */
  private allowSmsVoice(sms: SmsVoiceSettings | undefined): void {
    if (!sms?.configurationSet) throw new Error('the sms-voice provider needs its configuration set');
    const resources = [
      Stack.of(this).formatArn({
        service: 'sms-voice',
        resource: 'configuration-set',
        resourceName: sms.configurationSet,
      }),
    ];
    if (sms.originationIdentity) resources.push(sms.originationIdentity);
    this.dispatch.addToRolePolicy(new PolicyStatement({ actions: ['sms-voice:SendTextMessage'], resources }));
  }

  private allowSms(): void {
    const policy = new Policy(this, 'SmsPublishPolicy', {
      roles: [this.dispatch.functionRole],
      statements: [new PolicyStatement({ actions: ['sns:Publish'], resources: ['*'] })],
    });
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'SMS is sent by sns:Publish to a phone number, which has no ARN: IAM can only authorize it on "*". This ' +
        'policy holds that one action, for the dispatch function only, and only when a channel uses the sns provider.',
    });
  }
}
