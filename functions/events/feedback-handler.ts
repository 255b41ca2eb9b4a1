/**
 * The events function's queue consumer (SQS event source, partial batch responses): SES event
 * publishing and End User Messaging SMS events, through SNS, recorded as `POST /v1/events` records them
 * (shared/app/provider-feedback.ts), one write per customer per batch. Records that name nothing are
 * acknowledged and counted; only the records whose write failed come back.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { recordProviderFeedback } from '#shared/app/provider-feedback.ts';
import { getRoot } from '#shared/composition.ts';
import { logger, MetricUnit, metrics } from '#shared/observability/index.ts';

const root = getRoot();
// Event ids and archived changes are keyed hashes: the secret is loaded at cold start.
await root.hashes.ready();

export async function feedbackBatch(event: SQSEvent): Promise<SQSBatchResponse> {
  const result = await recordProviderFeedback(
    root,
    event.Records.map((r) => ({ id: r.messageId, body: r.body })),
  );
  for (const { id, reason } of result.ignoredRecords) logger.info('provider event ignored', { id, reason });
  if (result.error) logger.error('provider events not recorded', { error: result.error as Error });
  metrics.addMetric('ProviderEvents', MetricUnit.Count, result.received);
  metrics.addMetric('ProviderEventsApplied', MetricUnit.Count, result.applied);
  metrics.addMetric('ProviderEventsIgnored', MetricUnit.Count, result.ignoredRecords.length);
  metrics.publishStoredMetrics();
  await root.settle();
  return { batchItemFailures: result.failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>(feedbackBatch).use(
  injectLambdaContext(logger),
);
