/** The approximate depths of the delivery queue and its DLQ (GetQueueAttributes on each). */
import { GetQueueAttributesCommand, type QueueAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import type { QueueDepths } from '../../domain/schemas.ts';
import type { QueueInspector } from '../../ports.ts';

const ATTRIBUTES: QueueAttributeName[] = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
];

export class SqsQueueInspector implements QueueInspector {
  constructor(
    private readonly sqs: SQSClient,
    private readonly deliveryQueueUrl: string,
    private readonly dlqUrl: string,
  ) {}

  async depths(): Promise<QueueDepths> {
    const [delivery, deadLetter] = await Promise.all([
      this.attributes(this.deliveryQueueUrl),
      this.attributes(this.dlqUrl),
    ]);
    return {
      delivery: {
        visible: delivery('ApproximateNumberOfMessages'),
        inFlight: delivery('ApproximateNumberOfMessagesNotVisible'),
        delayed: delivery('ApproximateNumberOfMessagesDelayed'),
      },
      deadLetter: { visible: deadLetter('ApproximateNumberOfMessages') },
    };
  }

  private async attributes(queueUrl: string): Promise<(name: QueueAttributeName) => number> {
    const { Attributes = {} } = await this.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ATTRIBUTES }),
    );
    return (name) => Number(Attributes[name] ?? 0);
  }
}
