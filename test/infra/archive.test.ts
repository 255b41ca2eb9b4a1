/**
 * The decision archive on AWS (infra/constructs/decision-archive.ts): the Firehose stream, the bucket it
 * writes to, what Firehose may do there, and the alarm on lost records.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ARCHIVE_SHARDS, archiveRecordSchema } from '#shared/domain/archive.ts';
import { ARCHIVE_STREAM_NAME, SHARD_QUERY } from '../../infra/constructs/decision-archive.ts';
import { buildGovernor, label, resourceNames, Template } from './support.ts';

let stateful: Template;
let stateless: Template;
let names: Map<string, string>;

beforeAll(() => {
  const built = buildGovernor();
  stateful = Template.fromStack(built.stateful);
  stateless = Template.fromStack(built.stateless);
  names = resourceNames(built.app);
});

const bucketOf = (path: string) => {
  const buckets = stateful.findResources('AWS::S3::Bucket');
  const id = [...names].find(([id, p]) => p === path && id in buckets)?.[0];
  if (!id) throw new Error(`no bucket ${path}`);
  return buckets[id]!.Properties as Record<string, unknown>;
};
const stream = () => {
  const streams = Object.values(stateful.findResources('AWS::KinesisFirehose::DeliveryStream'));
  expect(streams).toHaveLength(1);
  return streams[0]!.Properties;
};

describe('the archive bucket', () => {
  it('is encrypted, blocks every public access and is retained with its stack', () => {
    for (const path of ['Archive/Bucket', 'Archive/AccessLogs']) {
      expect(bucketOf(path)).toMatchObject({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      });
    }
    stateful.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('refuses requests without TLS', () => {
    const policies = Object.values(stateful.findResources('AWS::S3::BucketPolicy'));
    const denials = policies.flatMap((p) =>
      (
        p.Properties.PolicyDocument.Statement as {
          Effect: string;
          Condition?: { Bool?: Record<string, string> };
        }[]
      ).filter((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'),
    );
    const buckets = policies
      .filter((p) => denials.some((d) => p.Properties.PolicyDocument.Statement.includes(d)))
      .map((p) => label(p.Properties.Bucket, names))
      .sort();
    expect(buckets).toEqual(['Archive/AccessLogs', 'Archive/Bucket']);
  });

  it('expires the archive after GOVERNOR_ARCHIVE_DAYS, 90 by default, and writes its access logs beside it', () => {
    const rules = (days: number) =>
      Match.arrayWith([
        Match.objectLike({ Prefix: 'archive/', ExpirationInDays: days, Status: 'Enabled' }),
        Match.objectLike({ Prefix: 'archive-errors/', ExpirationInDays: days, Status: 'Enabled' }),
      ]);
    stateful.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: rules(90) } });
    const shorter = Template.fromStack(buildGovernor({ settings: { archiveDays: 30 } }).stateful);
    shorter.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: rules(30) } });

    const logging = bucketOf('Archive/Bucket').LoggingConfiguration as Record<string, unknown>;
    expect(label(logging.DestinationBucketName, names)).toBe('Archive/AccessLogs');
  });
});

describe('the archive stream', () => {
  it('writes gzip JSON lines to archive/day=YYYY-MM-DD/shard=NN/, from the records it splits at newlines', () => {
    const s3 = stream().ExtendedS3DestinationConfiguration;

    expect(stream()).toMatchObject({
      DeliveryStreamName: ARCHIVE_STREAM_NAME,
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
    });
    expect(label(s3.BucketARN, names)).toBe('Archive/Bucket');
    expect(s3).toMatchObject({
      Prefix: 'archive/day=!{partitionKeyFromQuery:day}/shard=!{partitionKeyFromQuery:shard}/',
      CompressionFormat: 'GZIP',
      DynamicPartitioningConfiguration: { Enabled: true },
    });
    expect(s3.BufferingHints.SizeInMBs).toBeGreaterThanOrEqual(64);
    const processors = s3.ProcessingConfiguration.Processors as {
      Type: string;
      Parameters: { ParameterName: string; ParameterValue: string }[];
    }[];
    expect(processors.map((p) => p.Type)).toEqual([
      'RecordDeAggregation',
      'MetadataExtraction',
      'AppendDelimiterToRecord',
    ]);
    expect(processors[0]!.Parameters).toContainEqual({ ParameterName: 'Delimiter', ParameterValue: 'Cg==' });
    expect(processors[1]!.Parameters).toContainEqual({
      ParameterName: 'MetadataExtractionQuery',
      ParameterValue: `{day: .at[0:10], shard: ${SHARD_QUERY}}`,
    });
  });

  it("may only put objects under the archive's two prefixes and write its delivery logs", () => {
    const roleId = (stream().ExtendedS3DestinationConfiguration.RoleARN as { 'Fn::GetAtt': [string] })[
      'Fn::GetAtt'
    ][0];
    const statements = Object.values(stateful.findResources('AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap(
        (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
      )
      .map((s) => ({
        actions: [s.Action].flat().sort(),
        resources: [s.Resource]
          .flat()
          .map((r) => label(r, names))
          .sort(),
      }));

    expect(statements).toEqual([
      {
        actions: [
          's3:AbortMultipartUpload',
          's3:GetBucketLocation',
          's3:ListBucket',
          's3:ListBucketMultipartUploads',
        ],
        resources: ['Archive/Bucket'],
      },
      {
        actions: ['s3:AbortMultipartUpload', 's3:PutObject'],
        resources: ['Archive/Bucket/archive-errors/*', 'Archive/Bucket/archive/*'],
      },
      { actions: ['logs:PutLogEvents'], resources: ['Archive/DeliveryLogs'] },
    ]);
  });
});

describe('the Glue table', () => {
  it('reads the archive objects as JSON lines, its day and shard partitions projected, every field a column', () => {
    const tables = Object.values(stateful.findResources('AWS::Glue::Table'));
    expect(tables).toHaveLength(1);
    const input = tables[0]!.Properties.TableInput;

    expect(input.Name).toBe('decision_archive');
    expect(input.PartitionKeys.map((k: { Name: string }) => k.Name)).toEqual(['day', 'shard']);
    expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.openx.data.jsonserde.JsonSerDe');
    expect(input.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.day.type': 'date',
      'projection.day.format': 'yyyy-MM-dd',
      'projection.shard.type': 'integer',
      'projection.shard.range': `0,${ARCHIVE_SHARDS - 1}`,
      'projection.shard.digits': '2',
    });
    expect(JSON.stringify(input.Parameters['storage.location.template'])).toContain(
      ['/archive/day=', '{day}/shard=', '{shard}/'].join('$'),
    );
    // Every field any record type has is a column, but the partition: nothing an analyst needs is missing.
    const fields = new Set(
      archiveRecordSchema.options.flatMap((option) => Object.keys(option.shape).map((k) => k.toLowerCase())),
    );
    fields.delete('shard');
    const columns = input.StorageDescriptor.Columns.map((c: { Name: string }) => c.Name);
    expect([...columns].sort()).toEqual([...fields].sort());
  });
});

describe('the lost-records alarm', () => {
  it('fires on any ArchiveRecordsLost the functions count, and notifies the alarm topic', () => {
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Governor',
      MetricName: 'ArchiveRecordsLost',
      Dimensions: [{ Name: 'service', Value: 'governor' }],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [Match.anyValue()],
    });
  });
});
