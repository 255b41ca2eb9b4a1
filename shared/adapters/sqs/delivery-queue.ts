/**
 * The delivery queue: one SQS message per accepted message, sent ten at a time with SendMessageBatch;
 * entries SQS refuses are retried, and an error is raised if some still fail so the caller can answer
 * "retry" rather than lose a message.
 */
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../../config.ts';
import { UnavailableError } from '../../errors.ts';
import type { Delivery, DeliveryQueue } from '../../ports.ts';

export function createSqsClient(config: Config): SQSClient {
  return new SQSClient({
    region: config.AWS_REGION,
    ...(config.GOVERNOR_SQS_ENDPOINT ? { endpoint: config.GOVERNOR_SQS_ENDPOINT } : {}),
    maxAttempts: 4,
  });
}

export class SqsDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(deliveries: Delivery[]): Promise<void> {
    const chunks: Delivery[][] = [];
    for (let i = 0; i < deliveries.length; i += 10) chunks.push(deliveries.slice(i, i + 10));
    await Promise.all(chunks.map((chunk) => this.sendChunk(chunk)));
  }

  private async sendChunk(chunk: Delivery[]): Promise<void> {
    let entries = chunk.map((d, i) => ({
      Id: String(i),
      MessageBody: JSON.stringify(d),
      MessageAttributes: { channel: { DataType: 'String', StringValue: d.channel } },
    }));
    for (let attempt = 0; attempt < 4 && entries.length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      const out = await this.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
      );
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      entries = entries.filter((e) => failed.has(e.Id));
    }
    if (entries.length > 0) throw new UnavailableError(`${entries.length} deliveries could not be queued`);
  }
}
