/**
 * The dry-run on the local stack, as marketers and finance would use it: a known traffic (50 customers
 * × 4 messages under 3 per week, five customers opted out of e-mail, five in quiet hours whose deferred
 * messages the real release timer releases), then
 * - a dry-run of the current policy equals the finance report, reason by reason;
 * - a dry-run of 1 per week gives exactly the counts that rule implies;
 * - a dry-run of an invalid draft is a 400 problem listing the errors;
 * - an erased customer's archived events carry a pseudonym that no longer resolves.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudonymOf } from '#shared/app/archive.ts';
import { createRoot, type Root } from '#shared/composition.ts';
import { loadConfig } from '#shared/config.ts';
import type { ArchiveRecord } from '#shared/domain/archive.ts';
import type { DryRunResult } from '#shared/domain/dry-run-result.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const costs = { email: 0.0012, sms: 0.0475, push: 0.0003, whatsapp: 0.0385, currency: 'EUR' };
const policyOf = (limit: number) => ({
  caps: [{ id: 'weekly', limit, window: 'P7D' }],
  relevance: { default: 0.2 },
  channelCosts: costs,
});
const CUSTOMERS = 50;
const OPTED_OUT = [0, 1, 2, 3, 4];
const QUIET = [5, 6, 7, 8, 9];
const ERASED = 10;

let stack: TestStack;
let root: Root;
const run = Date.now().toString(36);
const customer = (c: number) => `dry-${run}-c${c}`;
const today = () => new Date().toISOString().slice(0, 10);
/**
 * The UTC days of the test's traffic, from before its first request to now: one day, or two when the run
 * crosses midnight UTC, so that no report or replay misses the decisions of the day before.
 */
const firstDay = today();
const from = () => firstDay;
const to = () => today();

/** The numbers of several answers added up (the days' summaries as one); the first one's other fields. */
function added(values: unknown[]): unknown {
  const [first] = values;
  if (typeof first === 'number') return values.reduce((a: number, b) => a + (b as number), 0);
  if (Array.isArray(first)) return values.flat();
  if (typeof first !== 'object' || first === null) return first;
  const keys = new Set(values.flatMap((v) => Object.keys(v as object)));
  return Object.fromEntries(
    [...keys].map((key) => [
      key,
      added(values.map((v) => (v as Record<string, unknown>)[key]).filter((v) => v !== undefined)),
    ]),
  );
}
/** The day summaries of the test's days, added up. */
// biome-ignore lint/suspicious/noExplicitAny: the test reads the JSON it asserts on.
async function summaryOfTheRun(): Promise<any> {
  const days = from() === to() ? [from()] : [from(), to()];
  const summaries = [];
  for (const day of days)
    summaries.push((await stack.request('GET', `/v1/reports/summary?day=${day}`)).json());
  return added(summaries);
}

async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (t: T) => boolean,
  ms = 180_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function dryRun(policy: unknown): Promise<DryRunResult> {
  const posted = await stack.request('POST', '/v1/policy/dry-runs', {
    body: { policy, from: from(), to: to() },
  });
  expect(posted.status, posted.text).toBe(202);
  const { id, status } = posted.json<{ id: string; status: string }>();
  expect(status).toBe('queued');
  expect(posted.headers.get('location')).toBe(`/v1/policy/dry-runs/${id}`);
  const job = await until(
    `dry-run ${id}`,
    async () => (await stack.request('GET', `/v1/policy/dry-runs/${id}`)).json(),
    (j) => j.status === 'done' || j.status === 'failed',
  );
  expect(job.status, JSON.stringify(job)).toBe('done');
  expect(job.progress.events).toBe(job.progress.totalEvents);
  return job.result;
}

