/**
 * The dry-run state machine's worker (infra/constructs/dry-run-machine.ts): each state invokes it with
 * one step of the job — plan, one shard's replay, the merge, or the record of a failure.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type DryRunStep, runDryRunStep } from '#shared/app/dry-runs.ts';
import { createDryRunWorkerRoot, getRoot } from '#shared/composition.ts';
import { logger } from '#shared/observability/index.ts';

const deps = createDryRunWorkerRoot(getRoot());

export const runStep = (step: DryRunStep) => runDryRunStep(deps, step);

export const handler = middy<DryRunStep, Awaited<ReturnType<typeof runStep>>, Error, Context>(runStep).use(
  injectLambdaContext(logger),
);
