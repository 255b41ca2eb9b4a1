/**
 * The shared rate-limit count on dynalite: every client adds to one running total per key and reads it
 * back from its own write, a zero delta reads without writing, and the item expires a day after its last
 * write.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Engines, startEngines } from '#local/engines.ts';
import { createDynamoClients, type DynamoClients } from '#shared/adapters/dynamodb/client.ts';
import { rateCounterKey } from '#shared/adapters/dynamodb/keys.ts';
import { DynamoRateCounter, RATE_COUNTER_TTL_S } from '#shared/adapters/dynamodb/rate-counter.ts';
import { loadConfig } from '#shared/config.ts';
import { CallMeter } from '../../bench/lib/meter.ts';

let dataDir: string;
let engines: Engines;
/** Two instances: each its own SDK client. */
let one: DynamoClients;
let two: DynamoClients;

const T0 = Date.UTC(2026, 10, 23, 9);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-rate-counter-'));
  engines = await startEngines({ dataDir });
  Object.assign(process.env, engines.env); // credentials for the SDK
  one = createDynamoClients(loadConfig(engines.env));
  two = createDynamoClients(loadConfig(engines.env));
});

afterAll(async () => {
  await engines?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the shared rate-limit counter', () => {
  it("adds every instance's count to one total per key and returns it", async () => {
    const a = new DynamoRateCounter(one.db, engines.tableName);
    const b = new DynamoRateCounter(two.db, engines.tableName);

    const totals = [await a.add('k1', 5, T0), await b.add('k1', 7, T0), await a.add('k1', 1, T0 + 1000)];
    const other = await b.add('k2', 3, T0);

    expect(totals).toEqual([5, 12, 13]);
    expect(other).toBe(3);
  });

  it('reads the total without writing when there is nothing to add', async () => {
    const meter = new CallMeter();
    const reader = createDynamoClients(loadConfig(engines.env));
    meter.attach(reader.client, 'dynamodb');
    const counter = new DynamoRateCounter(reader.db, engines.tableName);
    await new DynamoRateCounter(one.db, engines.tableName).add('k-read', 4, T0);

    const total = await counter.add('k-read', 0, T0);
    const none = await counter.add('k-never', 0, T0);

    expect([total, none]).toEqual([4, 0]);
    expect(meter.snapshot().calls).toEqual({ GetItemCommand: 2 });
    expect(meter.snapshot().writeUnits).toBe(0);
  });

  it('expires the item a day after its last write', async () => {
    const counter = new DynamoRateCounter(one.db, engines.tableName);
    await counter.add('k-ttl', 1, T0);
    await counter.add('k-ttl', 1, T0 + 60_000);

    const { Item } = await one.db.send(
      new GetCommand({ TableName: engines.tableName, Key: rateCounterKey('k-ttl') }),
    );

    expect(Item?.x).toBe(Math.floor((T0 + 60_000) / 1000) + RATE_COUNTER_TTL_S);
  });
});
