/**
 * The operator's dead-letter tool against a running local stack: `list` shows what is in the DLQ and
 * leaves it there, visible, so that a `redrive` right after moves it all; a `redrive` of some ids leaves
 * the others visible too.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const run = promisify(execFile);
let stack: TestStack;
let sqs: SQSClient;

const dlq = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'local/dlq.ts', ...args], {
    cwd: process.cwd(),
    env: { ...process.env, GOVERNOR_DATA_DIR: stack.dataDir },
  });

async function counts(queueUrl: string) {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages),
    hidden: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
  };
}

beforeAll(async () => {
  stack = await startTestStack();
  // What npm start writes for the tools that talk to its engines.
  await writeFile(
    join(stack.dataDir, 'endpoints.json'),
    JSON.stringify({ url: stack.url, ...stack.engines.env }),
  );
  sqs = new SQSClient({
    endpoint: stack.engines.sqsEndpoint,
    region: stack.engines.env.AWS_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  // Twelve dead letters, as dispatch writes them: more than one receive's worth.
  for (const first of [0, 10]) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.engines.dlqUrl,
        Entries: Array.from({ length: first === 0 ? 10 : 2 }, (_, i) => {
          const messageId = `dead-${first + i}`;
          const attribute = (value: string) => ({ DataType: 'String', StringValue: value });
          return {
            Id: String(i),
            MessageBody: JSON.stringify({ messageId, customerId: 'c-1', channel: 'email', payload: {} }),
            MessageAttributes: {
              messageId: attribute(messageId),
              channel: attribute('email'),
              reason: attribute('http_400'),
              failedAt: attribute('2026-11-25T10:00:00.000Z'),
            },
          };
        }),
      }),
    );
  }
});

afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
});

describe('local/dlq.ts', () => {
  it('lists every dead letter and leaves them all visible', async () => {
    const { stdout } = await dlq('list');

    expect(stdout).toContain('dead-0\temail\thttp_400\t2026-11-25T10:00:00.000Z');
    expect(stdout).toContain(`12 message(s) in ${stack.engines.dlqUrl}`);
    expect(await counts(stack.engines.dlqUrl)).toEqual({ visible: 12, hidden: 0 });
  });

  it('redrives the ids it is given and leaves the others visible', async () => {
    const { stdout } = await dlq('redrive', 'dead-3', 'dead-11');

    expect(stdout).toContain('2 message(s) moved back');
    expect(await counts(stack.engines.dlqUrl)).toEqual({ visible: 10, hidden: 0 });
  });

  it('redrives everything left right after a list', async () => {
    await dlq('list');
    const { stdout } = await dlq('redrive');

    expect(stdout).toContain('10 message(s) moved back');
    expect(await counts(stack.engines.dlqUrl)).toEqual({ visible: 0, hidden: 0 });
    expect((await counts(stack.engines.deliveryQueueUrl)).visible).toBe(12);
  });
});
