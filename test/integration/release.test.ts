/**
 * Release on the real engines with an injected clock: a deferred message is decided again at its
 * reserved time against the current preferences and policy, then queued, held again or dropped; runs
 * read only the due minutes, survive dying half-way, and two runs at once never deliver twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Engines, startEngines } from '#local/engines.ts';
import { fromDeferredItem } from '#shared/adapters/dynamodb/deferred-store.ts';
import { customerPk, deferredSk, RELEASE_CURSOR_SK, RELEASE_PK } from '#shared/adapters/dynamodb/keys.ts';
import { DynamoReleaseCursor } from '#shared/adapters/dynamodb/release-cursor.ts';
import { dispatchRecord } from '#shared/app/dispatch.ts';
import {
  INITIAL_LOOKBACK_MS,
  type ReleaseOutcome,
  releaseDue,
  releaseMarginMs,
} from '#shared/app/release.ts';
import { sendMessages } from '#shared/app/send.ts';
import { createDeliveryRoot, createRoot, type DeliveryRoot, type Root } from '#shared/composition.ts';
import { loadConfig } from '#shared/config.ts';
import type { MessageInput, PolicyDocumentInput } from '#shared/domain/schemas.ts';
import { messageSchema, policyDocumentSchema } from '#shared/domain/schemas.ts';
import type { Delivery, Provider } from '#shared/ports.ts';

const MINUTE = 60_000;
const HASH_SECRET = 'release-test-hash-secret-0123456789abcdef';
const HOUR = 60 * MINUTE;
let dataDir: string;
let engines: Engines;
let sqs: SQSClient;
let root: Root;
let delivery: DeliveryRoot;
const BASE = Date.parse('2026-11-25T09:00:00.000Z');
let day = 0;
let now = BASE;
const clock = { now: () => now };
let n = 0;
const released: ReleaseOutcome[] = [];

const policy: PolicyDocumentInput = {
  caps: [{ id: 'hourly', limit: 1, window: 'PT1H', match: {} }],
  relevance: { default: 0 },
  channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
};

function aMessage(customerId: string, overrides: Partial<MessageInput> = {}) {
  n++;
  return messageSchema.parse({
    messageId: `rel-${n}`,
    customerId,
    channel: 'email',
    payload: { subject: `message ${n}` },
    ...overrides,
  });
}

const releaseDeps = () => ({ ...delivery.release, onReleased: (o: ReleaseOutcome[]) => released.push(...o) });
const send = (messages: ReturnType<typeof aMessage>[]) =>
  sendMessages({ ...root, counter: undefined }, messages);

/** A customer whose hourly cap is full (one message now) and a second message deferred an hour. */
async function deferredMessage(overrides: Partial<MessageInput> = {}) {
  const customerId = `cust-${++n}`;
  const [first] = await send([aMessage(customerId)]);
  expect(first).toMatchObject({ decision: 'accepted' });
  const message = aMessage(customerId, { expiresAt: new Date(now + 3 * HOUR).toISOString(), ...overrides });
  const [answer] = await send([message]);
  expect(answer).toMatchObject({ decision: 'deferred' });
  return { customerId, message, releaseAt: Date.parse((answer as { releaseAt: string }).releaseAt) };
}

/** The customer opts out of email through the preference centre, now. */
async function optOutOfEmail(customerId: string): Promise<void> {
  const preferences = { channels: { email: { optIn: false } }, topics: {} };
  await root.customers.append(customerId, [{ type: 'preferences', at: now, preferences }], now);
}

/** Everything on the delivery queue now, removed from it. */
async function drainQueue(): Promise<Delivery[]> {
  const found: Delivery[] = [];
  for (let empty = 0; empty < 2; ) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: engines.deliveryQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) empty++;
    for (const m of messages) {
      found.push(JSON.parse(m.Body ?? '{}') as Delivery);
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: engines.deliveryQueueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
    }
  }
  return found;
}

