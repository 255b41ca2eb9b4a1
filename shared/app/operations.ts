/**
 * What an operator (and the console's overview) needs to see of the delivery pipeline: how many
 * messages wait in the delivery queue, are being delivered or wait out a retry delay, and how many were
 * dead-lettered. SQS's approximate counts: exact once the queue is idle, a few seconds behind under load.
 */
import * as z from 'zod';

const count = z.int().min(0);

export const queueDepthsSchema = z.object({
  delivery: z.object({
    visible: count.describe('waiting to be delivered'),
    inFlight: count.describe('received by dispatch, being delivered'),
    delayed: count.describe('waiting out a retry delay'),
  }),
  deadLetter: z.object({ visible: count.describe('dead-lettered deliveries waiting for an operator') }),
});
export type QueueDepths = z.infer<typeof queueDepthsSchema>;

export interface QueueInspector {
  depths(): Promise<QueueDepths>;
}
