/**
 * The delivery queue's consumer (SQS event source, batches with partial failure reports): each record
 * is dispatched to its channel's provider; a record to retry is reported as a batch item failure (its
 * visibility is already set to the backoff), everything else is acknowledged.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type DeliveryOutcome, type DispatchDeps, dispatchRecord } from '#shared/app/dispatch.ts';
import { droppedAsErased } from '#shared/app/erasure.ts';
import { getDeliveryRoot, getRoot } from '#shared/composition.ts';
import { GovernorError } from '#shared/errors.ts';
import { logger, MetricUnit, metrics } from '#shared/observability/index.ts';

/** A record to try again later; the message is already scheduled to come back. */
class RetryLater extends GovernorError {}

/** One business metric per outcome, published once per invocation. */
function countOutcomes(outcomes: DeliveryOutcome[]): void {
  for (const o of outcomes)
    metrics.addMetric(o.outcome === 'delivered' ? 'Delivered' : 'DeadLettered', MetricUnit.Count, 1);
}

const deps: DispatchDeps = { ...getDeliveryRoot().dispatch, onOutcome: countOutcomes };
const { erasures } = getRoot();
// The keyed hashes' secret, read once at cold start (a clear failure there if it is missing).
await getRoot().hashes.ready();

export const dispatchOne = async (record: SQSRecord): Promise<void> => {
  const result = await dispatchRecord(deps, {
    body: record.body,
    receiptHandle: record.receiptHandle,
    receiveCount: Number(record.attributes.ApproximateReceiveCount ?? 1),
  });
  if (result.outcome === 'retry') throw new RetryLater(result.reason);
};

export async function dispatchBatch(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  // Messages of an erased customer are acknowledged without being sent: one read for the batch.
  const dropped = await droppedAsErased(erasures, event.Records);
  if (dropped.size > 0) metrics.addMetric('DroppedErased', MetricUnit.Count, dropped.size);
  const records = { Records: event.Records.filter((r) => !dropped.has(r)) };
  // One processor per invocation: the local stack runs several "instances" of this handler at once.
  const processor = new BatchProcessor(EventType.SQS);
  const response = await processPartialResponse(records, dispatchOne, processor, {
    context,
    throwOnFullBatchFailure: false,
  });
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  return response;
}

export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>(dispatchBatch).use(
  injectLambdaContext(logger),
);
