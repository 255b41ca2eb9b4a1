/**
 * The decision archive on AWS: an Amazon Data Firehose stream that the functions send archive records
 * to (shared/adapters/archive/firehose-sink.ts), writing them to an S3 bucket in the layout the local
 * archive has (shared/domain/archive.ts): `archive/day=YYYY-MM-DD/shard=NN/`, gzip-compressed JSON lines.
 *
 * The sink packs many lines into one Firehose record (Firehose bills each record rounded up to 5 KB);
 * the stream splits them again at the newlines (record de-aggregation), reads each record's day
 * (`.at[0:10]`) and shard (`.shard`, two digits) with JQ (dynamic partitioning), and puts the newline
 * back after each. Records Firehose cannot partition go under `archive-errors/`. The bucket expires
 * both after `archiveDays` (GOVERNOR_ARCHIVE_DAYS).
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { LogGroup, LogStream, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ARCHIVE_SHARDS } from '#shared/domain/archive.ts';

export const ARCHIVE_STREAM_NAME = 'governor-archive';
/** Where the archive's objects are, and those Firehose could not partition. */
export const ARCHIVE_PREFIX = 'archive/';
export const ARCHIVE_ERROR_PREFIX = 'archive-errors/';
const ACCESS_LOG_PREFIX = 'archive-bucket/';
/** The shard as two digits, as the local archive names its folders (shard=07). */
export const SHARD_QUERY = '(if .shard < 10 then "0" else "" end) + (.shard | tostring)';

export const ARCHIVE_DATABASE = 'governor';
export const ARCHIVE_TABLE = 'decision_archive';
/** The first day the partition projection knows (Athena lists days from it to today). */
export const ARCHIVE_FIRST_DAY = '2026-01-01';

/**
 * The record's fields as Glue columns (shared/domain/archive.ts, archiveRecordSchema): the fields of every
 * record type, absent ones read as NULL. `day` and `shard` are the partitions (the record's `shard` field
 * is the partition's value). The OpenX JSON SerDe matches names without regard to case (campaignId).
 */
export const ARCHIVE_COLUMNS: readonly { name: string; type: string }[] = [
  { name: 'v', type: 'int' },
  { name: 'at', type: 'string' },
  { name: 'pseudonym', type: 'string' },
  { name: 'write', type: 'bigint' },
  { name: 'index', type: 'int' },
  { name: 'type', type: 'string' },
  { name: 'ref', type: 'string' },
  { name: 'channel', type: 'string' },
  { name: 'kind', type: 'string' },
  { name: 'category', type: 'string' },
  { name: 'campaignid', type: 'string' },
  { name: 'relevance', type: 'double' },
  { name: 'notbefore', type: 'string' },
  { name: 'expiresat', type: 'string' },
  { name: 'alternatechannels', type: 'array<string>' },
  { name: 'releasemarginms', type: 'bigint' },
  { name: 'policyversion', type: 'int' },
  { name: 'outcome', type: 'string' },
  { name: 'outcomechannel', type: 'string' },
  { name: 'reason', type: 'string' },
  { name: 'rule', type: 'string' },
  { name: 'releaseat', type: 'string' },
  { name: 'reservedat', type: 'string' },
  { name: 'preferences', type: 'string' },
  { name: 'feedback', type: 'string' },
  { name: 'events', type: 'array<string>' },
  { name: 'experiment', type: 'struct<id:string,arm:string>' },
];

export interface DecisionArchiveProps {
  /** Days an archive object is kept (GOVERNOR_ARCHIVE_DAYS). */
  readonly archiveDays: number;
}

