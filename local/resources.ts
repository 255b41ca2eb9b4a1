/**
 * The table and queues of the local stack, defined once so that the engines and the integration tests
 * create exactly the same resources (the CDK stack mirrors them on AWS).
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  ScanCommand,
  type TableDescription,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { CAMPAIGN_INDEX, DUE_INDEX } from '#shared/adapters/dynamodb/keys.ts';

export const DEFAULT_TABLE_NAME = 'governor';
export const DELIVERY_QUEUE_NAME = 'governor-delivery';
export const DLQ_NAME = 'governor-delivery-dlq';
/**
 * A delivery that fails this many times goes to the DLQ (GOVERNOR_DELIVERY_MAX_RECEIVES: dispatch
 * dead-letters it itself on that receive, with the reason; the redrive policy is the backstop).
 */
export const DELIVERY_MAX_RECEIVE_COUNT = 15;
export const DELIVERY_VISIBILITY_TIMEOUT_S = 30;

export function tableDefinition(tableName: string = DEFAULT_TABLE_NAME): CreateTableCommandInput {
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'due', AttributeType: 'S' },
      { AttributeName: 'rt', AttributeType: 'S' },
      { AttributeName: 'cg', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    // Sparse: only deferred messages carry `due` (release minute and shard) and `rt` (release time).
    GlobalSecondaryIndexes: [
      {
        IndexName: DUE_INDEX,
        KeySchema: [
          { AttributeName: 'due', KeyType: 'HASH' },
          { AttributeName: 'rt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      // Sparse: only a campaign's deferred messages carry `cg` (campaign and shard); keys only.
      {
        IndexName: CAMPAIGN_INDEX,
        KeySchema: [
          { AttributeName: 'cg', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
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

/**
 * Creates the table unless it exists, and waits until it is ACTIVE. A table from an older data folder
 * that lacks one of the definition's indexes is rebuilt with its items (dynalite cannot add an index).
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string = DEFAULT_TABLE_NAME,
): Promise<void> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table && missesIndexes(Table, tableDefinition(tableName))) await rebuildTable(client, tableName);
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

function missesIndexes(table: TableDescription, definition: CreateTableCommandInput): boolean {
  const present = new Set((table.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
  return (definition.GlobalSecondaryIndexes ?? []).some((i) => !present.has(i.IndexName));
}

async function waitActive(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}

/** Reads every item, recreates the table from the current definition, writes the items back. */
async function rebuildTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await waitActive(client, tableName);
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  await client.send(new DeleteTableCommand({ TableName: tableName }));
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await client.send(new DescribeTableCommand({ TableName: tableName }));
      await new Promise((resolve) => setTimeout(resolve, 50));
    } catch (error) {
      if (error instanceof ResourceNotFoundException) break;
      throw error;
    }
  }
  await client.send(new CreateTableCommand(tableDefinition(tableName)));
  await waitActive(client, tableName);
  for (let i = 0; i < items.length; i += 25) {
    let pending: WriteRequest[] = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    while (pending.length > 0) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
      pending = out.UnprocessedItems?.[tableName] ?? [];
    }
  }
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
