/**
 * The embedded engines of local mode: DynamoDB data survives a restart on the same data folder, the
 * delivery queue redrives to its DLQ, the environment handed to handlers points at both, and a Query or
 * Scan leaves no LevelDB iterator open behind it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Engines, startEngines } from '#local/engines.ts';
import { DELIVERY_MAX_RECEIVE_COUNT, tableDefinition } from '#local/resources.ts';
import { configSchema } from '#shared/config.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let dataDir: string;
const started: Engines[] = [];

async function start(): Promise<Engines> {
  const engines = await startEngines({ dataDir });
  started.push(engines);
  return engines;
}

function dynamoClient(engines: Engines): DynamoDBClient {
  return new DynamoDBClient({ endpoint: engines.dynamoEndpoint, region: 'us-east-1', credentials });
}

/**
 * Counts the LevelDB iterators dynalite opens and closes (abstract-level, as dynalite resolves it): an
 * iterator left open pins LevelDB's memtables and tables for good.
 */
function countIterators(): { opened: number; closed: number; restore(): void } {
  const fromLevel = createRequire(createRequire(require.resolve('dynalite')).resolve('level'));
  const { AbstractLevel, AbstractIterator, AbstractKeyIterator, AbstractValueIterator } = createRequire(
    fromLevel.resolve('classic-level'),
  )('abstract-level');
  const counts = { opened: 0, closed: 0 };
  const restores: Array<() => void> = [];
  const wrap = (prototype: Record<string, unknown>, name: string, count: 'opened' | 'closed') => {
    const original = prototype[name] as (...args: unknown[]) => unknown;
    prototype[name] = function (this: unknown, ...args: unknown[]) {
      counts[count]++;
      return original.apply(this, args);
    };
    restores.push(() => {
      prototype[name] = original;
    });
  };
  for (const name of ['iterator', 'keys', 'values']) wrap(AbstractLevel.prototype, name, 'opened');
  for (const cls of [AbstractIterator, AbstractKeyIterator, AbstractValueIterator])
    wrap(cls.prototype, 'close', 'closed');
  return {
    get opened() {
      return counts.opened;
    },
    get closed() {
      return counts.closed;
    },
    restore: () => {
      for (const restore of restores.splice(0)) restore();
    },
  };
}
const require = createRequire(import.meta.url);

