/**
 * Provider feedback in, as deployed when email goes through SES: the configuration set every email is
 * sent through publishes deliveries, opens, clicks, bounces and complaints to an encrypted topic only
 * SES (for that configuration set, in this account) may publish to; an encrypted queue with a DLQ takes
 * them to the events function's queue consumer, which may read that queue and write what POST
 * /v1/events writes, nothing else. When SMS goes through End User Messaging SMS (sms-voice), its own
 * configuration set publishes SMS deliveries to the same topic, under the same guard.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_ACTIONS } from '../../infra/constructs/governor-function.ts';
import { allow, buildGovernor, resourceNames, statementsOf, Template } from './support.ts';

let ses: Template;
let names: Map<string, string>;
let webhookOnly: Template;

beforeAll(() => {
  const withSes = buildGovernor({
    settings: { providers: 'email=ses', sesFrom: 'Brand <news@mail.example.com>' },
  });
  ses = Template.fromStack(withSes.stateless);
  names = resourceNames(withSes.app);
  webhookOnly = Template.fromStack(buildGovernor().stateless);
});

const idOf = (path: string) => {
  const id = [...names].find(([, p]) => p === path)?.[0];
  if (!id) throw new Error(`no resource ${path}`);
  return id;
};
const only = (template: Template, type: string) => {
  const found = Object.values(template.findResources(type));
  expect(found, type).toHaveLength(1);
  return found[0]?.Properties;
};
/** The ARN of this account's configuration set: `name` is its name, or a reference to it. */
const configurationSetArn = (name: string | { Ref: string }) => {
  const head = [
    'arn:',
    { Ref: 'AWS::Partition' },
    ':ses:',
    { Ref: 'AWS::Region' },
    ':',
    { Ref: 'AWS::AccountId' },
  ];
  return {
    'Fn::Join': [
      '',
      typeof name === 'string'
        ? [...head, `:configuration-set/${name}`]
        : [...head, ':configuration-set/', name],
    ],
  };
};

