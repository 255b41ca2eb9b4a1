/**
 * Finance's reports reconcile exactly with the decisions the API returned: reason by reason, campaign
 * by campaign, and avoided cost = count × unit cost of each channel.
 */

import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#shared/adapters/dynamodb/client.ts';
import { daysBetween, type MonthlySummary } from '#shared/app/reports.ts';
import { loadConfig } from '#shared/config.ts';
import { parseGroupKey } from '#shared/domain/tally.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { seeded } from '../unit/builders.ts';

let stack: TestStack;
const costs = { email: 0.0012, sms: 0.0475, push: 0.0003, whatsapp: 0.0385, currency: 'EUR' };
const policy = {
  caps: [
    { id: 'weekly', limit: 4, window: 'P7D', match: {} },
    { id: 'sms-weekly', limit: 1, window: 'P7D', match: { channel: 'sms' } },
    { id: 'gap', minGap: 'PT1M', match: { channel: 'push' } },
  ],
  relevance: { default: 0.3, byChannel: { sms: 0.5 }, pressureSlope: 0.3 },
  channelCosts: costs,
};
const CHANNELS = ['email', 'sms', 'push', 'whatsapp'] as const;
const CAMPAIGNS = ['black-friday', 'newsletter-47', 'winback', 'restock'];
const CUSTOMERS = 300;

/** A seeded generator, so the workload is the same on every run. */
const random = (seed: number) => seeded(seed).next;

type Decision = { messageId: string; decision: string; reason?: string; channel: string };
/**
 * A message as the platform saw it: its first answer, and, for one answered deferred, what it became
 * since when that was a suppression (a more relevant message took its slot: `preempted`), read from
 * `GET /v1/messages/{messageId}`. Finance counts both: the deferral, then the suppression after it.
 */
type Sent = { message: Record<string, unknown>; first: Decision; later?: Decision | undefined };
/** Whether and why the message ended suppressed: at its decision, or after it. */
const suppression = (s: Sent) =>
  s.first.decision === 'suppressed' ? s.first : s.later?.decision === 'suppressed' ? s.later : undefined;

const today = () => new Date().toISOString().slice(0, 10);
/**
 * The UTC days the workload's counts can fall on: from the day it started to the day it is when asked,
 * read from the clock the in-process server uses, so that a run across midnight UTC (or a month's end)
 * still finds every count.
 */
let firstDay = today();
const period = () => ({ from: firstDay, to: today() });
const span = () => `from=${period().from}&to=${period().to}`;
const spanDays = () => daysBetween(firstDay, today());

