/**
 * Three API instances as Lambda runs them, on one dynalite and fauxqs (each a process of its own, as
 * `npm start` runs them), with clocks 2 s slow, right and 2 s fast (GOVERNOR_LOCAL_CLOCK_OFFSET_MS),
 * under 3/P7D + 1/PT1H + a 10-minute gap: concurrent single and batch sends, each message also retried
 * through the other instances. By the writers' own timestamps no cap is overshot and no gap broken, a
 * message gets one answer whichever instance answers, and the finance counts equal the decisions.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineEndpoints } from '#local/engines.ts';
import { forkModule, type StackChild, stackChild } from '#local/processes.ts';
import { createRoot } from '#shared/composition.ts';
import { loadConfig } from '#shared/config.ts';
import { monthsOf, utcDay } from '../support/calendar.ts';

const ADMIN_KEY = 'skewed-instances-admin-key-0123456789';
const OFFSETS_MS = [-2000, 0, 2000];
const CUSTOMERS = 24;
const PER_CUSTOMER = 5;
const HOUR = 3600_000;
const WEEK = 7 * 24 * HOUR;
const GAP = 10 * 60_000;

/** The day the test starts on, by the slowest instance's clock: its first decisions' day at the earliest. */
const firstDay = utcDay(Date.now() + Math.min(...OFFSETS_MS));

let dataDir: string;
let engines: StackChild<{ engines: EngineEndpoints }>;
const instances: StackChild<{ url: string }>[] = [];

type Answer = { messageId: string; decision?: string; status?: number; [field: string]: unknown };