describe('provider feedback', () => {
  it('publishes the SES events Governor learns from, of the configuration set every email uses, to the topic', () => {
    expect(only(ses, 'AWS::SES::ConfigurationSet')).toEqual({ Name: 'governor' });
    expect(only(ses, 'AWS::SES::ConfigurationSetEventDestination')).toEqual({
      ConfigurationSetName: { Ref: idOf('Feedback/ConfigurationSet') },
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ['delivery', 'open', 'click', 'bounce', 'complaint'],
        SnsDestination: { TopicARN: { Ref: idOf('Feedback/Topic') } },
      },
    });
    const dispatch = ses.findResources('AWS::Lambda::Function')[idOf('Delivery/Dispatch')];
    expect(dispatch?.Properties.Environment.Variables.GOVERNOR_SES_CONFIGURATION_SET).toBe('governor');
  });

  it('encrypts the topic with a key only this account and SES, for that configuration set, may use', () => {
    const topic = ses.findResources('AWS::SNS::Topic')[idOf('Feedback/Topic')];
    expect(topic?.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [idOf('Feedback/TopicKey'), 'Arn'] });
    const key = ses.findResources('AWS::KMS::Key')[idOf('Feedback/TopicKey')];
    expect(key?.Properties.EnableKeyRotation).toBe(true);
    const statements = key?.Properties.KeyPolicy.Statement as Record<string, unknown>[];
    expect(statements.filter((s) => JSON.stringify(s.Principal).includes('amazonaws.com'))).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'ses.amazonaws.com' },
        Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        Resource: '*',
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: { 'aws:SourceArn': configurationSetArn('governor') },
        },
      },
    ]);
  });

  it('lets SES publish to the topic for this account and configuration set only, over TLS only', () => {
    const policy = Object.values(ses.findResources('AWS::SNS::TopicPolicy')).find((p) =>
      JSON.stringify(p.Properties.Topics).includes(idOf('Feedback/Topic')),
    );
    const statements = policy?.Properties.PolicyDocument.Statement as Record<string, unknown>[];
    expect(statements.map(({ Sid: _, ...s }) => s)).toEqual([
      {
        Effect: 'Deny',
        Principal: '*',
        Action: 'sns:Publish',
        Resource: { Ref: idOf('Feedback/Topic') },
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      {
        Effect: 'Allow',
        Principal: { Service: 'ses.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: idOf('Feedback/Topic') },
        Condition: {
          StringEquals: {
            'AWS:SourceAccount': { Ref: 'AWS::AccountId' },
            'AWS:SourceArn': configurationSetArn({ Ref: idOf('Feedback/ConfigurationSet') }),
          },
        },
      },
    ]);
  });

  it('subscribes an encrypted queue with a dead-letter queue to the topic, which alone may send to it', () => {
    ses.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      TopicArn: { Ref: idOf('Feedback/Topic') },
      Endpoint: { 'Fn::GetAtt': [idOf('Feedback/Queue'), 'Arn'] },
    });
    const queues = ses.findResources('AWS::SQS::Queue');
    expect(queues[idOf('Feedback/Queue')]?.Properties).toEqual({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 4 * 86400,
      VisibilityTimeout: 180,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [idOf('Feedback/DeadLetterQueue'), 'Arn'] },
        maxReceiveCount: 5,
      },
    });
    expect(queues[idOf('Feedback/DeadLetterQueue')]?.Properties).toEqual({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86400,
    });
    const queuePolicy = (path: string) =>
      Object.values(ses.findResources('AWS::SQS::QueuePolicy')).find(
        (p) => p.Properties.Queues[0].Ref === idOf(path),
      )?.Properties.PolicyDocument.Statement;
    const tlsOnly = (path: string) => ({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sqs:*',
      Resource: { 'Fn::GetAtt': [idOf(path), 'Arn'] },
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    expect(queuePolicy('Feedback/Queue')).toEqual([
      tlsOnly('Feedback/Queue'),
      {
        Effect: 'Allow',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [idOf('Feedback/Queue'), 'Arn'] },
        Condition: { ArnEquals: { 'aws:SourceArn': { Ref: idOf('Feedback/Topic') } } },
      },
    ]);
    expect(queuePolicy('Feedback/DeadLetterQueue')).toEqual([tlsOnly('Feedback/DeadLetterQueue')]);
  });

  it('feeds the queue to the events consumer in batches of 100 that report item failures', () => {
    ses.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: idOf('Feedback/Consumer') },
      EventSourceArn: { 'Fn::GetAtt': [idOf('Feedback/Queue'), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
    });
    const consumer = ses.findResources('AWS::Lambda::Function')[idOf('Feedback/Consumer')];
    expect(consumer?.Properties.Timeout).toBe(30);
    const env = consumer?.Properties.Environment.Variables;
    expect(
      Object.keys(env)
        .filter((v) =>
          /^GOVERNOR_(TABLE_NAME|DELIVERY_QUEUE_URL|DLQ_URL|ARCHIVE_STREAM|\w+_SECRET_ARN)$/.test(v),
        )
        .sort(),
    ).toEqual(['GOVERNOR_ARCHIVE_STREAM', 'GOVERNOR_HASH_SECRET_ARN', 'GOVERNOR_TABLE_NAME']);
  });

  it('grants the consumer its queue, and what POST /v1/events writes, nothing else', () => {
    expect(statementsOf(ses, names, 'Feedback/Consumer')).toEqual(
      [
        allow(['logs:CreateLogStream', 'logs:PutLogEvents'], 'Feedback/ConsumerLogs'),
        allow(['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], '*'),
        allow(
          [
            'sqs:ChangeMessageVisibility',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
            'sqs:GetQueueUrl',
            'sqs:ReceiveMessage',
          ],
          'Feedback/Queue',
        ),
        allow(TABLE_ACTIONS.RW, 'Table'),
        allow(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], 'HashSecret'),
        allow(['firehose:PutRecordBatch'], 'Archive/Stream'),
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    // The same writes as the events route's function (which adds nothing but the rate counts it has not).
    const route = statementsOf(ses, names, 'Events').filter(
      (s) => !s.resources.some((r) => r.endsWith('Logs')),
    );
    const consumer = statementsOf(ses, names, 'Feedback/Consumer').filter(
      (s) => !s.resources.some((r) => r.endsWith('Logs') || r === 'Feedback/Queue'),
    );
    expect(consumer).toEqual(route);
  });

  it("calls someone as soon as one provider event is dead-lettered, and watches the consumer's throttles", () => {
    const alarms = ses.findResources('AWS::CloudWatch::Alarm');
    expect(alarms[idOf('Operations/ProviderEventsDeadLetters')]?.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf('Feedback/DeadLetterQueue'), 'QueueName'] } },
      ],
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: idOf('Operations/AlarmTopic') }],
    });
    expect(alarms[idOf('Operations/ProviderEventsThrottles')]?.Properties).toMatchObject({
      MetricName: 'Throttles',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: idOf('Feedback/Consumer') } }],
    });
  });

  it('is not deployed when email does not go through SES', () => {
    webhookOnly.resourceCountIs('AWS::SES::ConfigurationSet', 0);
    webhookOnly.resourceCountIs('AWS::SES::ConfigurationSetEventDestination', 0);
    webhookOnly.resourceCountIs('AWS::SNS::Topic', 1); // the alarm topic
    webhookOnly.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 10 });
    webhookOnly.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
  });
});