function sqsClient(engines: Engines): SQSClient {
  return new SQSClient({ endpoint: engines.sqsEndpoint, region: 'us-east-1', credentials });
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-engines-'));
});
afterEach(async () => {
  for (const engines of started.splice(0)) await engines.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('startEngines', () => {
  it('closes the LevelDB iterator of every Query and Scan, read to its end or cut short by a Limit', async () => {
    const engines = await start();
    const dynamo = dynamoClient(engines);
    const TableName = engines.tableName;
    for (let i = 0; i < 5; i++)
      await dynamo.send(new PutItemCommand({ TableName, Item: { pk: { S: 'q' }, sk: { S: `s${i}` } } }));
    const iterators = countIterators();

    try {
      const query = {
        TableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'q' } },
      };
      for (let i = 0; i < 10; i++) {
        await dynamo.send(new QueryCommand(query));
        await dynamo.send(new QueryCommand({ ...query, Limit: 2 }));
        await dynamo.send(new ScanCommand({ TableName, Limit: 3 }));
      }
      // A stream closes its iterator as it ends, after the answer: wait for the last ones to close
      // (a leak never closes them, and the test times out).
      await vi.waitFor(() => expect(iterators.closed).toBe(iterators.opened), {
        timeout: 30_000,
        interval: 20,
      });

      expect(iterators.opened).toBeGreaterThanOrEqual(30);
      expect(iterators.closed).toBe(iterators.opened);
    } finally {
      iterators.restore();
      dynamo.destroy();
    }
  });

  it('creates the table with the pk/sk key schema, on demand', async () => {
    const engines = await start();
    const dynamo = dynamoClient(engines);

    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: engines.tableName }));

    expect(engines.tableName).toBe('governor');
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual(tableDefinition().KeySchema);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    dynamo.destroy();
  });

  it('keeps DynamoDB data across a stop and a start on the same data folder', async () => {
    const first = await start();
    const writer = dynamoClient(first);
    await writer.send(
      new PutItemCommand({
        TableName: first.tableName,
        Item: { pk: { S: 'customer#c-1' }, sk: { S: 'state' }, seq: { N: '7' } },
      }),
    );
    writer.destroy();
    await first.stop();

    const second = await start();
    const reader = dynamoClient(second);
    const { Item } = await reader.send(
      new GetItemCommand({
        TableName: second.tableName,
        Key: { pk: { S: 'customer#c-1' }, sk: { S: 'state' } },
      }),
    );

    expect(Item).toEqual({ pk: { S: 'customer#c-1' }, sk: { S: 'state' }, seq: { N: '7' } });
    reader.destroy();
  });

  it('keeps every acknowledged write when stopped in the middle of a burst of writes', async () => {
    const first = await start();
    const writer = dynamoClient(first);
    const writes = Array.from({ length: 50 }, (_, index) =>
      writer.send(
        new PutItemCommand({
          TableName: first.tableName,
          Item: { pk: { S: `c-${index}` }, sk: { S: 'state' } },
        }),
      ),
    );
    const settled = Promise.allSettled(writes);
    await writes[0];
    await first.stop();
    const outcomes = await settled;
    writer.destroy();

    const second = await start();
    const reader = dynamoClient(second);
    for (const [index, outcome] of outcomes.entries()) {
      if (outcome.status !== 'fulfilled') continue;
      const { Item } = await reader.send(
        new GetItemCommand({
          TableName: second.tableName,
          Key: { pk: { S: `c-${index}` }, sk: { S: 'state' } },
        }),
      );
      expect(Item, `write ${index} was acknowledged`).toBeDefined();
    }
    expect(outcomes[0]?.status).toBe('fulfilled');
    reader.destroy();
  });

  it('stops promptly even while a client keeps its connection alive', async () => {
    const engines = await start();
    const dynamo = dynamoClient(engines);
    await dynamo.send(new DescribeTableCommand({ TableName: engines.tableName }));

    const before = Date.now();
    await engines.stop();

    expect(Date.now() - before).toBeLessThan(2000);
    dynamo.destroy();
  });

  it('refuses a data folder another stack is using, instead of crashing later', async () => {
    await start();

    await expect(startEngines({ dataDir })).rejects.toThrow(/another Governor/);
  });

  it('gives the delivery queue a redrive policy to the DLQ', async () => {
    const engines = await start();
    const sqs = sqsClient(engines);

    const [{ Attributes: delivery }, { Attributes: dlq }] = await Promise.all([
      sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: engines.deliveryQueueUrl, AttributeNames: ['All'] }),
      ),
      sqs.send(new GetQueueAttributesCommand({ QueueUrl: engines.dlqUrl, AttributeNames: ['QueueArn'] })),
    ]);

    expect(delivery?.VisibilityTimeout).toBe('30');
    expect(JSON.parse(delivery?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: dlq?.QueueArn,
      maxReceiveCount: DELIVERY_MAX_RECEIVE_COUNT,
    });
    sqs.destroy();
  });

  it('moves a message received maxReceiveCount times to the DLQ', async () => {
    const engines = await start();
    const sqs = sqsClient(engines);
    await sqs.send(
      new SendMessageCommand({ QueueUrl: engines.deliveryQueueUrl, MessageBody: '{"messageId":"m-1"}' }),
    );

    for (let receive = 0; receive < DELIVERY_MAX_RECEIVE_COUNT; receive++) {
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: engines.deliveryQueueUrl }));
      expect(Messages).toHaveLength(1);
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: engines.deliveryQueueUrl,
          ReceiptHandle: Messages![0]!.ReceiptHandle!,
          VisibilityTimeout: 0,
        }),
      );
    }
    const { Messages: exhausted } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: engines.deliveryQueueUrl }),
    );
    const { Messages: dead } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: engines.dlqUrl }));

    expect(exhausted ?? []).toHaveLength(0);
    expect(dead?.map((message) => message.Body)).toEqual(['{"messageId":"m-1"}']);
    sqs.destroy();
  });

  it('hands back an environment the handlers configuration accepts', async () => {
    const engines = await start();

    const config = configSchema.parse(engines.env);

    expect(config).toMatchObject({
      GOVERNOR_TABLE_NAME: 'governor',
      GOVERNOR_DYNAMODB_ENDPOINT: engines.dynamoEndpoint,
      GOVERNOR_SQS_ENDPOINT: engines.sqsEndpoint,
      GOVERNOR_DELIVERY_QUEUE_URL: engines.deliveryQueueUrl,
      GOVERNOR_DLQ_URL: engines.dlqUrl,
      AWS_REGION: 'us-east-1',
    });
    expect(engines.env.AWS_ACCESS_KEY_ID).toEqual(expect.any(String));
    expect(engines.env.AWS_SECRET_ACCESS_KEY).toEqual(expect.any(String));
  });
});
