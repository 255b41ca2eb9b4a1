/**
 * Pre-emption on dynalite: a decision that bumps a deferred message costs the one UpdateItem it always
 * did (and the batch write of its own held item, if it is deferred): the bumped message's held item
 * stays where it was until its old time, when the release finds it stale and moves it to the time the
 * log gives it, or drops it, payload and all, when it was suppressed `preempted` (counted once, at the
 * decision). The release then finds each message where the log says it is.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Engines, startEngines } from '#local/engines.ts';
import { DecisionCounter } from '#shared/app/counting.ts';
import { lookUpCustomer } from '#shared/app/customer-lookup.ts';
import { type ReleaseOutcome, releaseDue } from '#shared/app/release.ts';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import { createDeliveryRoot, createRoot, type Root } from '#shared/composition.ts';
import { loadConfig } from '#shared/config.ts';
import { messageSchema, policyDocumentSchema } from '#shared/domain/schemas.ts';
import { countedOf, dayOf, parseGroupKey } from '#shared/domain/tally.ts';
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

/** The suppressions counted for `reason` on the day of `at`, as [stage, outcome, n]. */
async function countsOf(at: number, reason = 'preempted'): Promise<[string, string, number][]> {
  const day = dayOf(at);
  const counts = await root.tallies.read([day]);
  return [...(counts.get(day) ?? [])]
    .map(([key, n]) => ({ ...parseGroupKey(day, key), n }))
    .filter((g) => g.reason === reason)
    .map((g) => [g.stage, g.outcome, g.n]);
}

describe('the decision that bumps a deferred message', () => {
  it('costs no read and no write for the bumped message; the release at its old time moves it to its new one', async () => {
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

    // Assess: the decision's one write and its own held item, nothing for low's; high holds low's minute
    expect(meter.snapshot().calls).toEqual({ UpdateItemCommand: 1, BatchWriteItemCommand: 1 });
    expect(high).toMatchObject({ decision: 'deferred', releaseAt: new Date(T0 + MINUTE).toISOString() });
    expect(await heldAt(T0 + MINUTE)).toEqual(['high', 'low']);
    // support's lookup shows each where the log holds it
    const { deferred } = await lookUpCustomer(root, customerId);
    expect(deferred.map((d) => [d.messageId, d.releaseAt])).toEqual([
      ['high', new Date(T0 + MINUTE).toISOString()],
      ['low', new Date(T0 + 2 * MINUTE).toISOString()],
    ]);
    // the release at the old minute delivers high and moves low (stale there) to the next minute
    now = T0 + MINUTE + 5000;
    const release = createDeliveryRoot(root).release;
    expect(await releaseDue(release)).toMatchObject({ accepted: 1, deferred: 0, repaired: 1 });
    expect(await heldAt(T0 + MINUTE)).toEqual([]);
    expect(await heldAt(T0 + 2 * MINUTE)).toEqual(['low']);
    // where it is released in its turn
    now = T0 + 2 * MINUTE + 5000;
    expect(await releaseDue(release)).toMatchObject({ accepted: 1, repaired: 0 });
    expect(await heldAt(T0 + 2 * MINUTE)).toEqual([]);
  });

  it('counts the message it suppresses preempted at once, and the release at its old time drops its payload without counting it again', async () => {
    // Prepare
    now = T0 + 10 * MINUTE;
    const customerId = 'bump-drops';
    const counter = new DecisionCounter(root.tallies, clock, 0);
    const deps: SendDeps = { ...root, counter };
    await sendMessages(deps, [message(customerId, 'first', 0.5)]);
    // Its slot in a minute is the last before its expiry that the release (35 s margin) can still meet.
    await sendMessages(deps, [message(customerId, 'low', 0.2, 2 * MINUTE)]);
    expect(await heldAt(now + MINUTE)).toEqual(['low']);
    meter.reset();

    // Act
    const [high] = await sendMessages(deps, [message(customerId, 'high', 0.9)]);

    // Assess: no call for the bumped message (besides the counts, flushed at every decision here), which
    // is counted preempted by the decision
    const { PutItemCommand: flushes, ...calls } = meter.snapshot().calls;
    expect(flushes).toBe(1);
    expect(calls).toEqual({ UpdateItemCommand: 1, BatchWriteItemCommand: 1 });
    expect(high).toMatchObject({ decision: 'deferred', releaseAt: new Date(now + MINUTE).toISOString() });
    expect(await countsOf(now)).toEqual([['release', 'suppressed', 1]]);
    expect((await lookUpCustomer(root, customerId)).deferred.map((d) => d.messageId)).toEqual(['high']);
    // the release at its old time delivers high, drops low's held item, and counts nothing more
    const decidedAt = now;
    now += MINUTE + 5000;
    const release = {
      ...createDeliveryRoot(root).release,
      onReleased: (outcomes: ReleaseOutcome[]) => counter.add(outcomes.map((o) => countedOf(o, 'release'))),
    };
    expect(await releaseDue(release)).toMatchObject({ accepted: 1, suppressed: 0, repaired: 1 });
    await counter.flush();
    const { deferred } = await root.customerStore.partition(customerId);
    expect(deferred).toEqual([]);
    expect(await countsOf(decidedAt)).toEqual([['release', 'suppressed', 1]]);
  });

  it('leaves an erasure before the old time to drop the preempted message, counted preempted and not erased', async () => {
    // Prepare: low held, then suppressed preempted by high, its held item still at its old time (a day
    // later than the other tests, to count alone)
    now = T0 + 24 * 60 * MINUTE;
    const customerId = 'bump-erased';
    const counter = new DecisionCounter(root.tallies, clock, 0);
    const deps: SendDeps = { ...root, counter };
    await sendMessages(deps, [message(customerId, 'first', 0.5)]);
    await sendMessages(deps, [message(customerId, 'low', 0.2, 2 * MINUTE)]);
    await sendMessages(deps, [message(customerId, 'high', 0.9)]);
    expect(await heldAt(now + MINUTE)).toEqual(['high', 'low']);

    // Act
    const dropped = await root.erasures.erase(customerId);

    // Assess: both items gone, high counted erased (it was still held), low only preempted
    expect(dropped).toBe(1);
    expect((await root.customerStore.partition(customerId)).deferred).toEqual([]);
    expect(await countsOf(now, 'erased')).toEqual([['erasure', 'suppressed', 1]]);
    expect(await countsOf(now)).toEqual([['release', 'suppressed', 1]]);
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