/** The release time of the message's deferred item, if it has one. */
async function heldAt(customerId: string, messageId: string): Promise<number[]> {
  const { Item } = await root.db.send(
    new GetCommand({
      TableName: engines.tableName,
      Key: { pk: customerPk(customerId), sk: deferredSk(messageId) },
      ConsistentRead: true,
    }),
  );
  return Item ? [fromDeferredItem(Item).releaseAt] : [];
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-release-'));
  engines = await startEngines({ dataDir });
  Object.assign(process.env, engines.env);
  root = createRoot(
    loadConfig({ ...engines.env, GOVERNOR_POLICY_TTL_MS: '0', GOVERNOR_HASH_SECRET: HASH_SECRET }),
    clock,
  );
  delivery = createDeliveryRoot(root);
  sqs = new SQSClient({ endpoint: engines.sqsEndpoint, region: 'us-east-1' });
  await root.policyStore.put(policyDocumentSchema.parse(policy), '*', 'test', now);
});

afterAll(async () => {
  sqs?.destroy();
  await engines?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  // Each test lives at 09:00 UTC a day after the previous one, from a fresh cursor.
  now = BASE + ++day * 24 * HOUR;
  released.length = 0;
  await root.db.send(
    new DeleteCommand({ TableName: engines.tableName, Key: { pk: RELEASE_PK, sk: RELEASE_CURSOR_SK } }),
  );
  await drainQueue();
});

describe('releaseDue', () => {
  it('queues a deferred message once its reserved time has come, not before', async () => {
    const { customerId, message, releaseAt } = await deferredMessage();
    await drainQueue();

    now = releaseAt - 1000;
    expect(await releaseDue(releaseDeps())).toMatchObject({ due: 0 });
    expect(await drainQueue()).toEqual([]);

    now = releaseAt + 1000;
    const summary = await releaseDue(releaseDeps());

    expect(summary).toMatchObject({ due: 1, accepted: 1 });
    const queued = await drainQueue();
    expect(queued).toEqual([
      expect.objectContaining({
        messageId: message.messageId,
        customerId,
        channel: 'email',
        payload: message.payload,
      }),
    ]);
    expect(await heldAt(customerId, message.messageId)).toEqual([]);
    expect(released).toEqual([
      expect.objectContaining({ messageId: message.messageId, outcome: 'accepted', releaseAt }),
    ]);
  });

  it('suppresses a message whose customer opted out meanwhile', async () => {
    const { customerId, message, releaseAt } = await deferredMessage();
    await drainQueue();
    await optOutOfEmail(customerId);

    now = releaseAt + 1000;
    expect(await releaseDue(releaseDeps())).toMatchObject({ due: 1, suppressed: 1 });

    expect(await drainQueue()).toEqual([]);
    expect(await heldAt(customerId, message.messageId)).toEqual([]);
    expect(released).toEqual([expect.objectContaining({ outcome: 'suppressed', reason: 'opted_out' })]);
  });

  it('expires a message whose expiresAt passed before the release ran, later than its margin', async () => {
    const margin = releaseMarginMs(root.config.GOVERNOR_RELEASE_INTERVAL_S);
    const { message, releaseAt } = await deferredMessage({
      expiresAt: new Date(now + HOUR + margin + 5_000).toISOString(),
    });
    await drainQueue();

    now = releaseAt + margin + 10_000;
    await releaseDue(releaseDeps());

    expect(await drainQueue()).toEqual([]);
    expect(released).toEqual([
      expect.objectContaining({ messageId: message.messageId, outcome: 'suppressed', reason: 'expired' }),
    ]);
  });

  it('holds a message again when the customer set quiet hours over its release time', async () => {
    const { customerId, message, releaseAt } = await deferredMessage();
    await drainQueue();
    await root.customers.append(
      customerId,
      [
        {
          type: 'preferences',
          at: now,
          preferences: {
            channels: {},
            topics: {},
            timezone: 'UTC',
            quietHours: { start: '09:30', end: '11:00' },
          },
        },
      ],
      now,
    );

    now = releaseAt + 1000; // 10:00:01 UTC, inside the quiet hours
    expect(await releaseDue(releaseDeps())).toMatchObject({ due: 1, deferred: 1 });

    expect(await drainQueue()).toEqual([]);
    const eleven = Date.parse(`${new Date(now).toISOString().slice(0, 10)}T11:00:00.000Z`);
    expect(await heldAt(customerId, message.messageId)).toEqual([eleven]);
    now = eleven + 1000;
    expect(await releaseDue(releaseDeps())).toMatchObject({ accepted: 1 });
    expect((await drainQueue()).map((d) => d.messageId)).toEqual([message.messageId]);
  });

  it('never delivers twice when two runs release the same messages at once', async () => {
    const deferred = await Promise.all(Array.from({ length: 10 }, () => deferredMessage()));
    await drainQueue();
    now = deferred[0]!.releaseAt + 1000;

    await Promise.all([releaseDue(releaseDeps()), releaseDue(releaseDeps())]);

    // Each message was released once; a second copy may be queued, and dispatch sends it once.
    expect(released.map((r) => r.messageId).sort()).toEqual(deferred.map((d) => d.message.messageId).sort());
    const queued = await drainQueue();
    const sent = new Map<string, number>();
    const provider: Provider = {
      name: 'counting',
      timeoutMs: 1000,
      send: async (d) => {
        sent.set(d.messageId, (sent.get(d.messageId) ?? 0) + 1);
        return { ok: true };
      },
    };
    for (const d of queued) {
      await dispatchRecord(
        { ...delivery.dispatch, providerFor: () => provider },
        { body: JSON.stringify(d), receiptHandle: 'x', receiveCount: 1 },
      );
    }
    expect([...sent.keys()].sort()).toEqual(deferred.map((d) => d.message.messageId).sort());
    expect([...sent.values()].every((count) => count === 1)).toBe(true);
  });

  it('finishes the job of a run that died after deciding a release, before queueing it', async () => {
    const { customerId, message, releaseAt } = await deferredMessage();
    await drainQueue();
    now = releaseAt + 1000;
    // The dead run appended its release (accepted) to the log and went no further.
    const policyVersion = (await root.policies.current()).policy.version;
    const appended = await root.customers.append(
      customerId,
      [root.customers.releaseEntry(message.messageId, releaseAt, now, policyVersion)],
      now,
    );
    expect(appended?.entryResults[0]).toMatchObject({
      stale: false,
      decided: { verdict: { outcome: 'accepted' } },
    });

    const summary = await releaseDue(releaseDeps());

    expect(summary).toMatchObject({ due: 1, repaired: 1 });
    expect((await drainQueue()).map((d) => d.messageId)).toEqual([message.messageId]);
    expect(await heldAt(customerId, message.messageId)).toEqual([]);
  });

  it('drops the leftover of a run that died after suppressing a release', async () => {
    const { customerId, message, releaseAt } = await deferredMessage();
    await drainQueue();
    await optOutOfEmail(customerId);
    now = releaseAt + 1000;
    const policyVersion = (await root.policies.current()).policy.version;
    await root.customers.append(
      customerId,
      [root.customers.releaseEntry(message.messageId, releaseAt, now, policyVersion)],
      now,
    );

    expect(await releaseDue(releaseDeps())).toMatchObject({ due: 1, repaired: 1 });
    expect(await drainQueue()).toEqual([]);
    expect(await heldAt(customerId, message.messageId)).toEqual([]);
  });
});

