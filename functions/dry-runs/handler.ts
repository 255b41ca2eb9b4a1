/** POST /v1/policy/dry-runs and GET /v1/policy/dry-runs/{id}: what a draft policy would have done. */
import { dryRunRequestSchema, getDryRun, startDryRun } from '#shared/app/dry-runs.ts';
import { getDryRunRoot, getRoot } from '#shared/composition.ts';
import { httpFunction, parseWith, type RouteHandler } from '../http.ts';

const root = getRoot();
// Built on the first request: the runner (worker threads, or the AWS runner) is only needed then.
const deps = () => getDryRunRoot();

export const postDryRun: RouteHandler = async ({ body, principal }) => {
  const request = parseWith(dryRunRequestSchema, body, 'the dry-run');
  const job = await startDryRun(deps(), request, principal.keyId);
  return {
    status: 202,
    body: { id: job.id, status: job.status },
    headers: { location: `/v1/policy/dry-runs/${job.id}` },
  };
};

export const getOne: RouteHandler = async ({ event }) => ({
  status: 200,
  body: await getDryRun(deps(), event.pathParameters?.id ?? ''),
});

export const handler = httpFunction(root.authenticate, {
  'POST /v1/policy/dry-runs': { handle: postDryRun },
  'GET /v1/policy/dry-runs/{id}': { handle: getOne },
});
