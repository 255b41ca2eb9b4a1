/**
 * One logger, one metrics and one tracer per process (Powertools). Logs are structured and carry opaque
 * ids only — never payloads or customer data. Locally and in tests, metrics and tracing are switched off
 * by POWERTOOLS_METRICS_DISABLED and POWERTOOLS_TRACE_ENABLED.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

const serviceName = 'governor';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ namespace: 'Governor', serviceName });
export const tracer = new Tracer({ serviceName });

/** One business metric per outcome: Decisions by outcome, Suppressed by reason. */
export function countDecisions(outcomes: { outcome: string; reason?: string | undefined }[]): void {
  const byOutcome = new Map<string, number>();
  const byReason = new Map<string, number>();
  for (const { outcome, reason } of outcomes) {
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    if (outcome === 'suppressed' && reason) byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }
  for (const [outcome, n] of byOutcome) {
    const single = metrics.singleMetric();
    single.addDimension('outcome', outcome);
    single.addMetric('Decisions', MetricUnit.Count, n);
  }
  for (const [reason, n] of byReason) {
    const single = metrics.singleMetric();
    single.addDimension('reason', reason);
    single.addMetric('Suppressed', MetricUnit.Count, n);
  }
}

export { MetricUnit };