beforeAll(async () => {
  stack = await startTestStack({
    env: { GOVERNOR_RELEASE_INTERVAL_S: '1', GOVERNOR_POLICY_TTL_MS: '0' },
    workers: true,
  });
  root = createRoot(loadConfig(process.env));
  const put = await stack.request('PUT', '/v1/policy', { headers: { 'if-match': '*' }, body: policyOf(3) });
  expect(put.status, put.text).toBe(200);

  const now = Date.now();
  const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
  for (const c of OPTED_OUT)
    await stack.request('PUT', `/v1/customers/${customer(c)}/preferences`, {
      body: { channels: { email: { optIn: false, source: 'preference-centre' } }, topics: {} },
    });
  // Quiet until a minute boundary 20 to 80 s away (so that a slow send still falls inside): their
  // messages are deferred to it, then released by the timer.
  const quietEnd = now % 60_000 < 40_000 ? now + 60_000 : now + 120_000;
  for (const c of QUIET)
    await stack.request('PUT', `/v1/customers/${customer(c)}/preferences`, {
      body: { timezone: 'UTC', quietHours: { start: hhmm(now - 3600_000), end: hhmm(quietEnd) } },
    });
  const messages = Array.from({ length: CUSTOMERS * 4 }, (_, i) => ({
    messageId: `dry-${run}-m${i}`,
    customerId: customer(i % CUSTOMERS),
    channel: 'email',
    campaignId: i % 2 === 0 ? 'spring' : 'restock',
    relevance: 0.9,
    expiresAt: new Date(now + 86_400_000).toISOString(),
    payload: { body: 'x' },
  }));
  const sent = await stack.request('POST', '/v1/messages/batch', { body: { messages } });
  expect(sent.status, sent.text).toBe(200);
  const results: { decision: string }[] = sent.json().results;
  const deferred = results.filter((r, i) => r.decision === 'deferred' && QUIET.includes(i % CUSTOMERS));
  expect(deferred).toHaveLength(QUIET.length * 3);
  // The quiet customers' deferred messages, released by the release timer.
  await until('the releases', summaryOfTheRun, (s) => s.released.accepted === QUIET.length * 3);
}, 240_000);

afterAll(async () => {
  await stack?.stop();
});

describe('POST /v1/policy/dry-runs', () => {
  it('replays the current policy to exactly what the finance report counts', async () => {
    // Act
    const result = await dryRun(policyOf(3));
    const summary = await summaryOfTheRun();
    const byReason = (
      await stack.request('GET', `/v1/reports/suppressed?from=${from()}&to=${to()}&groupBy=reason`)
    ).json();

    // Assess
    const { current } = result;
    expect(current.accepted).toBe(summary.accepted + summary.released.accepted);
    expect(current.deferred).toBe(summary.deferred);
    expect(current.suppressed).toBe(summary.suppressed);
    expect(current.byReason).toEqual(summary.suppressedByReason);
    expect(current.avoidedCost).toBeCloseTo(summary.avoidedCost, 9);
    expect(current.byReason).toEqual(
      Object.fromEntries(byReason.rows.map((r: { reason: string; count: number }) => [r.reason, r.count])),
    );
    // and the traffic as it is: 40 customers sent 3 of 4, the quiet ones 3 deferred then released
    expect(current).toMatchObject({
      accepted: 40 * 3 + 5 * 3,
      deferred: 5 * 3,
      suppressed: 40 + 5 + 5 * 4,
      byReason: { frequency_cap: 45, opted_out: 20 },
      currency: 'EUR',
    });
    // the same policy as a draft changes nothing
    expect({ ...result.draft }).toEqual({ ...current });
    expect(result.mostAffected).toEqual([]);
  });

  it('replays a draft of 1 per week to the counts that rule implies', async () => {
    // Act
    const { draft, current, mostAffected } = await dryRun(policyOf(1));

    // Assess: 40 customers get 1 of 4; the quiet ones 1 deferred and released, 3 capped; opted out: none
    expect(draft).toMatchObject({
      accepted: 40 + 5,
      deferred: 5,
      suppressed: 40 * 3 + 5 * 3 + 20,
      byReason: { frequency_cap: 135, opted_out: 20 },
      perCustomerPerWeek: { p50: 7, max: 7 },
    });
    expect(draft.avoidedCost).toBeCloseTo(155 * costs.email, 9);
    // each customer's first message is the one sent: its campaign by the customer's parity
    const even = CUSTOMERS / 2;
    expect(draft.byCampaign.spring?.accepted).toBe(even - OPTED_OUT.filter((c) => c % 2 === 0).length);
    expect(draft.byCampaign.restock?.accepted).toBe(even - OPTED_OUT.filter((c) => c % 2 === 1).length);
    expect(current.accepted).toBe(135);
    expect(mostAffected.length).toBeGreaterThan(0);
    expect(mostAffected[0]).toMatchObject({ before: { accepted: 3 }, after: { accepted: 1 } });
  });

  it('answers an invalid draft with a 400 problem listing the errors', async () => {
    // Act
    const response = await stack.request('POST', '/v1/policy/dry-runs', {
      body: {
        policy: { caps: [{ id: 'weekly', limit: -1, window: 'P7X' }], channelCosts: costs },
        from: from(),
        to: to(),
      },
    });

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const problem = response.json();
    expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(
      expect.arrayContaining(['policy.caps.0.limit', 'policy.caps.0.window']),
    );
  });

  it('refuses a period of more than 31 days', async () => {
    const response = await stack.request('POST', '/v1/policy/dry-runs', {
      body: { policy: policyOf(1), from: '2026-01-01', to: '2026-02-15' },
    });
    expect(response.status).toBe(400);
    expect(response.json().errors.map((e: { path: string }) => e.path)).toContain('to');
  });
});

