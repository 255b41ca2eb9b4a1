/**
 * A holdout experiment over HTTP: 10,000 customers sent two marketing messages each through the local
 * stack, their provider's events posted back, then GET /v1/reports/experiments/{id}: the arms hold their
 * configured shares (±2%), and every count equals what the decisions said (each decision names its arm)
 * and what the events posted.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

let stack: TestStack;
const CUSTOMERS = 10_000;
const EMAIL_COST = 0.001;
const shares = { holdout: 0.1, governed: 0.6, silent: 0.3 } as const;
type Arm = keyof typeof shares;
const policy = {
  caps: [{ id: 'daily', limit: 1, window: 'P1D', match: {} }],
  relevance: { default: 0, pressureSlope: 0 },
  channelCosts: { email: EMAIL_COST, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
  experiments: [
    {
      id: 'lift',
      salt: 'lift-2026',
      arms: [
        { id: 'holdout', share: shares.holdout, policy: 'control' },
        { id: 'governed', share: shares.governed, policy: 'current' },
        { id: 'silent', share: shares.silent, policy: { caps: [{ id: 'none', limit: 0, window: 'P1D' }] } },
      ],
    },
  ],
};

type Decision = { messageId: string; decision: string; experiment?: { id: string; arm: string } };
interface Expected {
  customers: number;
  decisions: number;
  delivered: number;
  suppressed: number;
  opens: number;
  clicks: number;
  unsubscribes: number;
  complaints: number;
}
const expected = new Map<string, Expected>();
const armOfCustomer = new Map<string, string>();
let report: {
  arms: ({ arm: string; avoidedCost: number; deliveredPerCustomer: number | null } & Expected)[];
  differences: {
    arm: string;
    versus: string;
    metric: string;
    difference: number;
    low: number;
    high: number;
  }[];
};

const customer = (i: number) => `exp-${i}`;
/**
 * The in-process stack's clock (and the test's): noon of a mid-month day, moving at the real pace, so that
 * the decisions and the report's day are one UTC day, whatever the hour the test runs at.
 */
const NOON = Date.UTC(2026, 5, 15, 12);
const DAY = '2026-06-15';
const tally = (arm: string) => {
  let e = expected.get(arm);
  if (!e) {
    e = {
      customers: 0,
      decisions: 0,
      delivered: 0,
      suppressed: 0,
      opens: 0,
      clicks: 0,
      unsubscribes: 0,
      complaints: 0,
    };
    expected.set(arm, e);
  }
  return e;
};

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'], now: NOON, shouldAdvanceTime: true });
  stack = await startTestStack({ env: { GOVERNOR_POLICY_TTL_MS: '0', GOVERNOR_COUNT_FLUSH_MS: '0' } });
  const put = await stack.request('PUT', '/v1/policy', { body: policy, headers: { 'if-match': '*' } });
  expect(put.status).toBe(200);

  // Two messages to each customer, 250 customers a batch.
  for (let first = 0; first < CUSTOMERS; first += 250) {
    const messages = [];
    for (let i = first; i < first + 250; i++)
      for (const n of [1, 2])
        messages.push({
          messageId: `${customer(i)}-m${n}`,
          customerId: customer(i),
          channel: 'email',
          payload: {},
        });
    const response = await stack.request('POST', '/v1/messages/batch', { body: { messages } });
    expect(response.status).toBe(200);
    const { results } = response.json<{ results: Decision[] }>();
    const events = [];
    for (const [j, d] of results.entries()) {
      const customerId = messages[j]?.customerId as string;
      const arm = d.experiment?.arm as string;
      const e = tally(arm);
      if (!armOfCustomer.has(customerId)) {
        armOfCustomer.set(customerId, arm);
        e.customers++;
      }
      e.decisions++;
      if (d.decision === 'accepted') {
        e.delivered++;
        const at = new Date().toISOString();
        const i = Number(customerId.slice(4));
        events.push({ customerId, messageId: d.messageId, channel: 'email', type: 'delivered', at });
        if (i % 3 === 0)
          events.push({ customerId, messageId: d.messageId, channel: 'email', type: 'opened', at });
        if (i % 7 === 0 && d.messageId.endsWith('m1')) {
          events.push({ customerId, messageId: d.messageId, channel: 'email', type: 'clicked', at });
          e.clicks++;
        }
        if (i % 3 === 0) e.opens++;
        if (i % 50 === 0 && d.messageId.endsWith('m2')) {
          events.push({ customerId, messageId: d.messageId, channel: 'email', type: 'unsubscribed', at });
          e.unsubscribes++;
        }
      } else if (d.decision === 'suppressed') e.suppressed++;
    }
    for (let k = 0; k < events.length; k += 500) {
      const posted = await stack.request('POST', '/v1/events', { body: events.slice(k, k + 500) });
      expect(posted.status).toBe(202);
    }
  }
  expect(new Date().toISOString().slice(0, 10)).toBe(DAY);
  const response = await stack.request('GET', `/v1/reports/experiments/lift?from=${DAY}&to=${DAY}`);
  expect(response.status).toBe(200);
  report = response.json();
}, 900_000);
afterAll(async () => {
  await stack?.stop();
  vi.useRealTimers();
});

describe('GET /v1/reports/experiments/{id}', () => {
  it('splits the customers into the arms in the configured shares (±2% over 10,000 customers)', () => {
    expect(armOfCustomer.size).toBe(CUSTOMERS);
    for (const arm of Object.keys(shares) as Arm[]) {
      const row = report.arms.find((a) => a.arm === arm);
      expect(Math.abs((row?.customers ?? 0) / CUSTOMERS - shares[arm])).toBeLessThan(0.02);
    }
  });

  it('counts per arm exactly what the decisions said and the events posted', () => {
    for (const row of report.arms) {
      const { arm, avoidedCost, deliveredPerCustomer, ...counts } = row;
      const e = expected.get(arm) as Expected;
      expect(counts).toMatchObject(e);
      expect(avoidedCost).toBeCloseTo(e.suppressed * EMAIL_COST, 9);
      expect(deliveredPerCustomer).toBeCloseTo(e.delivered / e.customers, 12);
    }
    expect(report.arms.map((a) => a.arm).sort()).toEqual(['governed', 'holdout', 'silent']);
  });

  it('decides each arm under its own policy: no caps, the policy’s, none sent', () => {
    const arm = (id: string) => report.arms.find((a) => a.arm === id);
    expect(arm('holdout')?.deliveredPerCustomer).toBe(2);
    expect(arm('governed')?.deliveredPerCustomer).toBe(1);
    expect(arm('silent')?.deliveredPerCustomer).toBe(0);
  });

  it('gives a 95% interval around each difference between two arms', () => {
    const d = report.differences.find(
      (x) => x.arm === 'holdout' && x.versus === 'governed' && x.metric === 'deliveredPerCustomer',
    );
    expect(d?.difference).toBeCloseTo(1, 12);
    expect(d && d.low < 1 && d.high > 1).toBe(true);
  });
});
