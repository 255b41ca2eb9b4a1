/**
 * Counts stay exact through a crash: the local stack is killed (SIGKILL) in the middle of a run, with
 * batches in flight whose decisions were written but not counted; the campaign platform retries what got
 * no answer, and after the documented reconciliation the report equals the decisions the API returned.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daysSince, monthsOf, utcDay } from '../support/calendar.ts';
import { type GovernorProcess, startGovernorProcess } from '../support/governor-process.ts';

const ADMIN_KEY = 'reports-fault-admin-key-0123456789';
const CUSTOMERS = 200;
const BATCHES = 12;
const BATCH = 250;
const CHANNELS = ['email', 'sms', 'push'] as const;
const CAMPAIGNS = ['spring', 'restock', 'winback'];

type Decision = { messageId: string; decision: string; reason?: string; channel: string };

let dataDir: string;
let governor: GovernorProcess | undefined;

async function call(method: string, path: string, body?: unknown) {
  if (!governor) throw new Error('Governor is not running');
  const response = await fetch(new URL(path, governor.url), {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', 'if-match': '*' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the test reads the JSON it asserts on.
  return { status: response.status, body: (await response.json()) as any };
}

const env = () => ({
  GOVERNOR_DATA_DIR: dataDir,
  GOVERNOR_ADMIN_KEY: ADMIN_KEY,
  GOVERNOR_POLICY_TTL_MS: '0',
  // Counts written at the end of each request, as on Lambda: the reconciliation flushes its own API
  // instance's counts, not the other instances' (their last second of counts would be corrected, then
  // written too). The kill still falls between decisions and their counts.
  GOVERNOR_COUNT_FLUSH_MS: '0',
});

function batches() {
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  return Array.from({ length: BATCHES }, (_, b) =>
    Array.from({ length: BATCH }, (_, i) => ({
      messageId: `rf-${b}-${i}`,
      customerId: `rf-c${Math.floor(rand() * CUSTOMERS)}`,
      channel: CHANNELS[Math.floor(rand() * CHANNELS.length)],
      campaignId: CAMPAIGNS[Math.floor(rand() * CAMPAIGNS.length)],
      relevance: Math.round(rand() * 100) / 100,
      payload: { n: i },
    })),
  );
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-reports-fault-'));
  governor = await startGovernorProcess(env());
  const put = await call('PUT', '/v1/policy', {
    caps: [
      { id: 'weekly', limit: 5, window: 'P7D' },
      { id: 'sms', limit: 1, window: 'P7D', match: { channel: 'sms' } },
    ],
    relevance: { default: 0.25, pressureSlope: 0.3 },
    channelCosts: { email: 0.0011, sms: 0.0493, push: 0.0004, whatsapp: 0.04, currency: 'EUR' },
  });
  expect(put.status).toBe(200);
});

afterAll(async () => {
  await governor?.kill('SIGTERM');
  await rm(dataDir, { recursive: true, force: true });
});

describe('counts after a SIGKILL', () => {
  it('equal the decisions returned, once the reconciliation ran', async () => {
    const firstDay = utcDay();
    const all = batches();
    const firsts = new Map<string, Decision>();
    const record = (results: Decision[]) => {
      for (const r of results) if (!firsts.has(r.messageId)) firsts.set(r.messageId, r);
    };
    // Half the batches, then four at once with the process killed while they are in flight: as soon as
    // the server shows a decision of the last of them (its log holds it), before that batch is answered,
    // so before its counts are written.
    for (const batch of all.slice(0, 6))
      record((await call('POST', '/v1/messages/batch', { messages: batch })).body.results);
    let lastAnswered = false;
    const inFlight = all.slice(6, 10).map((batch, i) =>
      call('POST', '/v1/messages/batch', { messages: batch })
        .then((answer) => {
          if (i === 3) lastAnswered = true;
          return answer;
        })
        .catch(() => undefined),
    );
    const watched = all[9]![0]!;
    for (;;) {
      const lookup = await call('GET', `/v1/customers/${watched.customerId}?messageId=${watched.messageId}`);
      expect(lookup.status).toBe(200);
      if (lookup.body.message.found) break;
      expect(lastAnswered, 'the last batch was answered before a decision of it showed').toBe(false);
    }
    await governor?.kill('SIGKILL');
    const answered = await Promise.all(inFlight);
    expect(answered[3], 'the last batch in flight got no answer').toBeUndefined();
    for (const a of answered) if (a?.status === 200) record(a.body.results);

    governor = await startGovernorProcess(env());
    // The platform retries every batch it got no answer for, then sends the rest.
    for (const [i, batch] of all.slice(6).entries()) {
      if (i < 4 && answered[i]?.status === 200) continue;
      const response = await call('POST', '/v1/messages/batch', { messages: batch });
      expect(response.status).toBe(200);
      record(response.body.results);
    }
    expect(firsts.size).toBe(BATCHES * BATCH);

    // Every day the decisions may fall on (a run across midnight UTC splits them).
    const days = daysSince(firstDay);
    const reconciled = await call('POST', '/v1/reports/reconcile', { days });
    expect(reconciled.status).toBe(200);
    expect(reconciled.body.inLogs).toBe(BATCHES * BATCH);
    // The kill fell where it had to: decisions written whose counts were lost, which reconciling adds.
    expect(reconciled.body.corrected).toBeGreaterThan(0);

    const report = (
      await call(
        'GET',
        `/v1/reports/suppressed?from=${days[0]}&to=${days.at(-1)}&groupBy=reason,campaign,channel`,
      )
    ).body;
    const expected = new Map<string, number>();
    const campaignOf = new Map(all.flat().map((m) => [m.messageId, m.campaignId]));
    for (const d of firsts.values()) {
      if (d.decision !== 'suppressed') continue;
      const key = `${d.reason}|${campaignOf.get(d.messageId)}|${d.channel}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const actual = new Map<string, number>(
      report.rows.map((r: { reason: string; campaignId: string; channel: string; count: number }) => [
        `${r.reason}|${r.campaignId}|${r.channel}`,
        r.count,
      ]),
    );
    expect(actual).toEqual(expected);
    let requested = 0;
    for (const month of monthsOf(days))
      requested += (await call('GET', `/v1/reports/summary?month=${month}`)).body.requested;
    expect(requested).toBe(BATCHES * BATCH);

    const again = await call('POST', '/v1/reports/reconcile', { days });
    expect(again.body.corrected).toBe(0);
  }, 240_000);
});
