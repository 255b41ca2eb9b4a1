/**
 * The table and queues of the local stack, defined once so that the engines and the integration tests
 * create exactly the same resources (the CDK stack mirrors them on AWS).
 */
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

export const DEFAULT_TABLE_NAME = 'governor';
export const DELIVERY_QUEUE_NAME = 'governor-delivery';
export const DLQ_NAME = 'governor-delivery-dlq';
/** A delivery that fails this many times goes to the DLQ. */
export const DELIVERY_MAX_RECEIVE_COUNT = 5;
export const DELIVERY_VISIBILITY_TIMEOUT_S = 30;

export function tableDefinition(tableName: string = DEFAULT_TABLE_NAME): CreateTableCommandInput {
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  };
}

export function deliveryQueueAttributes(dlqArn: string): Record<string, string> {
  return {
    VisibilityTimeout: String(DELIVERY_VISIBILITY_TIMEOUT_S),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: DELIVERY_MAX_RECEIVE_COUNT,
    }),
  };
}

/** Creates the table unless it exists, and waits until it is ACTIVE. */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string = DEFAULT_TABLE_NAME,
): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await client.send(new CreateTableCommand(tableDefinition(tableName)));
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}

export interface QueueNames {
  deliveryQueueName?: string;
  dlqName?: string;
}

export interface Queues {
  deliveryQueueUrl: string;
  dlqUrl: string;
  dlqArn: string;
}

/** Creates the DLQ, then the delivery queue redriving to it (CreateQueue is idempotent). */
export async function ensureQueues(client: SQSClient, names: QueueNames = {}): Promise<Queues> {
  const dlq = await client.send(new CreateQueueCommand({ QueueName: names.dlqName ?? DLQ_NAME }));
  const dlqUrl = dlq.QueueUrl!;
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const dlqArn = Attributes?.QueueArn;
  if (!dlqArn) throw new Error(`queue ${dlqUrl} has no QueueArn`);
  const delivery = await client.send(
    new CreateQueueCommand({
      QueueName: names.deliveryQueueName ?? DELIVERY_QUEUE_NAME,
      Attributes: deliveryQueueAttributes(dlqArn),
    }),
  );
  return { deliveryQueueUrl: delivery.QueueUrl!, dlqUrl, dlqArn };
}
