/**
 * What dispatch does to a received message besides acknowledging it: make it visible again after a
 * backoff (ChangeMessageVisibility on the delivery queue), or move it to the DLQ itself with the reason
 * as message attributes (`reason`, `failedAt`, `receiveCount`), the body unchanged so that a redrive
 * sends exactly it again. The queue's own redrive policy stays as a backstop for messages whose
 * handler never ran to the end.
 */
import {
  ChangeMessageVisibilityCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Clock, DeadLetter, Redelivery } from '../../ports.ts';

export class SqsRedelivery implements Redelivery {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly dlqUrl: string,
    private readonly clock: Clock,
  ) {}

  async retryLater(receiptHandle: string, seconds: number): Promise<void> {
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  }

  async deadLetter(letter: DeadLetter): Promise<void> {
    const attributes: Record<string, MessageAttributeValue> = {
      reason: { DataType: 'String', StringValue: letter.reason.slice(0, 256) },
      failedAt: { DataType: 'String', StringValue: new Date(this.clock.now()).toISOString() },
      receiveCount: { DataType: 'Number', StringValue: String(letter.receiveCount) },
    };
    if (letter.messageId) attributes.messageId = { DataType: 'String', StringValue: letter.messageId };
    if (letter.channel) attributes.channel = { DataType: 'String', StringValue: letter.channel };
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.dlqUrl,
        MessageBody: letter.body,
        MessageAttributes: attributes,
      }),
    );
  }
}