describe('the release cursor', () => {
  it('reads only the minutes from the cursor to now, and moves it to two minutes before now', async () => {
    const later = await deferredMessage({
      notBefore: new Date(now + 7 * 24 * HOUR).toISOString(),
      expiresAt: undefined,
    });
    await drainQueue();
    const first = await releaseDue(releaseDeps());
    expect(first).toMatchObject({
      from: Math.floor((now - INITIAL_LOOKBACK_MS) / MINUTE) * MINUTE,
      until: now,
      due: 0,
    });
    expect(first.cursor).toBe(Math.floor((now - 2 * MINUTE) / MINUTE) * MINUTE);
    now += 5 * MINUTE;
    const second = await releaseDue(releaseDeps());
    expect(second.from).toBe(first.cursor);
    expect(await heldAt(later.customerId, later.message.messageId)).toHaveLength(1);
  });

  it('moves forward only if nobody wrote it since it was read; backward always', async () => {
    const cursor = new DynamoReleaseCursor(root.db, engines.tableName);
    expect(await cursor.write(10 * MINUTE, undefined)).toBe(true);
    const read = await cursor.read();
    expect(read).toEqual({ minute: 10 * MINUTE, version: 1 });
    expect(await cursor.write(20 * MINUTE, read)).toBe(true); // run A advances
    expect(await cursor.write(30 * MINUTE, read)).toBe(false); // run B read the same version: refused
    expect(await cursor.write(15 * MINUTE, read)).toBe(true); // run B had a failure at minute 15: lowers
    expect(await cursor.read()).toEqual({ minute: 15 * MINUTE, version: 3 });
  });
});
