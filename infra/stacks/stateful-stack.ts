/**
 * What holds data and must outlive any release of the code: the table, the delivery queue and its DLQ,
 * and the secrets. Deployed rarely; the table is protected from deletion and retained if the stack goes.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { CAMPAIGN_INDEX, DUE_INDEX } from '#shared/adapters/dynamodb/keys.ts';
import { DecisionArchive } from '../constructs/decision-archive.ts';
import { DISPATCH_TIMEOUT } from '../constructs/delivery-pipeline.ts';

export const DELIVERY_QUEUE_NAME = 'governor-delivery';
export const DLQ_NAME = 'governor-delivery-dlq';
/**
 * The receive on which a failing delivery goes to the DLQ. Dispatch retries with backoff (visibility up
 * to 15 min) and dead-letters the delivery itself on this receive, with its reason
 * (GOVERNOR_DELIVERY_MAX_RECEIVES); the redrive policy is the backstop for a dispatch that crashes.
 */
export const DELIVERY_MAX_RECEIVE_COUNT = 15;
/** The TTL attribute (epoch seconds) the DynamoDB adapters write. */
export const TTL_ATTRIBUTE = 'x';

export interface StatefulStackProps extends StackProps {
  /** The webhook URL stored in the webhook secret at creation; the operator may change it later. */
  readonly webhookUrl?: string;
  /** Days the decision archive keeps its objects (GOVERNOR_ARCHIVE_DAYS). @default 90 */
  readonly archiveDays?: number;
}

export class StatefulStack extends Stack {
  readonly table: Table;
  readonly deliveryQueue: Queue;
  readonly deadLetterQueue: Queue;
  /** The bootstrap admin API key (a generated string). */
  readonly adminKey: Secret;
  /** `{"url": "...", "secret": "..."}`: where the webhook provider posts, and its HMAC-SHA256 key. */
  readonly webhook: Secret;
  /** The key of every keyed hash: idempotency keys, audit references, erasure markers. */
  readonly hashSecret: Secret;
  /** The decision archive: its Firehose stream and S3 bucket (retained). */
  readonly archive: DecisionArchive;

  constructor(scope: Construct, id: string, props: StatefulStackProps = {}) {
    super(scope, id, props);

    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      deletionProtection: true,
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: DUE_INDEX,
      partitionKey: { name: 'due', type: AttributeType.STRING },
      sortKey: { name: 'rt', type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    // Sparse: a campaign's deferred messages by campaign (and shard), keys only: what cancelling a
    // campaign reads instead of the table.
    this.table.addGlobalSecondaryIndex({
      indexName: CAMPAIGN_INDEX,
      partitionKey: { name: 'cg', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      queueName: DLQ_NAME,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Kept 14 days (the SQS maximum) for an operator to inspect and redrive; the DLQ-depth alarm calls one.
      retentionPeriod: Duration.days(14),
    });

    this.deliveryQueue = new Queue(this, 'DeliveryQueue', {
      queueName: DELIVERY_QUEUE_NAME,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's guidance for SQS event sources: at least six times the consumer's timeout, which leaves
      // Lambda time to retry a batch whose invocation was throttled before the message becomes visible.
      visibilityTimeout: Duration.seconds(DISPATCH_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: DELIVERY_MAX_RECEIVE_COUNT },
    });

    this.adminKey = new Secret(this, 'AdminKey', {
      description: 'Governor bootstrap admin API key (Authorization: Bearer <key>); every scope.',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.adminKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The bootstrap admin key is handed to operators and used to create scoped API keys; rotating it on a ' +
        'schedule would lock them out without notice. It is rotated by hand (put-secret-value) as the README ' +
        'describes, and the authorizer picks the new value up on its next cold start.',
    });

    this.webhook = new Secret(this, 'Webhook', {
      description: 'Governor webhook provider: {"url": <endpoint>, "secret": <HMAC-SHA256 key>}.',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ url: props.webhookUrl ?? '' }),
        generateStringKey: 'secret',
        passwordLength: 48,
        excludePunctuation: true,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.webhook).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The webhook signing key is shared with the receiving system, which must learn a new key before ' +
        'Governor signs with it; an automatic rotation would make it reject every delivery. It is rotated by ' +
        'hand, coordinated with the receiver.',
    });

    this.hashSecret = new Secret(this, 'HashSecret', {
      description:
        'Governor hash secret: the HMAC key of idempotency keys, audit references and erasure markers.',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.hashSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Every stored idempotency key, audit reference and erasure marker is an HMAC under this key: a new key ' +
        'would make retries of recent messages look new, and the audit trail and erasure markers unreadable. It ' +
        'is never shown to callers, only read by the functions that compute the hashes, and is not rotated.',
    });

    this.archive = new DecisionArchive(this, 'Archive', { archiveDays: props.archiveDays ?? 90 });

    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'AdminKeySecretArn', {
      value: this.adminKey.secretArn,
      description: 'aws secretsmanager get-secret-value --secret-id <this> --query SecretString',
    });
    new CfnOutput(this, 'ArchiveBucketName', { value: this.archive.bucket.bucketName });
    new CfnOutput(this, 'WebhookSecretArn', {
      value: this.webhook.secretArn,
      description: 'Set {"url","secret"} with aws secretsmanager put-secret-value',
    });
  }
}
