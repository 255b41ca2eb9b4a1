/**
 * Cancelling a campaign: `POST /v1/campaigns/{campaignId}/cancel` stores a job and answers at once;
 * `GET /v1/campaigns/{campaignId}/cancellations/{id}` reads its status and count. The release runs
 * (the scheduled release function; locally its timer) carry the open jobs out after releasing what is
 * due, within their time budget:
 *
 * - a job reads only what is held for its campaign, a page at a time, from the sparse campaign index
 *   (shard by shard; never the table);
 * - each message is cancelled through its customer's log like a single cancellation (withdraw of
 *   cancellation.ts), so a release racing it has one outcome, whichever comes first in the log; a
 *   withdrawn message's payload is deleted, the cancellation archived and counted suppressed
 *   `cancelled`;
 * - a runner holds a job by a lease, extended page by page, and given back when its budget is spent; a
 *   runner that dies leaves the job to the next release run once the lease has run out (by CLOCK_SKEW_MARGIN_MS more: the runners' clocks
 *   differ), which resumes at the job's cursor. Two runners on one job cancel each message once all
 *   the same (the log decides), and each counts only what its own entries withdrew.
 *
 * It cancels what is held when its pages are read: a message of the campaign deferred after its page
 * was read stays held (cancel the campaign again, or the message itself).
 */
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { CLOCK_SKEW_MARGIN_MS } from '../domain/customer-log.ts';
import { idSchema } from '../domain/schemas.ts';
import { NotFoundError } from '../errors.ts';
import { logger } from '../observability/index.ts';
import type { CampaignCancelJob, CampaignCancelStore, Clock, DeferredStore } from '../ports.ts';
import type { Archive } from './archive.ts';
import { withdraw } from './cancellation.ts';
import type { DecisionCounter } from './counting.ts';
import type { CustomerLog } from './customers.ts';
import { perCustomer } from './per-customer.ts';

/** How long a runner holds a job without reporting a page. */
export const CAMPAIGN_CANCEL_LEASE_MS = 30_000;
/** Held messages read (and cancelled) per page. */
const PAGE = 100;

const JOB_ID = /^[A-Za-z0-9_-]{16}$/;

export const CAMPAIGN_CANCEL_STATUSES = ['queued', 'running', 'done'] as const;

export const campaignCancelAcceptedSchema = z.object({
  id: z.string(),
  campaignId: idSchema,
  status: z.enum(CAMPAIGN_CANCEL_STATUSES),
});

export const campaignCancelSchema = z.object({
  id: z.string(),
  campaignId: idSchema,
  status: z.enum(CAMPAIGN_CANCEL_STATUSES).meta({
    description: 'queued: not started yet; running: cancelling; done: nothing held for it is left',
  }),
  cancelled: z.int().meta({ description: 'messages withdrawn (suppressed `cancelled`), so far or in all' }),
  createdAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().optional().meta({ description: 'once done' }),
});
export type CampaignCancelView = z.infer<typeof campaignCancelSchema>;

export interface CampaignCancelDeps {
  campaignCancels: CampaignCancelStore;
  clock: Clock;
}

export interface CampaignCancelRunDeps extends CampaignCancelDeps {
  customers: CustomerLog;
  deferred: DeferredStore;
  /** Counts each cancellation once, as a suppression (`cancelled`, release stage). */
  counter?: DecisionCounter | undefined;
  archive?: Archive | undefined;
}

export async function startCampaignCancel(
  deps: CampaignCancelDeps,
  campaignId: string,
  author: string,
): Promise<CampaignCancelJob> {
  const job: CampaignCancelJob = {
    id: randomBytes(12).toString('base64url'),
    campaignId,
    status: 'queued',
    createdAt: deps.clock.now(),
    author,
    cancelled: 0,
    cursor: { shard: 0 },
  };
  await deps.campaignCancels.create(job);
  return job;
}

export async function getCampaignCancel(
  deps: CampaignCancelDeps,
  campaignId: string,
  id: string,
): Promise<CampaignCancelView> {
  // Ids are 16 base64url characters: anything else names no job (and is never a key to look up).
  const job = JOB_ID.test(id) ? await deps.campaignCancels.get(id) : undefined;
  if (!job || job.campaignId !== campaignId)
    throw new NotFoundError(`no cancellation ${id} of campaign ${campaignId}`);
  const view: CampaignCancelView = {
    id: job.id,
    campaignId: job.campaignId,
    status: job.status,
    cancelled: job.cancelled,
    createdAt: new Date(job.createdAt).toISOString(),
  };
  if (job.finishedAt !== undefined) view.finishedAt = new Date(job.finishedAt).toISOString();
  return view;
}

export interface CampaignCancelRun {
  /** Jobs this run worked on, and finished. */
  worked: number;
  finished: number;
  /** Messages this run withdrew. */
  cancelled: number;
}

/** Carries out the open jobs until `budgetMs` has passed (at least one page; a page started is finished). */
export async function runCampaignCancels(
  deps: CampaignCancelRunDeps,
  options: { budgetMs: number },
): Promise<CampaignCancelRun> {
  const deadline = deps.clock.now() + options.budgetMs;
  const owner = randomBytes(9).toString('base64url');
  const run: CampaignCancelRun = { worked: 0, finished: 0, cancelled: 0 };
  for (const job of await deps.campaignCancels.open()) {
    if (run.worked > 0 && deps.clock.now() >= deadline) break;
    try {
      await runJob(deps, job, owner, deadline, run);
    } catch (error) {
      // The job keeps its cursor; the next run resumes it once the lease has run out.
      logger.error('campaign cancellation failed a page', { error: error as Error, job: job.id });
    }
  }
  return run;
}

async function runJob(
  deps: CampaignCancelRunDeps,
  job: CampaignCancelJob,
  owner: string,
  deadline: number,
  run: CampaignCancelRun,
): Promise<void> {
  const now = deps.clock.now();
  const claimed = await deps.campaignCancels.claim(
    job.id,
    owner,
    now - CLOCK_SKEW_MARGIN_MS,
    now + CAMPAIGN_CANCEL_LEASE_MS,
  );
  if (!claimed) return;
  run.worked++;
  let cursor = job.cursor;
  for (;;) {
    const page = await deps.deferred.heldFor(job.campaignId, cursor.shard, cursor.after, PAGE);
    let cancelled = 0;
    await perCustomer(
      page.held,
      (h) => h.customerId,
      async (group, customerId) => {
        for (const held of group) {
          const done = await withdraw(deps, customerId, held.messageId, deps.clock.now(), () =>
            deps.deferred.removeHeld([held]),
          );
          if (done?.result.cancelled) cancelled++;
        }
      },
    );
    await deps.counter?.flushIfDue();
    run.cancelled += cancelled;
    const next =
      page.next === undefined ? { shard: cursor.shard + 1 } : { shard: cursor.shard, after: page.next };
    if (next.shard >= deps.deferred.campaignShards) {
      if (await deps.campaignCancels.finish(job.id, owner, cancelled, deps.clock.now())) run.finished++;
      return;
    }
    // Out of time: the lease is given back (0), so that the next run resumes at once.
    const stopping = deps.clock.now() >= deadline;
    const kept = await deps.campaignCancels.advance(job.id, owner, {
      cancelled,
      cursor: next,
      leaseUntil: stopping ? 0 : deps.clock.now() + CAMPAIGN_CANCEL_LEASE_MS,
    });
    if (!kept || stopping) return;
    cursor = next;
  }
}