async function workload(prefix: string, count: number, seed: number): Promise<Sent[]> {
  const rand = random(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
  const now = Date.now();
  const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
  // A tenth of the customers opted out of SMS, a tenth are in quiet hours right now, a few unsubscribed.
  for (let c = 0; c < CUSTOMERS; c += 10) {
    await stack.request('PUT', `/v1/customers/${prefix}-c${c}/preferences`, {
      body: { channels: { sms: { optIn: false, source: 'preference-centre' } }, topics: { promos: false } },
    });
    await stack.request('PUT', `/v1/customers/${prefix}-c${c + 1}/preferences`, {
      body: { timezone: 'UTC', quietHours: { start: hhmm(now - 3600_000), end: hhmm(now + 3600_000) } },
    });
  }
  const messages = Array.from({ length: count }, (_, i) => ({
    messageId: `${prefix}-m${i}`,
    customerId: `${prefix}-c${Math.floor(rand() * CUSTOMERS)}`,
    channel: pick(CHANNELS),
    kind: rand() < 0.05 ? 'transactional' : 'marketing',
    category: rand() < 0.2 ? 'promos' : 'news',
    campaignId: pick(CAMPAIGNS),
    relevance: Math.round(rand() * 100) / 100,
    ...(rand() < 0.3
      ? { expiresAt: new Date(now + (rand() < 0.5 ? 0.5 : 200) * 3600_000).toISOString() }
      : {}),
    payload: { body: 'x' },
  }));
  const firsts = new Map<string, Decision>();
  // Batches of 500 with a tenth of each batch retried in the next one, and some single sends.
  for (let i = 0; i < messages.length; i += 500) {
    const retries = i > 0 ? messages.slice(i - 50, i) : [];
    const chunk = [...messages.slice(i, i + 450), ...retries];
    const response = await stack.request('POST', '/v1/messages/batch', { body: { messages: chunk } });
    expect(response.status).toBe(200);
    const { results } = response.json<{ results: Decision[] }>();
    results.forEach((r, j) => {
      const id = (chunk[j] as { messageId: string }).messageId;
      const first = firsts.get(id);
      if (first) expect(r).toEqual(first);
      else firsts.set(id, r);
    });
    for (const message of messages.slice(i + 450, i + 500)) {
      const single = await stack.request('POST', '/v1/messages', { body: message });
      firsts.set(message.messageId, single.json());
    }
  }
  const sent: Sent[] = messages.map((message) => ({
    message,
    first: firsts.get(message.messageId) as Decision,
  }));
  for (const s of sent) {
    if (s.first.decision !== 'deferred') continue;
    const { messageId, customerId } = s.message as { messageId: string; customerId: string };
    const response = await stack.request('GET', `/v1/messages/${messageId}?customerId=${customerId}`);
    expect(response.status).toBe(200);
    const state = response.json<{ status: string; reason?: string; channel?: string }>();
    if (state.status === 'suppressed')
      s.later = {
        messageId,
        decision: 'suppressed',
        reason: state.reason as string,
        channel: s.first.channel,
      };
  }
  return sent;
}

function expectedCounts(sent: Sent[], key: (s: Sent) => string) {
  const counts = new Map<string, number>();
  for (const s of sent) {
    if (!suppression(s)) continue;
    counts.set(key(s), (counts.get(key(s)) ?? 0) + 1);
  }
  return counts;
}

beforeAll(async () => {
  // Counts written at the end of each request, as on Lambda, so a report right after a send sees it.
  stack = await startTestStack({ env: { GOVERNOR_COUNT_FLUSH_MS: '0' } });
  const response = await stack.request('PUT', '/v1/policy', { body: policy, headers: { 'if-match': '*' } });
  expect(response.status).toBe(200);
});

afterAll(async () => {
  await stack?.stop();
});

describe('GET /v1/reports/suppressed', () => {
  let sent: Sent[];

  beforeAll(async () => {
    firstDay = today();
    sent = await workload('fin', 5000, 47);
  }, 240_000);

  it('used every kind of suppression in the workload', () => {
    const reasons = new Set(sent.filter((s) => s.first.decision === 'suppressed').map((s) => s.first.reason));
    for (const reason of [
      'frequency_cap',
      'relevance_below_threshold',
      'opted_out',
      'topic_opted_out',
      'quiet_hours_expired',
    ]) {
      expect(reasons).toContain(reason);
    }
    expect(sent.some((s) => s.first.decision === 'deferred')).toBe(true);
    expect(sent.some((s) => s.first.decision === 'accepted')).toBe(true);
  });

  it('counts what the API returned, reason by reason and campaign by campaign', async () => {
    const response = await stack.request('GET', `/v1/reports/suppressed?${span()}&groupBy=reason,campaign`);
    expect(response.status).toBe(200);
    const report = response.json();
    const expected = expectedCounts(sent, (s) => `${suppression(s)?.reason}|${s.message.campaignId}`);
    const actual = new Map<string, number>(
      report.rows.map((r: { reason: string; campaignId: string; count: number }) => [
        `${r.reason}|${r.campaignId}`,
        r.count,
      ]),
    );
    expect(actual).toEqual(expected);
    expect(report.totals.count).toBe([...expected.values()].reduce((a, b) => a + b, 0));
    expect(report).toMatchObject({ currency: 'EUR', period: { from: firstDay } });
    expect(report.policyVersions).toEqual([1]);
  });

  it('prices avoided cost at count × unit cost for each channel, to the cent', async () => {
    const response = await stack.request('GET', `/v1/reports/suppressed?${span()}&groupBy=channel`);
    const report = response.json();
    const counts = expectedCounts(sent, (s) => s.first.channel);
    expect(report.rows).toHaveLength(counts.size);
    for (const row of report.rows as { channel: keyof typeof costs; count: number; avoidedCost: number }[]) {
      expect(row.count).toBe(counts.get(row.channel));
      const expectedCost = (row.count * Math.round((costs[row.channel] as number) * 1e6)) / 1e6;
      expect(row.avoidedCost.toFixed(2)).toBe(expectedCost.toFixed(2));
      expect(row.avoidedCost).toBeCloseTo(expectedCost, 9);
    }
  });

  it('answers CSV with a header row when asked', async () => {
    const response = await stack.request('GET', `/v1/reports/suppressed?${span()}&groupBy=reason`, {
      headers: { accept: 'text/csv' },
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = response.text.split('\r\n').filter(Boolean);
    expect(lines[0]).toBe('reason,count,avoidedCost,currency');
    const total = lines.slice(1).reduce((n, line) => n + Number(line.split(',')[1]), 0);
    expect(total).toBe(sent.filter(suppression).length);
  });

  it('summarises the month for a finance review, its avoided cost priced from the traffic sent', async () => {
    // The months the workload's days fall in (two when it ran across a month's end), summed.
    const months = [...new Set(spanDays().map((d) => d.slice(0, 7)))];
    const summaries: MonthlySummary[] = [];
    for (const month of months) {
      const response = await stack.request('GET', `/v1/reports/summary?month=${month}`);
      expect(response.status).toBe(200);
      summaries.push(response.json());
    }
    const total = (field: 'requested' | 'accepted' | 'deferred' | 'suppressed' | 'avoidedCost') =>
      summaries.reduce((n, summary) => n + summary[field], 0);
    const count = (d: string) => sent.filter((s) => s.first.decision === d).length;
    const suppressed = sent.filter(suppression);
    const micros = suppressed.reduce(
      (n, s) => n + Math.round(costs[s.first.channel as (typeof CHANNELS)[number]] * 1_000_000),
      0,
    );
    expect({
      requested: total('requested'),
      accepted: total('accepted'),
      deferred: total('deferred'),
      suppressed: total('suppressed'),
    }).toEqual({
      requested: sent.length,
      accepted: count('accepted'),
      deferred: count('deferred'),
      suppressed: suppressed.length,
    });
    expect(total('avoidedCost')).toBeCloseTo(micros / 1_000_000, 6);
    expect(summaries[0]).toMatchObject({ month: months[0], currency: 'EUR' });
    if (months.length === 1)
      expect(summaries[0]?.suppressionRate).toBeCloseTo(suppressed.length / sent.length, 9);
  });

  it('keeps the counts of an erased customer', async () => {
    const before = (await stack.request('GET', `/v1/reports/suppressed?${span()}&groupBy=reason`)).json();
    const victim = sent.find((s) => s.first.decision === 'suppressed')?.message.customerId as string;
    expect((await stack.request('DELETE', `/v1/customers/${victim}`)).status).toBe(200);
    const after = (await stack.request('GET', `/v1/reports/suppressed?${span()}&groupBy=reason`)).json();
    // Its counts stay; its deferred messages are now suppressed as erased.
    const held = sent.filter(
      (s) => s.message.customerId === victim && s.first.decision === 'deferred' && !s.later,
    ).length;
    expect(after.rows.filter((r: { reason: string }) => r.reason !== 'erased')).toEqual(before.rows);
    expect(after.rows.find((r: { reason: string }) => r.reason === 'erased')?.count ?? 0).toBe(held);
    const reconciled = (
      await stack.request('POST', '/v1/reports/reconcile', { body: { days: spanDays() } })
    ).json();
    expect(reconciled).toMatchObject({ inLogs: sent.length, counted: sent.length, corrected: 0 });
  });

  it('restores counts lost between decision and count with the reconciliation', async () => {
    const expected = (
      await stack.request('GET', `/v1/reports/suppressed?${span()}&groupBy=reason,campaign`)
    ).json();
    // Lose some counts, as a process dying after its decisions and before its count would.
    const db = createDocumentClient(
      loadConfig({ ...process.env, GOVERNOR_DYNAMODB_ENDPOINT: stack.engines.dynamoEndpoint }),
    );
    const items = [];
    for (const day of spanDays())
      for (let shard = 0; shard < 8; shard++) {
        const page = await db.send(
          new QueryCommand({
            TableName: 'governor',
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': `TALLY#${day}#${shard}` },
          }),
        );
        items.push(...(page.Items ?? []));
      }
    // The counts of decisions, suppressions among them, go; what came after a decision (a pre-emption's
    // `preempted`, a release, an erasure) stays (test/integration/reconcile.test.ts loses those).
    const atDecision = (item: Record<string, unknown>, key: string) =>
      parseGroupKey(String(item.pk).split('#')[1] ?? '', key).stage === 'decision';
    const live = items
      .filter((i) => i.k === 'live' && !String(i.sk).startsWith('live#erased-'))
      .filter((i) =>
        Object.keys(i.g as object).some((key) => key.includes('"suppressed"') && atDecision(i, key)),
      )
      .slice(0, 3);
    expect(live.length).toBeGreaterThan(0);
    for (const item of live) {
      const kept = Object.entries(item.g as Record<string, number>).filter(([key]) => !atDecision(item, key));
      if (kept.length === 0)
        await db.send(new DeleteCommand({ TableName: 'governor', Key: { pk: item.pk, sk: item.sk } }));
      else
        await db.send(
          new PutCommand({ TableName: 'governor', Item: { ...item, g: Object.fromEntries(kept) } }),
        );
    }
    const damaged = (
      await stack.request('GET', `/v1/reports/suppressed?${span()}&groupBy=reason,campaign`)
    ).json();
    expect(damaged.totals.count).toBeLessThan(expected.totals.count);

    const first = (
      await stack.request('POST', '/v1/reports/reconcile', { body: { days: spanDays() } })
    ).json();
    expect(first.corrected).toBeGreaterThan(0);
    const repaired = (
      await stack.request('GET', `/v1/reports/suppressed?${span()}&groupBy=reason,campaign`)
    ).json();
    expect(repaired.rows).toEqual(expected.rows);
    const again = (
      await stack.request('POST', '/v1/reports/reconcile', { body: { days: spanDays() } })
    ).json();
    expect(again.corrected).toBe(0);
  });

  it.each([
    ['from after to', 'from=2026-02-01&to=2026-01-01'],
    ['over 366 days', 'from=2025-01-01&to=2026-06-01'],
    ['an unknown groupBy', 'from=2026-01-01&to=2026-01-02&groupBy=planet'],
    ['a malformed date', 'from=2026-13-01&to=2026-12-02'],
    ['no dates', ''],
  ])('rejects %s with a problem', async (_, query) => {
    const response = await stack.request('GET', `/v1/reports/suppressed?${query}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });
});
