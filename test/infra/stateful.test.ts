import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CAMPAIGN_INDEX, DUE_INDEX } from '#shared/adapters/dynamodb/keys.ts';
import { DISPATCH_TIMEOUT } from '../../infra/constructs/delivery-pipeline.ts';
import {
  DELIVERY_MAX_RECEIVE_COUNT,
  DELIVERY_QUEUE_NAME,
  DLQ_NAME,
} from '../../infra/stacks/stateful-stack.ts';
import * as local from '../../local/resources.ts';
import { buildGovernor, resourceNames, Template } from './support.ts';

let stateful: Template;
let stateless: Template;
let names: Map<string, string>;

beforeAll(() => {
  const built = buildGovernor({ settings: { webhookUrl: 'https://hooks.example.com/governor' } });
  stateful = Template.fromStack(built.stateful);
  stateless = Template.fromStack(built.stateless);
  names = resourceNames(built.app);
});

const logicalId = (name: string) => [...names].find(([, path]) => path === name)?.[0] ?? name;

describe('the table', () => {
  it('holds customers and deferred messages under pk/sk, with the due index the release function queries and the campaign index a cancellation reads', () => {
    // The same keys, indexes and billing as the local table the engines and tests create.
    const { KeySchema, GlobalSecondaryIndexes, BillingMode } = local.tableDefinition();
    expect(GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual([DUE_INDEX, CAMPAIGN_INDEX]);
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema,
      BillingMode,
      GlobalSecondaryIndexes,
    });
  });

  it("files a campaign's deferred messages in a sparse, keys-only index by campaign and shard", () => {
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      AttributeDefinitions: Match.arrayWith([{ AttributeName: 'cg', AttributeType: 'S' }]),
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: CAMPAIGN_INDEX,
          KeySchema: [
            { AttributeName: 'cg', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ]),
    });
  });

  it('expires items by their x attribute, keeps point-in-time backups and is encrypted at rest', () => {
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'x', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('survives a deletion request and the removal of its stack', () => {
    stateful.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('the delivery queue', () => {
  it('moves a delivery to governor-delivery-dlq on its 15th receive, as the local engine does', () => {
    stateful.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'governor-delivery',
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId('DeadLetterQueue'), 'Arn'] },
        maxReceiveCount: 15,
      },
    });
    expect([local.DELIVERY_QUEUE_NAME, local.DLQ_NAME, local.DELIVERY_MAX_RECEIVE_COUNT]).toEqual([
      DELIVERY_QUEUE_NAME,
      DLQ_NAME,
      DELIVERY_MAX_RECEIVE_COUNT,
    ]);
  });

  it('hides a delivery being dispatched for at least six times the dispatch timeout', () => {
    const [queue] = Object.values(
      stateful.findResources('AWS::SQS::Queue', { Properties: { QueueName: 'governor-delivery' } }),
    );
    const dispatch = stateless.findResources('AWS::Lambda::Function')[logicalId('Delivery/Dispatch')];

    expect(dispatch?.Properties.Timeout).toBe(DISPATCH_TIMEOUT.toSeconds());
    expect(queue?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * dispatch?.Properties.Timeout);
  });

  it('keeps dead letters 14 days, and both queues are encrypted and refuse requests without TLS', () => {
    stateful.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'governor-delivery-dlq',
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    const queues = stateful.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(2);
    for (const [id, queue] of Object.entries(queues)) {
      expect(queue.Properties.SqsManagedSseEnabled, id).toBe(true);
      stateful.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });
});

describe('the secrets', () => {
  it('generate the hash secret, kept when the stack goes', () => {
    stateful.hasResource('AWS::SecretsManager::Secret', {
      Properties: Match.objectLike({
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('generate the admin key, and the webhook signing key next to the operator-given URL', () => {
    stateful.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true },
    });
    stateful.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: {
        SecretStringTemplate: JSON.stringify({ url: 'https://hooks.example.com/governor' }),
        GenerateStringKey: 'secret',
      },
    });
  });
});
