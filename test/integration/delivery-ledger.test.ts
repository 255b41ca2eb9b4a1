/**
 * The delivery ledger on dynalite: the claim is a lease that only one sender holds at a time, a
 * delivered message cannot be claimed again, and a dead-lettered one can (a redrive sends it again).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Engines, startEngines } from '#local/engines.ts';
import { createDocumentClient } from '#shared/adapters/dynamodb/client.ts';
import { claimCommandInput, DynamoDeliveryLedger } from '#shared/adapters/dynamodb/delivery-ledger.ts';
import { loadConfig } from '#shared/config.ts';
import { type Delivery, ledgerKey } from '#shared/ports.ts';

let dataDir: string;
let engines: Engines;
let ledger: DynamoDeliveryLedger;
let n = 0;

function aDelivery(overrides: Partial<Delivery> = {}): Delivery {
  n++;
  return {
    messageId: `m-${n}`,
    customerId: `c-${n}`,
    channel: 'email',
    kind: 'marketing',
    payload: { subject: 'hi' },
    acceptedAt: new Date(0).toISOString(),
    policyVersion: 1,
    ...overrides,
  };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-ledger-'));
  engines = await startEngines({ dataDir });
  Object.assign(process.env, engines.env); // credentials for the SDK
  const db = createDocumentClient(loadConfig(engines.env));
  ledger = new DynamoDeliveryLedger(db, engines.tableName);
});

afterAll(async () => {
  await engines?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('claimCommandInput', () => {
  it('claims in the customer partition, unless delivered or leased to somebody else', () => {
    const input = claimCommandInput('t', { customerId: 'c1', messageId: 'm1' }, 'webhook', 1000, 5000);
    expect(input.Key).toEqual({ pk: 'C#c1', sk: 'L#m1' });
    expect(input.ConditionExpression).toBe(
      'attribute_not_exists(st) OR st = :retrying OR st = :dead OR (st = :sending AND lu < :now)',
    );
    expect(input.ExpressionAttributeValues[':lease']).toBe(5000);
    expect(input.ExpressionAttributeValues[':ttl']).toBe(1 + 30 * 24 * 3600);
  });
});

describe('DynamoDeliveryLedger', () => {
  it('lets exactly one of 20 simultaneous claims of a message through', async () => {
    const d = aDelivery();
    const claims = await Promise.all(
      Array.from({ length: 20 }, () => ledger.claim(d, 'webhook', 1000, 10_000)),
    );
    expect(claims.filter((c) => c.claimed)).toHaveLength(1);
    const refused = claims.find((c) => !c.claimed);
    expect(refused).toEqual({
      claimed: false,
      entry: { status: 'sending', leaseUntil: 10_000, attempts: 1, reason: undefined },
    });
  });

  it('lets a claim take over a lease that ran out (a sender that died)', async () => {
    const d = aDelivery();
    await ledger.claim(d, 'webhook', 1000, 2000);
    expect((await ledger.claim(d, 'webhook', 1999, 5000)).claimed).toBe(false);
    expect(await ledger.claim(d, 'webhook', 2001, 5000)).toEqual({ claimed: true, attempts: 2 });
  });

  it('never gives a delivered message out again, even once its lease is long over', async () => {
    const d = aDelivery();
    await ledger.claim(d, 'webhook', 1000, 2000);
    await ledger.delivered(d, 1500, 'provider-id');
    const again = await ledger.claim(d, 'webhook', 100_000, 200_000);
    expect(again).toEqual({ claimed: false, entry: { status: 'delivered', attempts: 1 } });
  });

  it('gives the lease back after a transient failure, only to its holder', async () => {
    const d = aDelivery();
    const first = await ledger.claim(d, 'webhook', 1000, 60_000);
    await ledger.giveBack(d, 99, 1100, 'http_503'); // not the holder: no effect
    expect(await ledger.get(d)).toMatchObject({ status: 'sending' });
    if (!first.claimed) throw new Error('not claimed');
    await ledger.giveBack(d, first.attempts, 1100, 'http_503');
    expect(await ledger.get(d)).toMatchObject({ status: 'retrying', reason: 'http_503' });
    expect((await ledger.claim(d, 'webhook', 1200, 60_000)).claimed).toBe(true);
  });

  it('claims a dead-lettered message again (a redrive), but never overwrites delivered with dead', async () => {
    const dead = aDelivery();
    await ledger.claim(dead, 'webhook', 1000, 2000);
    await ledger.dead(dead, 1100, 'http_400');
    expect(await ledger.get(dead)).toMatchObject({ status: 'dead', reason: 'http_400' });
    expect((await ledger.claim(dead, 'webhook', 1200, 5000)).claimed).toBe(true);

    const delivered = aDelivery();
    await ledger.claim(delivered, 'webhook', 1000, 2000);
    await ledger.delivered(delivered, 1100);
    await ledger.dead(delivered, 1200, 'late');
    expect(await ledger.get(delivered)).toMatchObject({ status: 'delivered' });
  });

  it('keeps two customers that reuse a messageId apart', async () => {
    const a = aDelivery({ messageId: 'shared-id' });
    const b = aDelivery({ messageId: 'shared-id' });
    await ledger.claim(a, 'webhook', 1000, 2000);
    await ledger.delivered(a, 1100);
    expect((await ledger.claim(b, 'webhook', 1200, 5000)).claimed).toBe(true);
  });

  it('reads the entries of many messages at once', async () => {
    const ds = Array.from({ length: 130 }, () => aDelivery());
    for (const d of ds.slice(0, 120)) await ledger.claim(d, 'outbox', 1000, 2000);
    for (const d of ds.slice(0, 60)) await ledger.delivered(d, 1100);
    const entries = await ledger.entries(ds);
    expect(entries.size).toBe(120);
    expect(entries.get(ledgerKey(ds[0] as Delivery))?.status).toBe('delivered');
    expect(entries.get(ledgerKey(ds[100] as Delivery))?.status).toBe('sending');
    expect(entries.has(ledgerKey(ds[125] as Delivery))).toBe(false);
  });
});
