/**
 * A campaign's cancellation on dynalite: the job reads only what is held for the campaign (its sparse
 * index, never the table), withdraws each message through its customer's log, resumes where a run
 * that ran out of time stopped, respects another runner's lease, and leaves the other campaigns'
 * messages held.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CAMPAIGN_CANCEL_LEASE_MS,
  getCampaignCancel,
  runCampaignCancels,
  startCampaignCancel,
} from '#shared/app/campaign-cancellation.ts';
import { messageStatus } from '#shared/app/cancellation.ts';
import { releaseDue } from '#shared/app/release.ts';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import { createDeliveryRoot, type Root } from '#shared/composition.ts';
import { CLOCK_SKEW_MARGIN_MS } from '#shared/domain/customer-log.ts';
import { messageSchema } from '#shared/domain/schemas.ts';
import { CallMeter } from '../../bench/lib/meter.ts';
import { type EnginesFixture, startEnginesFixture } from '../support/engines-fixture.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
let fixture: EnginesFixture;
let now = T0;
let root: Root;

beforeAll(async () => {
  fixture = await startEnginesFixture({
    name: 'campaign-cancel',
    clock: { now: () => now },
    policy: {
      caps: [],
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    },
  });
  root = fixture.root;
});

afterAll(() => fixture?.stop());

/** A message held an hour from now (its notBefore). */
const held = (customerId: string, messageId: string, campaignId: string) =>
  messageSchema.parse({
    messageId,
    customerId,
    channel: 'email',
    campaignId,
    notBefore: new Date(now + HOUR).toISOString(),
    expiresAt: new Date(now + 3 * HOUR).toISOString(),
    payload: { body: 'x' },
  });

describe('cancelling a campaign', () => {
  it('withdraws every message held for the campaign, run after run, and leaves the others held', async () => {
    // Prepare: 30 customers hold a message of `stop` (two hold two), five a message of `keep`
    const deps: SendDeps = { ...root, counter: undefined };
    const stop = Array.from({ length: 30 }, (_, i) => held(`cc-${i}`, `stop-${i}`, 'stop'));
    stop.push(held('cc-0', 'stop-30', 'stop'), held('cc-1', 'stop-31', 'stop'));
    const keep = Array.from({ length: 5 }, (_, i) => held(`cc-${i}`, `keep-${i}`, 'keep'));
    const answers = await sendMessages(deps, [...stop, ...keep]);
    expect(answers.every((a) => 'decision' in a && a.decision === 'deferred')).toBe(true);
    const job = await startCampaignCancel(root, 'stop', 'test');
    const meter = new CallMeter();
    meter.attach(root.db, 'dynamodb');

    // Act: runs out of time after each page (budget 0), so that each run resumes where the last stopped
    const runs = [];
    for (let i = 0; i < 20; i++) {
      now += 1000;
      runs.push(await runCampaignCancels({ ...root, counter: undefined }, { budgetMs: 0 }));
      if ((await getCampaignCancel(root, 'stop', job.id)).status === 'done') break;
    }

    // Assess: all 32 withdrawn, once each, over several runs; the index read, never the table
    const view = await getCampaignCancel(root, 'stop', job.id);
    expect(view).toMatchObject({ id: job.id, campaignId: 'stop', status: 'done', cancelled: 32 });
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.reduce((n, r) => n + r.cancelled, 0)).toBe(32);
    expect(meter.snapshot().calls).not.toHaveProperty('ScanCommand');
    const statuses = await Promise.all(
      stop.map((m) => messageStatus(root, m.customerId, m.messageId).then((s) => s.status + s.reason)),
    );
    expect(new Set(statuses)).toEqual(new Set(['suppressedcancelled']));
    // At their time only the other campaign's messages are released.
    now = T0 + HOUR + 5 * MINUTE;
    const released = await releaseDue(createDeliveryRoot(root).release);
    expect(released).toMatchObject({ due: 5, accepted: 5 });
  });

  it('leaves a job to the runner that holds its lease until the lease has run out', async () => {
    // Prepare: a job another runner claimed a moment ago
    now = T0 + 2 * HOUR;
    const [answer] = await sendMessages({ ...root, counter: undefined }, [
      held('cc-lease', 'lease-1', 'lease'),
    ]);
    expect(answer).toMatchObject({ decision: 'deferred' });
    const job = await startCampaignCancel(root, 'lease', 'test');
    expect(await root.campaignCancels.claim(job.id, 'other', now, now + CAMPAIGN_CANCEL_LEASE_MS)).toBe(true);

    // Act
    const during = await runCampaignCancels(root, { budgetMs: 10_000 });
    now += CAMPAIGN_CANCEL_LEASE_MS + CLOCK_SKEW_MARGIN_MS + 1;
    const after = await runCampaignCancels(root, { budgetMs: 10_000 });

    // Assess
    expect(during).toMatchObject({ worked: 0, cancelled: 0 });
    expect(after).toMatchObject({ worked: 1, finished: 1, cancelled: 1 });
    expect(await getCampaignCancel(root, 'lease', job.id)).toMatchObject({ status: 'done', cancelled: 1 });
  });

  it("answers 404 for a job of another campaign's id", async () => {
    const job = await startCampaignCancel(root, 'stop', 'test');
    await expect(getCampaignCancel(root, 'other', job.id)).rejects.toThrow(/no cancellation/);
  });

  it('answers 404 for an id no job could have, without looking it up (a sort key past its limit)', async () => {
    await expect(getCampaignCancel(root, 'stop', 'x'.repeat(1100))).rejects.toThrow(/no cancellation/);
  });
});
