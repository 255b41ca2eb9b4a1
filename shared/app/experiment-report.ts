/**
 * `GET /v1/reports/experiments/{id}?from&to`: what each arm of a holdout experiment did over a period,
 * read from the finance tallies (no scan of the customers): the customers who joined the arm (counted
 * with their first decision in it), the messages delivered (accepted at the decision or at a release),
 * the opens, clicks, unsubscribes and complaints of its customers (POST /v1/events, counted while the
 * experiment ran), and the send cost its suppressions avoided.
 *
 * The 95% confidence intervals of the differences between two arms use a normal approximation with
 * Poisson counts: for a count x over n customers the rate x / n has variance x / n², so the difference
 * of two arms' rates is d ± 1.96 · √(x₁/n₁² + x₂/n₂²). Caps make deliveries per customer less variable
 * than Poisson (the interval is then wider than it needs to be); a customer who can open a message many
 * times makes opens more variable (narrower than it should be). Per-customer sums of squares, which a
 * Welch interval needs, would cost a write per customer; this costs none.
 */
import * as z from 'zod';
import { microsToAmount } from '../domain/tally.ts';
import { daysBetween, pricedAll, type ReportDeps } from './reports.ts';

const day = z.iso.date();
const MAX_DAYS = 366;
const Z_95 = 1.959964;

export const experimentIdParam = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, _ . or -');

export const experimentQuery = z
  .object({
    from: day.meta({
      description: 'first UTC day, inclusive (the experiment’s first day counts every customer)',
    }),
    to: day.meta({ description: 'last UTC day, inclusive' }),
  })
  .refine((q) => q.from <= q.to, { message: 'from must not be after to', path: ['from'] })
  .refine((q) => (Date.parse(q.to) - Date.parse(q.from)) / 86_400_000 < MAX_DAYS, {
    message: `the period is at most ${MAX_DAYS} days`,
    path: ['to'],
  });

const METRICS = [
  'deliveredPerCustomer',
  'opensPer1000',
  'clicksPer1000',
  'unsubscribesPer1000',
  'complaintsPer1000',
] as const;
type Metric = (typeof METRICS)[number];

const amount = z.number().meta({ description: 'in the currency of the report, exact to the millionth' });
const rate = z.number().nullable().meta({ description: 'null when the arm has no customer' });

export const experimentArmReportSchema = z.object({
  arm: z.string(),
  customers: z.int().min(0).meta({ description: 'customers who joined the arm in the period' }),
  decisions: z.int().min(0).meta({ description: 'messages decided for them (first decisions)' }),
  delivered: z.int().min(0).meta({ description: 'accepted at the decision or at a release' }),
  suppressed: z.int().min(0),
  opens: z.int().min(0),
  clicks: z.int().min(0),
  unsubscribes: z.int().min(0),
  complaints: z.int().min(0),
  deliveredPerCustomer: rate,
  opensPer1000: rate,
  clicksPer1000: rate,
  unsubscribesPer1000: rate,
  complaintsPer1000: rate,
  avoidedCost: amount.meta({ description: 'the send cost of its suppressed messages' }),
});
export type ExperimentArmReport = z.infer<typeof experimentArmReportSchema>;

export const experimentDifferenceSchema = z.object({
  arm: z.string(),
  versus: z.string(),
  metric: z.enum(METRICS),
  difference: z.number().meta({ description: 'arm − versus' }),
  low: z.number().meta({ description: 'the 95% confidence interval’s lower bound' }),
  high: z.number().meta({ description: 'its upper bound' }),
});

export const experimentReportSchema = z.object({
  experiment: z.string(),
  period: z.object({ from: day, to: day }),
  currency: z.string().meta({ description: 'ISO 4217, or MIXED' }),
  arms: z.array(experimentArmReportSchema),
  differences: z.array(experimentDifferenceSchema).meta({
    description: 'each pair of arms (a later arm versus an earlier one), each rate',
  }),
  method: z.string().meta({ description: 'how the confidence intervals are computed' }),
});
export type ExperimentReport = z.infer<typeof experimentReportSchema>;

export const EXPERIMENT_CI_METHOD =
  'normal approximation, Poisson counts: d ± 1.96·√(x₁/n₁² + x₂/n₂²), per customer (× 1000 for the rates per 1,000 customers)';

