/** GET /v1/reports/suppressed and GET /v1/reports/summary: finance's figures, JSON or CSV. */
import * as z from 'zod';
import { policyVersion } from '#shared/app/policy.ts';
import { reconcile } from '#shared/app/reconcile.ts';
import {
  daySummary,
  GROUP_BY,
  monthlySummary,
  suppressedCsv,
  suppressedReport,
} from '#shared/app/reports.ts';
import { getRoot } from '#shared/composition.ts';
import { NotFoundError } from '#shared/errors.ts';
import { httpFunction, parseWith, type RouteHandler } from '../http.ts';

const root = getRoot();
const deps = {
  tallies: root.tallies,
  policy: async (version: number) => {
    const policy = await policyVersion({ policies: root.policyStore, clock: root.clock }, version);
    if (!policy) throw new NotFoundError(`policy version ${version} is missing`);
    return policy;
  },
};

const day = z.iso.date();
const MAX_DAYS = 366;

export const suppressedQuery = z
  .object({
    from: day,
    to: day,
    groupBy: z
      .string()
      .default('day,reason,channel')
      .transform((s) =>
        s
          .split(',')
          .map((g) => g.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.enum(GROUP_BY)).max(GROUP_BY.length)),
    format: z.enum(['json', 'csv']).optional(),
  })
  .refine((q) => q.from <= q.to, { message: 'from must not be after to', path: ['from'] })
  .refine((q) => (Date.parse(q.to) - Date.parse(q.from)) / 86_400_000 < MAX_DAYS, {
    message: `the period is at most ${MAX_DAYS} days`,
    path: ['to'],
  });

/** A month (with the month before, for comparison), or one UTC day. */
const summaryQuery = z
  .object({
    month: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM')
      .optional(),
    day: day.optional(),
  })
  .refine((q) => (q.month === undefined) !== (q.day === undefined), {
    message: 'give either month (YYYY-MM) or day (YYYY-MM-DD)',
    path: ['month'],
  });

export const suppressed: RouteHandler = async ({ event }) => {
  const query = parseWith(suppressedQuery, event.queryStringParameters ?? {}, 'the query');
  const report = await suppressedReport(deps, query.from, query.to, [...new Set(query.groupBy)]);
  const csv =
    query.format === 'csv' || (query.format === undefined && /text\/csv/i.test(event.headers?.accept ?? ''));
  if (csv)
    return {
      status: 200,
      text: suppressedCsv(report),
      headers: { 'content-type': 'text/csv; charset=utf-8; header=present' },
    };
  return { status: 200, body: report };
};

export const summary: RouteHandler = async ({ event }) => {
  const query = parseWith(summaryQuery, event.queryStringParameters ?? {}, 'the query');
  if (query.day !== undefined) return { status: 200, body: await daySummary(deps, query.day) };
  return { status: 200, body: await monthlySummary(deps, query.month as string) };
};

const reconcileBody = z.strictObject({ days: z.array(day).min(1).max(7) });

export const reconcileDays: RouteHandler = async ({ body }) => {
  const { days } = parseWith(reconcileBody, body, 'the request');
  // This process's own counts still in memory are not lost: write them before comparing.
  await root.counter.flush();
  const result = await reconcile(
    { ...root, idempotencyMs: root.config.GOVERNOR_IDEMPOTENCY_HOURS * 3600_000 },
    [...new Set(days)].sort(),
  );
  return { status: 200, body: result };
};

export const handler = httpFunction(root.authenticate, {
  'GET /v1/reports/suppressed': { scope: 'reports:read', handle: suppressed },
  'GET /v1/reports/summary': { scope: 'reports:read', handle: summary },
  'POST /v1/reports/reconcile': { scope: 'admin', handle: reconcileDays },
});