async function call(instance: number, method: string, path: string, body?: unknown): Promise<unknown> {
  const url = instances[instance]?.ready.url ?? '';
  const response = await fetch(new URL(path, url), {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', 'if-match': '*' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200)
    throw new Error(`${method} ${path} on instance ${instance}: ${response.status} ${text}`);
  return JSON.parse(text);
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-skew-'));
  const env = {
    ...process.env,
    GOVERNOR_ADMIN_KEY: ADMIN_KEY,
    GOVERNOR_POLICY_TTL_MS: '0',
    // Counts written with each answer, as on Lambda, so that they can be read as soon as it is given.
    GOVERNOR_COUNT_FLUSH_MS: '0',
  };
  engines = await stackChild<{ engines: EngineEndpoints }>(
    'engines',
    forkModule('engine-process', env),
  ).start({
    dataDir,
  });
  const forked = OFFSETS_MS.map((offset, i) =>
    stackChild<{ url: string }>(
      `API instance ${i}`,
      forkModule('api-process', { ...env, GOVERNOR_LOCAL_CLOCK_OFFSET_MS: String(offset) }),
    ),
  );
  instances.push(
    ...(await Promise.all(forked.map((f) => f.start({ dataDir, engines: engines.ready.engines, port: 0 })))),
  );
}, 180_000);

afterAll(async () => {
  await Promise.all(instances.map((i) => i.stop(10_000)));
  await engines?.stop(10_000);
  await rm(dataDir, { recursive: true, force: true });
});

describe('three API instances whose clocks differ by up to 4 s', () => {
  it('answer each by its own clock: a message expiring in a second has expired for the one 2 s ahead', async () => {
    const run = Date.now().toString(36);
    const expiring = (i: number) => ({
      messageId: `${run}-expiring-${i}`,
      customerId: `${run}-expiring-${i}`,
      channel: 'email',
      kind: 'transactional',
      expiresAt: new Date(Date.now() + 1000).toISOString(),
      payload: {},
    });

    const slow = (await call(0, 'POST', '/v1/messages', expiring(0))) as Answer;
    const fast = (await call(2, 'POST', '/v1/messages', expiring(2))) as Answer;

    expect(slow).toMatchObject({ decision: 'accepted' });
    expect(fast).toMatchObject({ decision: 'suppressed', reason: 'expired' });
  });

  it('never overshoot a cap nor answer one message two ways, and count every decision once', async () => {
    // Prepare
    await call(0, 'PUT', '/v1/policy', {
      caps: [
        { id: 'weekly', limit: 3, window: 'P7D' },
        { id: 'hourly', limit: 1, window: 'PT1H' },
        { id: 'gap', minGap: 'PT10M' },
      ],
      relevance: { default: 0 },
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    });
    const run = Date.now().toString(36);
    const expiresAt = new Date(Date.now() + 3 * HOUR).toISOString();
    const messages = Array.from({ length: CUSTOMERS * PER_CUSTOMER }, (_, i) => ({
      messageId: `${run}-m${i}`,
      customerId: `${run}-c${i % CUSTOMERS}`,
      channel: 'email',
      campaignId: `campaign-${i % 3}`,
      // Half may wait for a slot (deferred), half may not (suppressed when capped).
      ...(i % 2 === 0 ? { expiresAt } : {}),
      payload: { n: i },
    }));

    // Act: every message sent twice at once through two instances, one of the two in a batch, then
    // retried once more through the third, while the other customers' messages come in beside it.
    const answers = new Map<string, Answer[]>();
    const record = (results: Answer[]) => {
      for (const r of results) answers.set(r.messageId, [...(answers.get(r.messageId) ?? []), r]);
    };
    const chunks = Array.from({ length: PER_CUSTOMER }, (_, k) =>
      messages.slice(k * CUSTOMERS, (k + 1) * CUSTOMERS),
    );
    await Promise.all(
      chunks.map(async (chunk, k) => {
        const batchOn = k % 3;
        await Promise.all([
          call(batchOn, 'POST', '/v1/messages/batch', { messages: chunk }).then((out) =>
            record((out as { results: Answer[] }).results),
          ),
          ...chunk.map((m, j) =>
            call((batchOn + 1 + (j % 2)) % 3, 'POST', '/v1/messages', m).then((out) =>
              record([out as Answer]),
            ),
          ),
        ]);
      }),
    );
    await Promise.all(
      messages.map((m, i) => call(i % 3, 'POST', '/v1/messages', m).then((out) => record([out as Answer]))),
    );

    // Assess: one answer per message, whichever instance gave it.
    const differing = [...answers].filter(([, all]) => new Set(all.map((a) => JSON.stringify(a))).size > 1);
    expect(differing).toEqual([]);
    expect([...answers.values()].every((all) => all.length === 3 && all[0]?.decision !== undefined)).toBe(
      true,
    );

    // Assess: the customers' logs, as written (each entry at its writer's time, a deferral at its slot).
    Object.assign(process.env, engines.ready.engines.env); // the engines' (dummy) credentials for the SDK
    const root = createRoot(loadConfig({ ...engines.ready.engines.env, GOVERNOR_POLICY_TTL_MS: '0' }));
    const overshoots: string[] = [];
    let decisionsInLogs = 0;
    for (let c = 0; c < CUSTOMERS; c++) {
      const customerId = `${run}-c${c}`;
      const replayed = await root.customers.read(customerId);
      decisionsInLogs += replayed?.state.decisions.size ?? 0;
      const sends = (replayed?.state.sends ?? []).map((s) => s.at).sort((a, b) => a - b);
      for (let i = 1; i < sends.length; i++) {
        const apart = (sends[i] ?? 0) - (sends[i - 1] ?? 0);
        if (apart < HOUR) overshoots.push(`${customerId}: two sends ${apart} ms apart (1/PT1H)`);
        if (apart < GAP) overshoots.push(`${customerId}: two sends ${apart} ms apart (10-minute gap)`);
      }
      for (let i = 3; i < sends.length; i++)
        if ((sends[i] ?? 0) - (sends[i - 3] ?? 0) < WEEK)
          overshoots.push(`${customerId}: four sends in 7 days`);
    }
    expect(overshoots).toEqual([]);
    expect(decisionsInLogs).toBe(messages.length);

    // Assess: finance counts each message's decision once, as it was answered.
    const byDecision = (d: string) => [...answers.values()].filter((all) => all[0]?.decision === d).length;
    // Every month the decisions may fall on, to the fastest instance's: a run across a month's end splits them.
    const months = monthsOf([firstDay, utcDay(Date.now() + Math.max(...OFFSETS_MS))]);
    const summary: Record<string, number> = {};
    for (const month of months) {
      const figures = (await call(1, 'GET', `/v1/reports/summary?month=${month}`)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(figures))
        if (typeof value === 'number') summary[name] = (summary[name] ?? 0) + value;
    }
    // (The first test's two transactional messages are counted too: one accepted, one suppressed.)
    expect(summary).toMatchObject({
      requested: messages.length + 2,
      accepted: byDecision('accepted') + 1,
      deferred: byDecision('deferred'),
      suppressed: byDecision('suppressed') + 1,
    });
    expect(byDecision('accepted')).toBe(CUSTOMERS);
    expect(byDecision('deferred')).toBeGreaterThan(0);
  }, 180_000);
});