const EVENT_FIELD = {
  opened: 'opens',
  clicked: 'clicks',
  unsubscribed: 'unsubscribes',
  complained: 'complaints',
} as const;

interface ArmCounts {
  customers: number;
  decisions: number;
  delivered: number;
  suppressed: number;
  opens: number;
  clicks: number;
  unsubscribes: number;
  complaints: number;
  micros: number;
}

const COUNT_OF: Record<Metric, { count: keyof ArmCounts; per: number }> = {
  deliveredPerCustomer: { count: 'delivered', per: 1 },
  opensPer1000: { count: 'opens', per: 1000 },
  clicksPer1000: { count: 'clicks', per: 1000 },
  unsubscribesPer1000: { count: 'unsubscribes', per: 1000 },
  complaintsPer1000: { count: 'complaints', per: 1000 },
};

/** The 95% interval of the difference of two arms' rates (Poisson counts, normal approximation). */
export function rateDifference(
  a: { count: number; customers: number },
  b: { count: number; customers: number },
  per = 1,
): { difference: number; low: number; high: number } | undefined {
  if (a.customers === 0 || b.customers === 0) return undefined;
  const difference = a.count / a.customers - b.count / b.customers;
  const se = Math.sqrt(a.count / a.customers ** 2 + b.count / b.customers ** 2);
  return {
    difference: difference * per,
    low: (difference - Z_95 * se) * per,
    high: (difference + Z_95 * se) * per,
  };
}

export async function experimentReport(
  deps: ReportDeps,
  experiment: string,
  from: string,
  to: string,
): Promise<ExperimentReport> {
  const all = (await pricedAll(deps, await deps.tallies.read(daysBetween(from, to)))).filter(
    (p) => p.group.experiment === experiment,
  );
  const byArm = new Map<string, ArmCounts>();
  for (const { group, count, micros } of all) {
    let c = byArm.get(group.arm);
    if (!c) {
      c = {
        customers: 0,
        decisions: 0,
        delivered: 0,
        suppressed: 0,
        opens: 0,
        clicks: 0,
        unsubscribes: 0,
        complaints: 0,
        micros: 0,
      };
      byArm.set(group.arm, c);
    }
    if (group.stage === 'enrolment') c.customers += count;
    else if (group.stage === 'engagement') {
      const field = EVENT_FIELD[group.reason as keyof typeof EVENT_FIELD];
      if (field) c[field] += count;
    } else if (group.stage === 'decision' || group.stage === 'release') {
      if (group.stage === 'decision') c.decisions += count;
      if (group.outcome === 'accepted') c.delivered += count;
      if (group.outcome === 'suppressed') {
        c.suppressed += count;
        c.micros += micros;
      }
    }
  }
  const arms = [...byArm.keys()].sort();
  const per = (x: number, n: number, k: number) => (n === 0 ? null : (x / n) * k);
  const currencies = [...new Set(all.map((p) => p.currency))];
  const differences: ExperimentReport['differences'] = [];
  arms.forEach((arm, i) => {
    for (const versus of arms.slice(0, i)) {
      const a = byArm.get(arm) as ArmCounts;
      const b = byArm.get(versus) as ArmCounts;
      for (const metric of METRICS) {
        const { count, per: k } = COUNT_OF[metric];
        const d = rateDifference(
          { count: a[count], customers: a.customers },
          { count: b[count], customers: b.customers },
          k,
        );
        if (d) differences.push({ arm, versus, metric, ...d });
      }
    }
  });
  return {
    experiment,
    period: { from, to },
    currency:
      currencies.length > 1 ? 'MIXED' : (currencies[0] ?? (await deps.policy(0)).channelCosts.currency),
    arms: arms.map((arm) => {
      const { micros, ...c } = byArm.get(arm) as ArmCounts;
      return {
        arm,
        ...c,
        deliveredPerCustomer: per(c.delivered, c.customers, 1),
        opensPer1000: per(c.opens, c.customers, 1000),
        clicksPer1000: per(c.clicks, c.customers, 1000),
        unsubscribesPer1000: per(c.unsubscribes, c.customers, 1000),
        complaintsPer1000: per(c.complaints, c.customers, 1000),
        avoidedCost: microsToAmount(micros),
      };
    }),
    differences,
    method: EXPERIMENT_CI_METHOD,
  };
}
