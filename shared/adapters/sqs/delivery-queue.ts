/**
 * The delivery queue: one SQS message per accepted message, sent with SendMessageBatch (ten at a time,
 * and within SQS's size of a batch); entries SQS refuses are retried, and an error is raised if some
 * still fail so the caller can answer "retry" rather than lose a message.
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

/** SQS's limit on the bodies of one SendMessageBatch. */
const MAX_BATCH_BYTES = 256 * 1024;

/**
 * The message body: the delivery as JSON, with surrogates and U+FFFE/U+FFFF written as \u escapes —
 * SQS refuses those characters in a body, and JSON.parse restores them.
 */
export function sqsBody(delivery: Delivery): string {
  return JSON.stringify(delivery).replace(
    /[\uD800-\uDFFF\uFFFE\uFFFF]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export class SqsDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(deliveries: Delivery[]): Promise<void> {
    const chunks: { body: string; delivery: Delivery }[][] = [];
    let chunk: { body: string; delivery: Delivery }[] = [];
    let bytes = 0;
    for (const delivery of deliveries) {
      const body = sqsBody(delivery);
      const size = Buffer.byteLength(body, 'utf8') + 64;
      if (chunk.length === 10 || (chunk.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push({ body, delivery });
      bytes += size;
    }
    if (chunk.length > 0) chunks.push(chunk);
    await Promise.all(chunks.map((c) => this.sendChunk(c)));
  }

  private async sendChunk(chunk: { body: string; delivery: Delivery }[]): Promise<void> {
    let entries = chunk.map(({ body, delivery }, i) => ({
      Id: String(i),
      MessageBody: body,
      MessageAttributes: { channel: { DataType: 'String', StringValue: delivery.channel } },
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
