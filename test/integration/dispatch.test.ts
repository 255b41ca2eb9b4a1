/**
 * Dispatch on the real engines (dynalite for the ledger, fauxqs for the queue and the DLQ) and a real
 * webhook receiver: the Lambda handler answers partial batch failures, never sends a message twice,
 * backs off transient failures, dead-letters permanent ones with their reason, and bounds the retries.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Message, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Engines, startEngines } from '#local/engines.ts';
import { createLambdaContext } from '#local/http-server.ts';
import { toSqsEvent } from '#local/workers.ts';
import { createDocumentClient } from '#shared/adapters/dynamodb/client.ts';
import { DynamoDeliveryLedger } from '#shared/adapters/dynamodb/delivery-ledger.ts';
import { TokenBucketLimiter } from '#shared/app/channel-rate-limit.ts';
import { type DispatchDeps, dispatchRecord, retryDelaySeconds } from '#shared/app/dispatch.ts';
import { loadConfig } from '#shared/config.ts';
import type { DeadLetter, Delivery, Provider, SendResult } from '#shared/ports.ts';

const SECRET = 'dispatch-test-secret-0123456789';
let dataDir: string;
let engines: Engines;
let sqs: SQSClient;
let ledger: DynamoDeliveryLedger;
let hook: Server;
/** Requests the webhook received, by Idempotency-Key. */
const hits = new Map<string, number>();
let n = 0;

function aDelivery(prefix: string, overrides: Partial<Delivery> = {}): Delivery {
  n++;
  return {
    messageId: `${prefix}-${n}`,
    customerId: `cust-${n}`,
    channel: 'email',
    kind: 'marketing',
    payload: { subject: 'hi' },
    acceptedAt: new Date().toISOString(),
    policyVersion: 1,
    ...overrides,
  };
}

