/**
 * Pre-emption on dynalite: the writer whose decision bumps a deferred message moves its held item to
 * its new release minute (or drops it, payload and all, when it is suppressed `preempted`) at once, and
 * counts the suppression; a decision that bumps nothing costs the one UpdateItem it always did; the
 * release then finds each message where the log says it is.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Engines, startEngines } from '#local/engines.ts';
import { DecisionCounter } from '#shared/app/counting.ts';
import { releaseDue } from '#shared/app/release.ts';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import { createDeliveryRoot, createRoot, type Root } from '#shared/composition.ts';
import { loadConfig } from '#shared/config.ts';
import { messageSchema, policyDocumentSchema } from '#shared/domain/schemas.ts';
import { dayOf, parseGroupKey } from '#shared/domain/tally.ts';
import { CallMeter } from '../../bench/lib/meter.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-02T09:00:00.000Z');

let dataDir: string;
let engines: Engines;
let now = T0;
const clock = { now: () => now };
let root: Root;
/** Counts the DynamoDB calls (reset before each act). */
const meter = new CallMeter();

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-preemption-'));
  engines = await startEngines({ dataDir });
  Object.assign(process.env, engines.env);
  root = createRoot(
    loadConfig({
      ...engines.env,
      GOVERNOR_POLICY_TTL_MS: '300000',
      GOVERNOR_HASH_SECRET: 'preemption-test-hash-secret-0123456789abcdef',
    }),
    clock,
  );
  await root.policyStore.put(
    policyDocumentSchema.parse({
      caps: [{ id: 'minute', limit: 1, window: 'PT1M' }],
      relevance: { default: 0 },
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    }),
    '*',
    'test',
    now,
  );
  meter.attach(root.db, 'dynamodb');
});

afterAll(async () => {
  await engines?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const message = (customerId: string, messageId: string, relevance: number, expiresInMs = 60 * MINUTE) =>
  messageSchema.parse({
    messageId,
    customerId,
    channel: 'email',
    relevance,
    expiresAt: new Date(now + expiresInMs).toISOString(),
    payload: { n: messageId },
  });

/** The messageIds held for release in the minute starting at `minute`. */
async function heldAt(minute: number): Promise<string[]> {
  const due = await root.deferred.due(minute, minute + MINUTE - 1, 500);
  return due.map((d) => d.message.messageId).sort();
}

describe('the decision that bumps a deferred message', () => {
  it('moves its held item to its new minute at once, for one partition read and one batch write more', async () => {
    // Prepare: the minute's slot taken, a low-relevance message held for the next minute
    now = T0;
    const customerId = 'bump-moves';
    const deps: SendDeps = { ...root, counter: undefined };
    await sendMessages(deps, [message(customerId, 'first', 0.5)]);
    now += 1000;
    await sendMessages(deps, [message(customerId, 'low', 0.2)]);
    meter.reset();

    // Act: a more relevant message arrives
    now += 1000;
    const [high] = await sendMessages(deps, [message(customerId, 'high', 0.9)]);

    // Assess: the bump's cost (its own held item, and low's moved); it holds low's minute, low the next
    expect(meter.snapshot().calls).toEqual({
      UpdateItemCommand: 1,
      BatchWriteItemCommand: 2,
      QueryCommand: 1,
    });
    expect(high).toMatchObject({ decision: 'deferred', releaseAt: new Date(T0 + MINUTE).toISOString() });
    expect(await heldAt(T0 + MINUTE)).toEqual(['high']);
    expect(await heldAt(T0 + 2 * MINUTE)).toEqual(['low']);
    // and each is released at its own time
    now = T0 + MINUTE + 5000;
    const release = createDeliveryRoot(root).release;
    expect(await releaseDue(release)).toMatchObject({ accepted: 1, repaired: 0 });
    now = T0 + 2 * MINUTE + 5000;
    expect(await releaseDue(release)).toMatchObject({ accepted: 1, repaired: 0 });
  });

  it('drops the held item of the message it suppresses, and counts that one preempted', async () => {
    // Prepare
    now = T0 + 10 * MINUTE;
    const customerId = 'bump-drops';
    const counter = new DecisionCounter(root.tallies, clock, 0);
    const deps: SendDeps = { ...root, counter };
    await sendMessages(deps, [message(customerId, 'first', 0.5)]);
    // Its slot in a minute is the last before its expiry that the release (35 s margin) can still meet.
    await sendMessages(deps, [message(customerId, 'low', 0.2, 2 * MINUTE)]);
    expect(await heldAt(now + MINUTE)).toEqual(['low']);

    // Act
    const [high] = await sendMessages(deps, [message(customerId, 'high', 0.9)]);

    // Assess
    expect(high).toMatchObject({ decision: 'deferred', releaseAt: new Date(now + MINUTE).toISOString() });
    expect(await heldAt(now + MINUTE)).toEqual(['high']);
    const { deferred } = await root.customerStore.partition(customerId);
    expect(deferred.map((d) => d.message.messageId)).toEqual(['high']);
    const day = dayOf(now);
    const counts = await root.tallies.read([day]);
    const preempted = [...(counts.get(day) ?? [])]
      .map(([key, n]) => ({ ...parseGroupKey(day, key), n }))
      .filter((g) => g.reason === 'preempted');
    expect(preempted.map((g) => [g.stage, g.outcome, g.n])).toEqual([['release', 'suppressed', 1]]);
  });

  it('costs the one UpdateItem when it bumps nothing', async () => {
    // Prepare: equal relevance never bumps
    now = T0 + 20 * MINUTE;
    const customerId = 'bump-none';
    const deps: SendDeps = { ...root, counter: undefined };
    await sendMessages(deps, [message(customerId, 'first', 0.5), message(customerId, 'held', 0.5)]);
    await root.policies.current();
    meter.reset();

    // Act
    const [same] = await sendMessages(deps, [message(customerId, 'same', 0.5)]);

    // Assess: deferred behind it, the one conditional write and its own held item
    expect(same).toMatchObject({ decision: 'deferred', releaseAt: new Date(now + 2 * MINUTE).toISOString() });
    expect(meter.snapshot().calls).toEqual({ UpdateItemCommand: 1, BatchWriteItemCommand: 1 });
  });
});
