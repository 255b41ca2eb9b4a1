/**
 * A provider slower than its timeout, as a real HTTP receiver that takes longer to answer than Governor
 * waits (it processes each request all the same): dispatch does not hammer it. A timeout is not retried
 * in the same receive, the next send gets more time, the message comes back later each time, and when
 * it finally goes to the DLQ the reason and a metric say that the provider was slow.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Engines, startEngines } from '#local/engines.ts';
import { createDocumentClient } from '#shared/adapters/dynamodb/client.ts';
import { DynamoDeliveryLedger } from '#shared/adapters/dynamodb/delivery-ledger.ts';
import { WebhookProvider } from '#shared/adapters/providers/webhook.ts';
import { type DispatchDeps, type DispatchResult, dispatchRecord } from '#shared/app/dispatch.ts';
import { loadConfig } from '#shared/config.ts';
import { metrics } from '#shared/observability/index.ts';
import type { DeadLetter, Delivery } from '#shared/ports.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = 'slow-provider-secret-0123456789';
const TIMEOUT_MS = 200;
let dataDir: string;
let engines: Engines;
let ledger: DynamoDeliveryLedger;
let receiver: WebhookReceiver;
let n = 0;

const aDelivery = (): Delivery => ({
  messageId: `slow-${++n}-${Date.now().toString(36)}`,
  customerId: `c-${n}`,
  channel: 'email',
  kind: 'marketing',
  payload: { to: 'someone@example.com' },
  acceptedAt: new Date(0).toISOString(),
  policyVersion: 1,
});

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-slow-'));
  engines = await startEngines({ dataDir });
  Object.assign(process.env, engines.env); // credentials for the SDK
  ledger = new DynamoDeliveryLedger(createDocumentClient(loadConfig(engines.env)), engines.tableName);
  receiver = await startWebhookReceiver(SECRET);
});

afterAll(async () => {
  await receiver?.close();
  await engines?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Delivers one message the way the queue would: receive after receive, each after the delay dispatch
 * asked for, on an injected clock that moves only by those delays (so every failure looks "quick").
 */
async function deliverThroughTheQueue(maxReceives: number) {
  let clock = 1_800_000_000_000;
  const deadLetters: DeadLetter[] = [];
  const provider = new WebhookProvider(async () => ({ url: receiver.url, secret: SECRET }), TIMEOUT_MS);
  const deps: DispatchDeps = {
    providerFor: () => provider,
    ledger,
    redelivery: {
      retryLater: async () => {},
      deadLetter: async (letter) => {
        deadLetters.push(letter);
      },
    },
    retry: { maxReceives, baseMs: 1000, maxMs: 900_000 },
    clock: { now: () => clock },
    random: () => 0,
    sleep: async () => {},
  };
  const delivery = aDelivery();
  const results: DispatchResult[] = [];
  for (let receive = 1; receive <= maxReceives; receive++) {
    const result = await dispatchRecord(deps, {
      body: JSON.stringify(delivery),
      receiptHandle: `rh-${receive}`,
      receiveCount: receive,
    });
    results.push(result);
    if (result.outcome !== 'retry') break;
    clock += result.delaySeconds * 1000 + 1;
  }
  // The receiver answers its last requests after dispatch gave up on them.
  await receiver.waitFor(() => receiver.pending === 0, 30_000);
  const requests =
    (receiver.arrivals.has(delivery.messageId) ? 1 : 0) + (receiver.replays.get(delivery.messageId) ?? 0);
  return { results, requests, deadLetters };
}

describe('a provider slower than its timeout', () => {
  it('is sent a message again only once, with more time, after a timeout — not at the pace of a fast failure', async () => {
    // The receiver takes 1.5 × the timeout: every first attempt times out, though the receiver has the message.
    receiver.delayMs = TIMEOUT_MS * 1.5;

    const { results, requests } = await deliverThroughTheQueue(15);

    expect(results.map((r) => r.outcome)).toEqual(['retry', 'delivered']);
    // Not before twice the timeout, although the clock says the timeout came at once.
    expect(results[0]).toMatchObject({ reason: 'timeout' });
    expect((results[0] as { delaySeconds: number }).delaySeconds * 1000).toBeGreaterThanOrEqual(
      2 * TIMEOUT_MS,
    );
    // Two requests at most (the first may be cut short before the receiver takes it on a loaded machine).
    expect(requests).toBeGreaterThanOrEqual(1);
    expect(requests).toBeLessThanOrEqual(2);
  });

  it('is dead-lettered at last with a reason and a metric that say it was slow, each retry spaced further', async () => {
    // Slower than the longest timeout dispatch allows it (4 × its own).
    receiver.delayMs = TIMEOUT_MS * 5;
    const metric = vi.spyOn(metrics, 'singleMetric');

    const { results, requests, deadLetters } = await deliverThroughTheQueue(4);

    expect(results.map((r) => r.outcome)).toEqual(['retry', 'retry', 'retry', 'dead_lettered']);
    const delays = results.slice(0, 3).map((r) => (r as { delaySeconds: number }).delaySeconds);
    expect(delays[1]).toBeGreaterThan(delays[0] ?? 0);
    expect(delays[2]).toBeGreaterThan(delays[1] ?? 0);
    expect(requests).toBe(4);
    expect(deadLetters[0]?.reason).toBe(`retries_exhausted:slow_provider:timeout_${4 * TIMEOUT_MS}ms`);
    expect(metric).toHaveBeenCalledTimes(4);
  });
});
