/**
 * The delivery queue: one SQS message per accepted message, sent with SendMessageBatch (ten at a time,
 * and within SQS's size of a batch; concurrent enqueues share batches); entries SQS refuses are
 * retried, and an error is raised if some still fail so the caller can answer "retry" rather than lose
 * a message.
 */
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../../config.ts';
import { UnavailableError } from '../../errors.ts';
import { GroupCommit } from '../../group-commit.ts';
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

interface Entry {
  body: string;
  delivery: Delivery;
  size: number;
}

export class SqsDeliveryQueue implements DeliveryQueue {
  /** Concurrent enqueues share SendMessageBatch requests. */
  private readonly batches = new GroupCommit<Entry>({
    send: (chunk) => this.sendChunk(chunk),
    maxItems: 10,
    maxBytes: MAX_BATCH_BYTES,
    sizeOf: (e) => e.size,
  });

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(deliveries: Delivery[]): Promise<void> {
    await this.batches.submit(
      deliveries.map((delivery) => {
        const body = sqsBody(delivery);
        return { body, delivery, size: Buffer.byteLength(body, 'utf8') + 64 };
      }),
    );
  }

  private async sendChunk(chunk: Entry[]): Promise<void> {
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
