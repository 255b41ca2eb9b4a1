/**
 * The release function (EventBridge schedule, every minute; locally a timer): releases the deferred
 * messages that are due, then carries out the open campaign cancellations, until its time is nearly up.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { runCampaignCancels } from '#shared/app/campaign-cancellation.ts';
import {
  type ReleaseDeps,
  type ReleaseOutcome,
  type ReleaseSummary,
  releaseDue,
} from '#shared/app/release.ts';
import { getDeliveryRoot, getRoot } from '#shared/composition.ts';
import { countedOf } from '#shared/domain/tally.ts';
import { logger, MetricUnit, metrics } from '#shared/observability/index.ts';

/** Time left for the last round of a run before the function times out. */
const MARGIN_MS = 10_000;

const counter = getRoot().counter;
// The keyed hashes' secret, read once at cold start (a clear failure there if it is missing).
await getRoot().hashes.ready();

/** One business metric per outcome, published once per run; and the counts finance reports. */
function countOutcomes(outcomes: ReleaseOutcome[]): void {
  for (const o of outcomes)
    metrics.addMetric(
      o.outcome === 'accepted' ? 'ReleasedAccepted' : 'ReleasedSuppressed',
      MetricUnit.Count,
      1,
    );
  counter.add(outcomes.map((o) => countedOf(o, 'release')));
}

const deps: ReleaseDeps = { ...getDeliveryRoot().release, onReleased: countOutcomes };

const budget = (context: Context) => Math.max(1000, context.getRemainingTimeInMillis() - MARGIN_MS);

export async function release(_event: unknown, context: Context): Promise<ReleaseSummary> {
  const summary = await releaseDue(deps, { budgetMs: budget(context) });
  const cancels = await runCampaignCancels(getRoot(), { budgetMs: budget(context) });
  if (cancels.worked > 0) logger.info('campaign cancellations', { ...cancels });
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  await counter.flush();
  return summary;
}

export const handler = middy<unknown, ReleaseSummary, Error, Context>(release).use(
  injectLambdaContext(logger),
);
