/**
 * Erasure and the delivery queue, end to end as `npm start` runs it (SQS pollers invoking the dispatch
 * handler, a real webhook receiver): a message accepted before its customer was erased and still in
 * the queue (its webhook failing, so it waits for a retry) is not delivered after the erasure, nor one
 * dead-lettered before it and redriven after; a message of the customer's new record, after the
 * erasure, is.
 */
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = 'erasure-e2e-webhook-secret-0123';
let stack: TestStack;
let receiver: WebhookReceiver;
let sqs: SQSClient;
const run = Date.now().toString(36);

beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
  stack = await startTestStack({
    env: {
      GOVERNOR_WEBHOOK_URL: receiver.url,
      GOVERNOR_WEBHOOK_SECRET: SECRET,
      GOVERNOR_POLICY_TTL_MS: '0',
      // A failed delivery comes back within a second or two.
      GOVERNOR_RETRY_BASE_MS: '500',
      GOVERNOR_RETRY_MAX_S: '2',
    },
    workers: { waitTimeSeconds: 1 },
  });
  sqs = new SQSClient({ endpoint: stack.engines.sqsEndpoint, region: 'us-east-1' });
  const current = await stack.request('GET', '/v1/policy');
  const put = await stack.request('PUT', '/v1/policy', {
    headers: { 'if-match': current.headers.get('etag') ?? '*' },
    body: {
      caps: [],
      relevance: { default: 0 },
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    },
  });
  expect(put.status, put.text).toBe(200);
});

afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
  await receiver?.close();
});

async function send(messageId: string, customerId: string) {
  const response = await stack.request('POST', '/v1/messages', {
    body: { messageId, customerId, channel: 'email', payload: { to: `${customerId}@example.com` } },
  });
  expect(response.json()).toMatchObject({ decision: 'accepted' });
}

/** Until the delivery queue holds nothing, visible or in flight. */
async function drained(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.engines.deliveryQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    if (
      Number(Attributes?.ApproximateNumberOfMessages) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible) ===
      0
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the delivery queue did not drain');
}

/** The dead letter of a message, once there; with `redrive`, moved back to the delivery queue. */
async function deadLetter(messageId: string, redrive = false): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.engines.dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        // Only a look, unless moving it.
        ...(redrive ? {} : { VisibilityTimeout: 0 }),
      }),
    );
    const letter = out.Messages?.find((m) => m.MessageAttributes?.messageId?.StringValue === messageId);
    if (!letter) continue;
    if (redrive) {
      await sqs.send(
        new SendMessageCommand({ QueueUrl: stack.engines.deliveryQueueUrl, MessageBody: letter.Body ?? '' }),
      );
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: stack.engines.dlqUrl, ReceiptHandle: letter.ReceiptHandle }),
      );
    }
    return;
  }
  throw new Error(`no dead letter of ${messageId}`);
}

describe('messages queued for a customer who is then erased', () => {
  it('are not delivered, retried or redriven; the new record’s messages are', async () => {
    // Prepare: one message waits in the queue for a retry, another is dead-lettered
    const customerId = `${run}-erased`;
    const waiting = `${run}-waiting`;
    const dead = `${run}-dead`;
    let erased = false;
    let refusedWaiting = 0;
    receiver.respond = (messageId) => {
      if (messageId === waiting && !erased) {
        refusedWaiting++;
        return 503;
      }
      return messageId === dead && !erased ? 422 : 200;
    };
    await send(waiting, customerId);
    await send(dead, customerId);
    await receiver.waitFor(() => refusedWaiting > 0, 20_000);
    await deadLetter(dead);

    // Act: the customer is erased; the receiver would now take both; the dead letter is redriven
    const erasure = await stack.request('DELETE', `/v1/customers/${customerId}`);
    expect(erasure.status).toBe(200);
    erased = true;
    await deadLetter(dead, true);
    const afterwards = `${run}-new-life`;
    await send(afterwards, customerId);
    await receiver.waitFor(() => receiver.arrivals.has(afterwards), 20_000);
    await drained();

    // Assess
    expect(receiver.arrivals.has(waiting)).toBe(false);
    expect(receiver.arrivals.has(dead)).toBe(false);
    expect(receiver.arrivals.get(afterwards)?.body).toMatchObject({ customerId });
  });
});