export class DecisionArchive extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;
  readonly stream: CfnDeliveryStream;
  readonly streamArn: string;
  readonly streamName = ARCHIVE_STREAM_NAME;
  readonly table: CfnTable;

  constructor(scope: Construct, id: string, props: DecisionArchiveProps) {
    super(scope, id);

    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(props.archiveDays) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: false,
      lifecycleRules: [
        { id: 'ExpireArchive', prefix: ARCHIVE_PREFIX, expiration: Duration.days(props.archiveDays) },
        {
          id: 'ExpireErrors',
          prefix: ARCHIVE_ERROR_PREFIX,
          expiration: Duration.days(props.archiveDays),
        },
        { id: 'AbortUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Server access logs, delivered under a bucket policy (not the log-delivery ACL, which S3 disables
    // on new buckets): S3's logging service may put objects under the prefix, for this bucket only.
    (this.bucket.node.defaultChild as CfnBucket).loggingConfiguration = {
      destinationBucketName: this.accessLogs.bucketName,
      logFilePrefix: ACCESS_LOG_PREFIX,
    };
    this.accessLogs.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.accessLogs.arnForObjects(`${ACCESS_LOG_PREFIX}*`)],
        conditions: {
          ArnLike: { 'aws:SourceArn': this.bucket.bucketArn },
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        },
      }),
    );

    const logGroup = new LogGroup(this, 'DeliveryLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const logStream = new LogStream(this, 'DeliveryLogStream', {
      logGroup,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Firehose's role: write objects into the bucket and its delivery errors into the log group; nothing else.
    const role = new Role(this, 'DeliveryRole', {
      assumedBy: new ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Governor archive: Firehose writes the archive objects to S3',
    });
    role.addToPolicy(
      new PolicyStatement({
        actions: [
          's3:AbortMultipartUpload',
          's3:GetBucketLocation',
          's3:ListBucket',
          's3:ListBucketMultipartUploads',
        ],
        resources: [this.bucket.bucketArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [
          this.bucket.arnForObjects(`${ARCHIVE_PREFIX}*`),
          this.bucket.arnForObjects(`${ARCHIVE_ERROR_PREFIX}*`),
        ],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({ actions: ['logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
    );

    this.stream = new CfnDeliveryStream(this, 'Stream', {
      deliveryStreamName: ARCHIVE_STREAM_NAME,
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
      extendedS3DestinationConfiguration: {
        bucketArn: this.bucket.bucketArn,
        roleArn: role.roleArn,
        prefix: `${ARCHIVE_PREFIX}day=!{partitionKeyFromQuery:day}/shard=!{partitionKeyFromQuery:shard}/`,
        errorOutputPrefix: `${ARCHIVE_ERROR_PREFIX}!{firehose:error-output-type}/day=!{timestamp:yyyy-MM-dd}/`,
        compressionFormat: 'GZIP',
        // Dynamic partitioning needs a buffer of 64 MB at least; 15 minutes bounds an archive's delay.
        bufferingHints: { sizeInMBs: 128, intervalInSeconds: 900 },
        dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: 300 } },
        processingConfiguration: {
          enabled: true,
          processors: [
            {
              type: 'RecordDeAggregation',
              parameters: [
                { parameterName: 'SubRecordType', parameterValue: 'DELIMITED' },
                { parameterName: 'Delimiter', parameterValue: Buffer.from('\n').toString('base64') },
              ],
            },
            {
              type: 'MetadataExtraction',
              parameters: [
                {
                  parameterName: 'MetadataExtractionQuery',
                  parameterValue: `{day: .at[0:10], shard: ${SHARD_QUERY}}`,
                },
                { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
              ],
            },
            { type: 'AppendDelimiterToRecord', parameters: [] },
          ],
        },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: logGroup.logGroupName,
          logStreamName: logStream.logStreamName,
        },
      },
    });
    this.stream.node.addDependency(role);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/${ARCHIVE_PREFIX}*]`,
      reason:
        'Firehose names each object it delivers itself (partition, timestamp, random suffix): it can only be granted ' +
        's3:PutObject on the prefixes it writes, archive/ and archive-errors/, of this bucket alone.',
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/${ARCHIVE_ERROR_PREFIX}*]`,
      reason:
        'Records Firehose cannot partition go to archive-errors/ under names it chooses; the grant is limited to ' +
        'that prefix of this bucket, beside archive/, and carries no read or delete.',
    });
    this.streamArn = this.stream.attrArn;

    // Athena over the archive: a Glue table of the JSON lines, its partitions projected (no crawler, no
    // MSCK REPAIR): every day since ARCHIVE_FIRST_DAY, every shard.
    const account = Stack.of(this).account;
    const database = new CfnDatabase(this, 'Database', {
      catalogId: account,
      databaseInput: { name: ARCHIVE_DATABASE, description: 'Governor: the anonymous decision archive' },
    });
    const location = `s3://${this.bucket.bucketName}/${ARCHIVE_PREFIX}`;
    this.table = new CfnTable(this, 'Table', {
      catalogId: account,
      databaseName: ARCHIVE_DATABASE,
      tableInput: {
        name: ARCHIVE_TABLE,
        description: 'Anonymous decision events (shared/domain/archive.ts), one JSON line each',
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          classification: 'json',
          compressionType: 'gzip',
          'projection.enabled': 'true',
          'projection.day.type': 'date',
          'projection.day.format': 'yyyy-MM-dd',
          'projection.day.range': `${ARCHIVE_FIRST_DAY},NOW`,
          'projection.day.interval': '1',
          'projection.day.interval.unit': 'DAYS',
          'projection.shard.type': 'integer',
          'projection.shard.range': `0,${ARCHIVE_SHARDS - 1}`,
          'projection.shard.digits': '2',
          'storage.location.template': `${location}day=\${day}/shard=\${shard}/`,
        },
        partitionKeys: [
          { name: 'day', type: 'string' },
          { name: 'shard', type: 'string' },
        ],
        storageDescriptor: {
          location,
          columns: [...ARCHIVE_COLUMNS],
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            parameters: { 'ignore.malformed.json': 'true' },
          },
        },
      },
    });
    this.table.node.addDependency(database);
  }
}