describe('npm run dry-run', () => {
  it('prints the before/after table, and the result as JSON with --json', async () => {
    // Prepare
    const file = join(stack.dataDir, 'draft.json');
    await writeFile(file, JSON.stringify(policyOf(1)));
    const cli = (extra: string[]) =>
      promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          'scripts/dry-run.ts',
          '--policy',
          file,
          '--url',
          stack.url,
          '--key',
          stack.adminKey,
          ...extra,
        ],
        { cwd: process.cwd(), timeout: 60_000 },
      );

    // Act
    const asJson = await cli(['--json']);
    const asTable = await cli([]);

    // Assess
    const result = JSON.parse(asJson.stdout) as DryRunResult;
    expect({ current: result.current.accepted, draft: result.draft.accepted }).toEqual({
      current: 135,
      draft: 45,
    });
    expect(asTable.stdout).toMatch(/accepted\s+135\s+45\s+-90/);
    expect(asTable.stdout).toMatch(/frequency_cap\s+45\s+135\s+\+90/);
  });
});

describe("an erased customer's archived events", () => {
  it('carry a pseudonym that no longer resolves', async () => {
    // Prepare
    const lookup = { archive: root.archive as NonNullable<Root['archive']>, store: root.customerStore };
    const pseudonym = await pseudonymOf(lookup, customer(ERASED));
    const reader = root.archiveReader as NonNullable<Root['archiveReader']>;
    const archived = async () => {
      const records: ArchiveRecord[] = [];
      for (const shard of await reader.shards(Date.now() + 86_400_000))
        records.push(...(await reader.read(shard)));
      return records.filter((r) => r.pseudonym === pseudonym);
    };
    expect(pseudonym).toBeDefined();
    expect((await archived()).length).toBe(4);

    // Act
    const erased = await stack.request('DELETE', `/v1/customers/${customer(ERASED)}`);

    // Assess: the events stay (anonymous), the id no longer leads to them
    expect(erased.status).toBeLessThan(300);
    expect((await archived()).map((r) => r.type)).toContain('erasure');
    expect(await pseudonymOf(lookup, customer(ERASED))).toBeUndefined();
  });
});
