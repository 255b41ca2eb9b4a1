/**
 * GET /v1/reports/suppressed and GET /v1/reports/summary: finance's figures, JSON or CSV;
 * GET /v1/reports/experiments/{id}: a holdout experiment's arms; POST
 * /v1/reports/reconcile: the operator's recovery of counts lost in a crash.
 */
import { experimentIdParam, experimentQuery, experimentReport } from '#shared/app/experiment-report.ts';
import { policyVersion } from '#shared/app/policy.ts';
import { reconcile } from '#shared/app/reconcile.ts';
import {
  daySummary,
  monthlySummary,
  reconcileBody,
  summaryQuery,
  suppressedCsv,
  suppressedQuery,
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

export const experiment: RouteHandler = async ({ event }) => {
  const id = parseWith(experimentIdParam, event.pathParameters?.id, 'the experiment id in the path');
  const query = parseWith(experimentQuery, event.queryStringParameters ?? {}, 'the query');
  return { status: 200, body: await experimentReport(deps, id, query.from, query.to) };
};

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
  'GET /v1/reports/suppressed': {
    query: Object.keys(suppressedQuery.shape),
    handle: suppressed,
  },
  'GET /v1/reports/summary': {
    query: Object.keys(summaryQuery.shape),
    handle: summary,
  },
  'GET /v1/reports/experiments/{id}': {
    query: Object.keys(experimentQuery.shape),
    handle: experiment,
  },
  'POST /v1/reports/reconcile': { handle: reconcileDays },
});
