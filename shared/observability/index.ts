/**
 * One logger and one metrics per process (Powertools). Logs are structured and carry opaque ids only —
 * never payloads or customer data. Metrics are CloudWatch EMF lines on stdout: the tests switch them
 * off (POWERTOOLS_METRICS_DISABLED in vitest.config.ts); `npm start` leaves them on, so its console
 * shows the lines Lambda would publish. Tracing is Lambda's active X-Ray tracing (set by the CDK app); the
 * Powertools tracer is left out because it would add 125 kB and 50 ms of cold start to every function
 * for segments the Lambda service already records.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

const serviceName = 'governor';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ namespace: 'Governor', serviceName });

/**
 * The metrics published at once, each with a dimension of its own: one instance for the process (it
 * clears its dimension with each line it publishes), since building one (its console, its environment)
 * costs about 90 µs, and the send path publishes after every request.
 */
let singles: Metrics | undefined;
const single = (): Metrics => {
  singles ??= metrics.singleMetric();
  return singles;
};

/** One business metric per outcome: Decisions by outcome, Suppressed by reason. */
export function countDecisions(outcomes: { outcome: string; reason?: string | undefined }[]): void {
  const byOutcome = new Map<string, number>();
  const byReason = new Map<string, number>();
  for (const { outcome, reason } of outcomes) {
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    if (outcome === 'suppressed' && reason) byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }
  for (const [outcome, n] of byOutcome)
    single().addDimension('outcome', outcome).addMetric('Decisions', MetricUnit.Count, n);
  for (const [reason, n] of byReason)
    single().addDimension('reason', reason).addMetric('Suppressed', MetricUnit.Count, n);
}

export { MetricUnit };

/** Archive records lost with a failed batch (the archive's alarm watches it). */
export function countArchiveLost(records: number): void {
  single().addMetric('ArchiveRecordsLost', MetricUnit.Count, records);
}
