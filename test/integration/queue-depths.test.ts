/**
 * SqsQueueInspector against the local SQS engine (fauxqs): the delivery queue's waiting, in-flight and
 * delayed messages, and the dead-letter queue's, as the overview shows them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Engines, startEngines } from '#local/engines.ts';
import { SqsQueueInspector } from '#shared/adapters/sqs/queue-depths.ts';

let dataDir: string;
let engines: Engines;
let sqs: SQSClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-depths-'));
  engines = await startEngines({ dataDir });
  sqs = new SQSClient({
    endpoint: engines.sqsEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  sqs?.destroy();
  await engines?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('SqsQueueInspector', () => {
  it('counts the waiting, in-flight and delayed deliveries and the dead letters apart', async () => {
    // Prepare: 3 waiting, of which 1 received (in flight); 2 delayed; 1 dead letter.
    const inspector = new SqsQueueInspector(sqs, engines.deliveryQueueUrl, engines.dlqUrl);
    const empty = await inspector.depths();
    for (let i = 0; i < 3; i++) {
      await sqs.send(new SendMessageCommand({ QueueUrl: engines.deliveryQueueUrl, MessageBody: `m${i}` }));
    }
    for (let i = 0; i < 2; i++) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: engines.deliveryQueueUrl,
          MessageBody: `d${i}`,
          DelaySeconds: 600,
        }),
      );
    }
    await sqs.send(new SendMessageCommand({ QueueUrl: engines.dlqUrl, MessageBody: 'dead' }));
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: engines.deliveryQueueUrl,
        MaxNumberOfMessages: 1,
        VisibilityTimeout: 600,
      }),
    );
    expect(received.Messages).toHaveLength(1);

    // Act
    const depths = await inspector.depths();

    // Assess
    expect(empty).toEqual({ delivery: { visible: 0, inFlight: 0, delayed: 0 }, deadLetter: { visible: 0 } });
    expect(depths).toEqual({ delivery: { visible: 2, inFlight: 1, delayed: 2 }, deadLetter: { visible: 1 } });
  });
});
