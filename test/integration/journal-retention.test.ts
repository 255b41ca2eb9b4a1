/**
 * What the local delivery journal keeps of a delivery, read from the delivery ledger on dynalite: not a
 * delivered one, nor one dead-lettered because its customer was erased, nor (when told) any delivery to
 * an erased customer; a queued one and one dead-lettered for another reason stay (the DLQ is rebuilt
 * from them at the next start).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Engines, startEngines } from '#local/engines.ts';
import { journalRetention } from '#local/workers.ts';
import { createDocumentClient } from '#shared/adapters/dynamodb/client.ts';
import { DynamoDeliveryLedger } from '#shared/adapters/dynamodb/delivery-ledger.ts';
import { loadConfig } from '#shared/config.ts';
import type { Delivery } from '#shared/ports.ts';

let dataDir: string;
let engines: Engines;
let ledger: DynamoDeliveryLedger;

const aDelivery = (name: string, customerId = `c-${name}`): Delivery => ({
  messageId: `m-${name}`,
  customerId,
  channel: 'sms',
  kind: 'marketing',
  payload: { phoneNumber: '+33612345678', text: name },
  acceptedAt: new Date(0).toISOString(),
  policyVersion: 1,
});

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'governor-retention-'));
  engines = await startEngines({ dataDir });
  Object.assign(process.env, engines.env); // credentials for the SDK
  ledger = new DynamoDeliveryLedger(createDocumentClient(loadConfig(engines.env)), engines.tableName);
});

afterAll(async () => {
  await engines?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('journalRetention', () => {
  it('drops what is delivered or dead for an erasure, and keeps what is queued or dead-lettered', async () => {
    const delivered = aDelivery('delivered');
    const erasedDead = aDelivery('erased-dead');
    const rejected = aDelivery('rejected');
    const queued = aDelivery('queued');
    const retrying = aDelivery('retrying');
    for (const d of [delivered, erasedDead, rejected, retrying]) await ledger.claim(d, 'sns', 1000, 5000);
    await ledger.delivered(delivered, 1100);
    await ledger.dead(erasedDead, 1100, 'erased');
    await ledger.dead(rejected, 1100, 'http_400');
    await ledger.giveBack(retrying, 1, 1100, 'http_503');

    const kept = await journalRetention(ledger)([delivered, erasedDead, rejected, queued, retrying]);

    expect([...kept.keys()].map((d) => d.messageId)).toEqual(['m-rejected', 'm-queued', 'm-retrying']);
    expect(kept.get(rejected)).toMatchObject({ status: 'dead', reason: 'http_400' });
    expect(kept.get(queued)).toBeUndefined();
  });

  it('drops every delivery the erasure check names, whatever the ledger says', async () => {
    const erased = aDelivery('to-erased', 'c-erased');
    const other = aDelivery('to-other', 'c-other');
    const asked: string[][] = [];

    const kept = await journalRetention(ledger, async (deliveries) => {
      asked.push(deliveries.map((d) => d.messageId));
      return deliveries.map((d) => d.customerId === 'c-erased');
    })([erased, other]);

    expect([...kept.keys()]).toEqual([other]);
    expect(asked).toEqual([['m-to-erased', 'm-to-other']]);
  });
});