/** The webhook answers by the message id's prefix: ok → 200, busy → 503, bad → 400. */
function status(messageId: string): number {
  if (messageId.startsWith('busy')) return 503;
  if (messageId.startsWith('bad')) return 400;
  return 200;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-dispatch-'));
  engines = await startEngines({ dataDir });
  hook = createServer((req, res) => {
    const key = String(req.headers['idempotency-key']);
    hits.set(key, (hits.get(key) ?? 0) + 1);
    req.resume();
    req.on('end', () => res.writeHead(status(key)).end());
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  Object.assign(process.env, engines.env, {
    GOVERNOR_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`,
    GOVERNOR_WEBHOOK_SECRET: SECRET,
    GOVERNOR_HASH_SECRET: 'dispatch-test-hash-secret-0123456789abcdef',
    GOVERNOR_RETRY_BASE_MS: '60000',
    GOVERNOR_RETRY_MAX_S: '600',
    GOVERNOR_DELIVERY_MAX_RECEIVES: '15',
  });
  sqs = new SQSClient({ endpoint: engines.sqsEndpoint, region: 'us-east-1' });
  ledger = new DynamoDeliveryLedger(createDocumentClient(loadConfig(engines.env)), engines.tableName);
});

afterAll(async () => {
  hook?.closeAllConnections();
  await new Promise((resolve) => hook?.close(resolve));
  sqs?.destroy();
  await engines?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  vi.restoreAllMocks();
});

async function receive(queueUrl: string, count: number, visibility?: number): Promise<Message[]> {
  const got: Message[] = [];
  for (let i = 0; i < 20 && got.length < count; i++) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        ...(visibility !== undefined ? { VisibilityTimeout: visibility } : {}),
      }),
    );
    got.push(...(out.Messages ?? []));
  }
  return got;
}

/** Queues bodies on the delivery queue and receives them back as one Lambda event. */
async function queued(bodies: string[]): Promise<SQSEvent> {
  for (const body of bodies)
    await sqs.send(new SendMessageCommand({ QueueUrl: engines.deliveryQueueUrl, MessageBody: body }));
  const messages = await receive(engines.deliveryQueueUrl, bodies.length);
  expect(messages).toHaveLength(bodies.length);
  return toSqsEvent(messages, 'arn:aws:sqs:us-east-1:000000000000:governor-delivery', 'us-east-1');
}

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
const loadHandler = async () =>
  ((await import('#functions/dispatch/handler.ts')) as unknown as { handler: Handler }).handler;

describe('retryDelaySeconds', () => {
  const policy = { baseMs: 1000, maxMs: 300_000 };
  it.each([
    [1, 0, 0],
    [1, 0.999, 1],
    [2, 0.999, 2],
    [5, 0.5, 8],
    [10, 0.999, 300],
    [30, 0.999, 300],
  ])('on receive %i with jitter %f waits %i s', (receive, random, seconds) => {
    expect(retryDelaySeconds(receive, policy, () => random)).toBe(seconds);
  });

  it('waits at least what the provider asked for, at most 12 hours', () => {
    expect(retryDelaySeconds(1, policy, () => 0, 30_000)).toBe(30);
    expect(retryDelaySeconds(1, { baseMs: 1e9, maxMs: 1e9 }, () => 1)).toBe(43_200);
  });
});

describe('TokenBucketLimiter', () => {
  it('lets a second of burst through, then spaces sends at the channel rate', async () => {
    const now = 1_000_000;
    const waits: number[] = [];
    const limiter = new TokenBucketLimiter({ sms: 2 }, { now: () => now }, async (ms) => {
      waits.push(ms);
    });
    for (let i = 0; i < 5; i++) await limiter.acquire('sms');
    await limiter.acquire('email'); // no limit on email
    expect(waits).toEqual([500, 1000, 1500]);
  });
});

describe('dispatchRecord', () => {
  const deadLetters: DeadLetter[] = [];
  const retries: number[] = [];
  let clockNow = 1_000_000;
  const scripted = (results: SendResult[], takesMs = 10): Provider & { calls: number } => ({
    name: 'scripted',
    timeoutMs: 1000,
    calls: 0,
    async send() {
      this.calls++;
      clockNow += takesMs;
      return results.shift() ?? { ok: true };
    },
  });
  const deps = (provider: Provider): DispatchDeps => ({
    providerFor: () => provider,
    ledger,
    redelivery: {
      retryLater: async (_handle, seconds) => {
        retries.push(seconds);
      },
      deadLetter: async (letter) => {
        deadLetters.push(letter);
      },
    },
    retry: { maxReceives: 5, baseMs: 1000, maxMs: 60_000 },
    clock: { now: () => clockNow },
    random: () => 0.5,
    sleep: async () => {},
  });
  const record = (d: Delivery, receiveCount = 1) => ({
    body: JSON.stringify(d),
    receiptHandle: 'rh',
    receiveCount,
  });
  const busy: SendResult = { ok: false, permanent: false, reason: 'http_503' };

  beforeEach(() => {
    deadLetters.length = 0;
    retries.length = 0;
  });

  it('retries a fast transient failure once in the same receive', async () => {
    const provider = scripted([busy, { ok: true }]);
    expect(await dispatchRecord(deps(provider), record(aDelivery('ok')))).toEqual({ outcome: 'delivered' });
    expect(provider.calls).toBe(2);
  });

  it('gives a slow transient failure back to the queue with a jittered exponential delay', async () => {
    const provider = scripted([busy, busy], 1500);
    const result = await dispatchRecord(deps(provider), record(aDelivery('ok'), 3));
    expect(result).toEqual({ outcome: 'retry', reason: 'http_503', delaySeconds: 2 }); // 0.5 × 1 s × 2²
    expect(provider.calls).toBe(1);
    expect(retries).toEqual([2]);
  });

  it('dead-letters on the last allowed receive, with the reason', async () => {
    const provider = scripted([busy, busy], 1500);
    const d = aDelivery('ok');
    const result = await dispatchRecord(deps(provider), record(d, 5));
    expect(result).toEqual({ outcome: 'dead_lettered', reason: 'retries_exhausted:http_503' });
    expect(deadLetters).toEqual([
      {
        body: JSON.stringify(d),
        reason: 'retries_exhausted:http_503',
        receiveCount: 5,
        messageId: d.messageId,
        channel: 'email',
      },
    ]);
    expect(await ledger.get(d)).toMatchObject({ status: 'dead', reason: 'retries_exhausted:http_503' });
  });

  it('reports each terminal outcome once, with its latency', async () => {
    const outcomes: unknown[] = [];
    const d = aDelivery('ok', { acceptedAt: new Date(clockNow - 250).toISOString() });
    const provider = scripted([{ ok: true }], 0);
    await dispatchRecord({ ...deps(provider), onOutcome: (o) => outcomes.push(...o) }, record(d));
    await dispatchRecord({ ...deps(provider), onOutcome: (o) => outcomes.push(...o) }, record(d, 2));
    expect(outcomes).toEqual([
      expect.objectContaining({
        messageId: d.messageId,
        outcome: 'delivered',
        provider: 'scripted',
        latencyMs: 250,
      }),
    ]);
  });
});

describe('the dispatch handler', () => {
  it('reports only the record to retry as a batch item failure, delivers and dead-letters the others', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const ok = aDelivery('ok');
    const busy = aDelivery('busy');
    const bad = aDelivery('bad');
    const event = await queued([ok, busy, bad].map((d) => JSON.stringify(d)));
    const handler = await loadHandler();

    const response = await handler(event, createLambdaContext('dispatch-test'));

    const busyRecord = event.Records.find((r) => r.body.includes(busy.messageId));
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: busyRecord?.messageId }] });
    expect(await ledger.get(ok)).toMatchObject({ status: 'delivered' });
    expect(await ledger.get(busy)).toMatchObject({ status: 'retrying', reason: 'http_503' });
    expect(await ledger.get(bad)).toMatchObject({ status: 'dead', reason: 'http_400' });
    // The 503 is retried in the same receive once, then backs off: 0.5 × 60 s on the first receive.
    expect(hits.get(busy.messageId)).toBe(2);
    expect(await receive(engines.deliveryQueueUrl, 1)).toEqual([]);
    const [letter] = await receive(engines.dlqUrl, 1);
    expect(letter?.Body).toBe(JSON.stringify(bad));
    expect(letter?.MessageAttributes?.reason?.StringValue).toBe('http_400');
    expect(letter?.MessageAttributes?.messageId?.StringValue).toBe(bad.messageId);
  });

  it('acknowledges a redelivered message that was already delivered, without sending it again', async () => {
    const ok = aDelivery('ok');
    const handler = await loadHandler();
    await handler(await queued([JSON.stringify(ok)]), createLambdaContext('dispatch-test'));
    const again = await handler(await queued([JSON.stringify(ok)]), createLambdaContext('dispatch-test'));
    expect(again).toEqual({ batchItemFailures: [] });
    expect(hits.get(ok.messageId)).toBe(1);
  });

  it('sends a message to the DLQ once it has failed on the last allowed receive', async () => {
    const busy = aDelivery('busy');
    const event = await queued([JSON.stringify(busy)]);
    const [record] = event.Records;
    if (record) record.attributes.ApproximateReceiveCount = '15';
    const response = await (await loadHandler())(event, createLambdaContext('dispatch-test'));
    expect(response).toEqual({ batchItemFailures: [] });
    const [letter] = await receive(engines.dlqUrl, 1);
    expect(letter?.MessageAttributes?.reason?.StringValue).toBe('retries_exhausted:http_503');
  });

  it('dead-letters a body that is not a delivery', async () => {
    const response = await (await loadHandler())(await queued(['{"nope":true}']), createLambdaContext('t'));
    expect(response).toEqual({ batchItemFailures: [] });
    const [letter] = await receive(engines.dlqUrl, 1);
    expect(letter?.Body).toBe('{"nope":true}');
    expect(letter?.MessageAttributes?.reason?.StringValue).toBe('malformed_delivery');
  });

  it('leaves a message whose lease somebody else holds for later, without sending it', async () => {
    const ok = aDelivery('ok');
    await ledger.claim(ok, 'webhook', Date.now(), Date.now() + 60_000);
    const event = await queued([JSON.stringify(ok)]);
    const response = await (await loadHandler())(event, createLambdaContext('t'));
    expect(response.batchItemFailures).toHaveLength(1);
    expect(hits.get(ok.messageId)).toBeUndefined();
  });
});
