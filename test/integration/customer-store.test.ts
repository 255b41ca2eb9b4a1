/**
 * The customer store and the deferred store on dynalite: an append returns the whole log, compaction
 * writes one block that reads back as it was written, an item written before blocks existed (base in
 * `b`, words in `d`, settled entries one a list element) still reads and is rewritten by the next
 * compaction, and concurrent holds share BatchWriteItem requests without losing one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Engines, startEngines } from '#local/engines.ts';
import { createDynamoClients, type DynamoClients } from '#shared/adapters/dynamodb/client.ts';
import { DynamoCustomerStore } from '#shared/adapters/dynamodb/customer-store.ts';
import { DynamoDeferredStore } from '#shared/adapters/dynamodb/deferred-store.ts';
import { customerPk, STATE_SK } from '#shared/adapters/dynamodb/keys.ts';
import { queryPages, scanPages } from '#shared/adapters/dynamodb/pages.ts';
import { loadConfig } from '#shared/config.ts';
import type { CustomerBase, LogEntry } from '#shared/domain/customer-log.ts';
import type { DeferredMessage } from '#shared/ports.ts';

let dataDir: string;
let engines: Engines;
let clients: DynamoClients;
let store: DynamoCustomerStore;

const T0 = Date.UTC(2026, 10, 23, 9);
const HOUR = 3_600_000;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-customers-'));
  engines = await startEngines({ dataDir });
  Object.assign(process.env, engines.env); // credentials for the SDK
  clients = createDynamoClients(loadConfig(engines.env));
  store = new DynamoCustomerStore(clients, engines.tableName);
});

afterAll(async () => {
  await engines?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const message = (key: string, at: number): LogEntry => ({
  type: 'message',
  at,
  policyVersion: 1,
  facts: { key, channel: 'email', kind: 'marketing', category: 'promotions', campaignId: 'black-friday' },
});

const settled = (key: string, at: number): LogEntry => ({
  type: 'settled',
  key,
  at,
  policyVersion: 2,
  first: { outcome: 'accepted', channel: 'email' },
  send: { key, at, channel: 'email', kind: 'marketing', category: 'promotions', campaignId: 'black-friday' },
  pending: undefined,
  category: 'promotions',
  campaignId: 'black-friday',
});

const base: CustomerBase = {
  preferences: { channels: { sms: { optIn: false } }, topics: { news: false } },
  suppressions: { email: 'hard_bounce' },
};

describe('the customer store', () => {
  it('returns the whole log on every append, in order, with the write counter', async () => {
    await store.append('c-append', [message('k1', T0)], T0);
    const record = await store.append('c-append', [message('k2', T0 + 1), message('k3', T0 + 2)], T0 + 2);
    expect(record.entries).toEqual([message('k1', T0), message('k2', T0 + 1), message('k3', T0 + 2)]);
    expect(record.version).toBe(2);
    expect(record.itemBytes).toBeGreaterThan(0);
  });

  it('expires a customer 100 days after its last write, unless it holds consent', async () => {
    const ttlOf = async (customerId: string) => {
      const { Item } = await clients.db.send(
        new GetCommand({ TableName: engines.tableName, Key: { pk: customerPk(customerId), sk: STATE_SK } }),
      );
      return Item?.x;
    };
    await store.append('c-ttl', [message('k1', T0)], T0);
    await store.append('c-ttl', [message('k2', T0 + HOUR)], T0 + HOUR);
    expect(await ttlOf('c-ttl')).toBe(Math.floor((T0 + HOUR) / 1000) + 100 * 24 * 3600);

    const preferences = { channels: {}, topics: { news: false } };
    await store.append('c-kept', [{ type: 'preferences', at: T0, preferences }], T0);
    await store.append('c-kept', [message('k1', T0 + HOUR)], T0 + HOUR);
    expect(await ttlOf('c-kept')).toBe(Date.UTC(3000, 0, 1) / 1000);
  });

  it('writes a compaction as one block that reads back as written, then appends after it', async () => {
    const first = await store.append('c-block', [message('k1', T0)], T0);
    const kept = [settled('k1', T0), settled('k2', T0 + 8 * HOUR), settled('k3', T0 + 16 * HOUR)];
    expect(await store.replace('c-block', first, base, kept, T0 + 16 * HOUR)).toBeDefined();
    const after = await store.append('c-block', [message('k4', T0 + 20 * HOUR)], T0 + 20 * HOUR);
    expect(after.base).toEqual(base);
    expect(after.entries).toEqual([...kept, message('k4', T0 + 20 * HOUR)]);
    expect(await store.read('c-block')).toMatchObject({ base, entries: after.entries });
  });

  it('refuses a compaction when somebody appended since the version it read', async () => {
    const first = await store.append('c-race', [message('k1', T0)], T0);
    await store.append('c-race', [message('k2', T0 + 1)], T0 + 1);
    expect(await store.replace('c-race', first, base, [settled('k1', T0)], T0 + 1)).toBeUndefined();
    expect((await store.read('c-race'))?.entries).toEqual([message('k1', T0), message('k2', T0 + 1)]);
  });
});

describe('the deferred store', () => {
  const held = (i: number): DeferredMessage => ({
    message: {
      messageId: `m-${i}`,
      customerId: `c-held-${i % 7}`,
      channel: 'email',
      kind: 'marketing',
      payload: { i },
    },
    releaseAt: T0 + (i % 5) * 60_000,
    policyVersion: 1,
  });

  it('holds every message of many concurrent callers, a message held twice at once only once', async () => {
    const deferred = new DynamoDeferredStore(clients.db, engines.tableName);
    const all = Array.from({ length: 120 }, (_, i) => held(i));
    // 120 callers at once, the first ten each followed by its retry (so both share a request).
    const calls = all.flatMap((d, i) => (i < 10 ? [d, d] : [d]));
    await Promise.all(calls.map((d) => deferred.put([d], T0)));
    const found = await deferred.due(T0, T0 + 5 * 60_000, 1000);
    expect(found.map((d) => d.message.messageId).sort()).toEqual(all.map((d) => d.message.messageId).sort());
    await Promise.all(all.map((d) => deferred.remove([d])));
    expect(await deferred.due(T0, T0 + 5 * 60_000, 1000)).toEqual([]);
  });
});

describe('the pages of a read', () => {
  it('follows LastEvaluatedKey to the last page of a query and of a scan', async () => {
    const pk = customerPk('c-pages');
    await Promise.all(
      [1, 2, 3].map((i) =>
        clients.db.send(new PutCommand({ TableName: engines.tableName, Item: { pk, sk: `p${i}` } })),
      ),
    );
    const read = async (pages: AsyncIterable<Record<string, unknown>[]>) => {
      const seen: unknown[][] = [];
      for await (const items of pages) seen.push(items.map((item) => item.sk));
      return seen;
    };

    const queried = await read(
      queryPages(clients.db, {
        TableName: engines.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        Limit: 1,
      }),
    );
    const scanned = await read(
      scanPages(clients.db, {
        TableName: engines.tableName,
        FilterExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
      }),
    );

    expect(queried.flat()).toEqual(['p1', 'p2', 'p3']);
    expect(queried.every((page) => page.length <= 1)).toBe(true);
    expect(scanned.flat().sort()).toEqual(['p1', 'p2', 'p3']);
  });
});