describe('SMS delivery status feedback', () => {
  const IDENTITY = 'arn:aws:sms-voice:eu-west-1:123456789012:phone-number/phone-0123456789abcdef';
  let sms: Template;
  let smsNames: Map<string, string>;
  let both: Template;
  beforeAll(() => {
    const withSms = buildGovernor({
      settings: { providers: 'sms=sms-voice', smsOriginationIdentity: IDENTITY },
    });
    sms = Template.fromStack(withSms.stateless);
    smsNames = resourceNames(withSms.app);
    both = Template.fromStack(
      buildGovernor({
        settings: { providers: 'email=ses,sms=sms-voice', sesFrom: 'Brand <news@mail.example.com>' },
      }).stateless,
    );
  });
  const smsId = (path: string) => {
    const id = [...smsNames].find(([, p]) => p === path)?.[0];
    if (!id) throw new Error(`no resource ${path}`);
    return id;
  };
  /** The ARN of this account's End User Messaging SMS configuration set `name`. */
  const smsConfigurationSetArn = (name: string) => ({
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':sms-voice:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:configuration-set/${name}`,
      ],
    ],
  });
  const fromOurSmsConfigurationSet = {
    StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
    ArnLike: { 'aws:SourceArn': smsConfigurationSetArn('governor-sms') },
  };

  it('publishes the SMS events Governor learns from, of the configuration set every SMS uses, to the topic', () => {
    expect(only(sms, 'AWS::SMSVOICE::ConfigurationSet')).toEqual({
      ConfigurationSetName: 'governor-sms',
      EventDestinations: [
        {
          EventDestinationName: 'governor-feedback',
          Enabled: true,
          MatchingEventTypes: ['TEXT_DELIVERED'],
          SnsDestination: { TopicArn: { Ref: smsId('Feedback/Topic') } },
        },
      ],
    });
    sms.resourceCountIs('AWS::SES::ConfigurationSet', 0);
    const dispatch = sms.findResources('AWS::Lambda::Function')[smsId('Delivery/Dispatch')];
    expect(dispatch?.Properties.Environment.Variables).toMatchObject({
      GOVERNOR_SMS_CONFIGURATION_SET: 'governor-sms',
      GOVERNOR_SMS_ORIGINATION_IDENTITY: IDENTITY,
    });
    expect(dispatch?.Properties.Environment.Variables).not.toHaveProperty('GOVERNOR_SES_CONFIGURATION_SET');
  });

  it('lets End User Messaging SMS use the key and publish to the topic for this account and configuration set only', () => {
    const key = sms.findResources('AWS::KMS::Key')[smsId('Feedback/TopicKey')];
    const keyStatements = key?.Properties.KeyPolicy.Statement as Record<string, unknown>[];
    expect(keyStatements.filter((s) => JSON.stringify(s.Principal).includes('amazonaws.com'))).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'sms-voice.amazonaws.com' },
        Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        Resource: '*',
        Condition: fromOurSmsConfigurationSet,
      },
    ]);
    const policy = Object.values(sms.findResources('AWS::SNS::TopicPolicy')).find((p) =>
      JSON.stringify(p.Properties.Topics).includes(smsId('Feedback/Topic')),
    );
    const statements = policy?.Properties.PolicyDocument.Statement as Record<string, unknown>[];
    expect(statements.filter((s) => s.Effect === 'Allow').map(({ Sid: _, ...s }) => s)).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'sms-voice.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: smsId('Feedback/Topic') },
        Condition: fromOurSmsConfigurationSet,
      },
    ]);
    // The configuration set is created once the service may publish (it checks the destination).
    const configurationSet = Object.values(sms.findResources('AWS::SMSVOICE::ConfigurationSet'))[0];
    expect(configurationSet?.DependsOn).toEqual(
      expect.arrayContaining([smsId('Feedback/Topic/Policy'), smsId('Feedback/TopicKey')]),
    );
  });

  it('grants the dispatch function SendTextMessage on that configuration set and its origination identity, nothing wider', () => {
    const sending = statementsOf(sms, smsNames, 'Delivery/Dispatch').filter((s) =>
      s.actions.some((a) => a.startsWith('sms-voice:') || a.startsWith('sns:')),
    );
    expect(sending).toEqual([
      allow(
        ['sms-voice:SendTextMessage'],
        'arn:AWS::Partition:sms-voice:AWS::Region:AWS::AccountId:configuration-set/governor-sms',
        IDENTITY,
      ),
    ]);
  });

  it('shares one topic, queue and consumer with SES when both are used', () => {
    both.resourceCountIs('AWS::SES::ConfigurationSet', 1);
    both.resourceCountIs('AWS::SMSVOICE::ConfigurationSet', 1);
    both.resourceCountIs('AWS::SNS::Topic', 2); // the provider events' and the alarm topic
    const topic = Object.values(both.findResources('AWS::SNS::Topic')).find(
      (t) => t.Properties.KmsMasterKeyId,
    );
    const keyRef = topic?.Properties.KmsMasterKeyId?.['Fn::GetAtt'] as [string] | undefined;
    const statements = both.findResources('AWS::KMS::Key')[keyRef?.[0] ?? '']?.Properties.KeyPolicy
      .Statement as Record<string, unknown>[] | undefined;
    const principals = (statements ?? [])
      .map((s) => JSON.stringify(s.Principal))
      .filter((p) => p.includes('.amazonaws.com'));
    expect(principals).toEqual([
      JSON.stringify({ Service: 'ses.amazonaws.com' }),
      JSON.stringify({ Service: 'sms-voice.amazonaws.com' }),
    ]);
  });

  it('is not deployed when SMS goes through SNS, whose delivery status comes through POST /v1/events', () => {
    const viaSns = Template.fromStack(buildGovernor({ settings: { providers: 'sms=sns' } }).stateless);
    viaSns.resourceCountIs('AWS::SMSVOICE::ConfigurationSet', 0);
    viaSns.resourceCountIs('AWS::SNS::Topic', 1); // the alarm topic
  });
});
