/**
 * What a customer's item costs, on dynalite: every decision rewrites the item, and DynamoDB bills a write
 * unit per started KB of it, so the ordinary customer must stay under 1 KB as the next decision writes
 * it. The case is the bench's: 20 sends over a week, 8 hours apart, naming 12 different 20-character
 * campaigns, under a policy with room for them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import type { Root } from '#shared/composition.ts';
import { messageSchema } from '#shared/domain/schemas.ts';
import { CallMeter } from '../../bench/lib/meter.ts';
import { CAMPAIGNS, ROOMY_POLICY } from '../../bench/lib/workload.ts';
import { type EnginesFixture, startEnginesFixture } from '../support/engines-fixture.ts';

const HOUR = 3_600_000;
let fixture: EnginesFixture;
let now = Date.parse('2026-11-16T09:00:00.000Z');
let root: Root;

beforeAll(async () => {
  fixture = await startEnginesFixture({ name: 'item', clock: { now: () => now }, policy: ROOMY_POLICY });
  root = fixture.root;
});

afterAll(async () => {
  await fixture?.stop();
});

describe('the item of a customer with 20 recent sends', () => {
  it('is written in one write unit (at most 1,024 bytes) by the next decision', async () => {
    // Prepare: 20 accepted sends, 8 hours apart, over 12 campaigns
    const deps: SendDeps = { ...root, counter: undefined };
    const message = (k: number) =>
      messageSchema.parse({
        messageId: `item-${k}`,
        customerId: 'cus_item_000000',
        channel: 'email',
        category: 'promotions',
        campaignId: CAMPAIGNS[k % CAMPAIGNS.length],
        relevance: 0.9,
        payload: { template: 'x' },
      });
    for (let k = 0; k < 20; k++) {
      const [answer] = await sendMessages(deps, [message(k)]);
      expect(answer, `send ${k}`).toMatchObject({ decision: 'accepted' });
      now += 8 * HOUR;
    }
    // The policy is read once per TTL for all decisions: done before, as on a warm function.
    await root.policies.current();
    const meter = new CallMeter();
    meter.attach(root.db, 'dynamodb');

    // Act: the 21st decision
    const [next] = await sendMessages(deps, [message(20)]);

    // Assess: one UpdateItem, the item as it wrote it under 1 KB
    const written = meter.snapshot();
    expect(next).toMatchObject({ decision: 'accepted' });
    expect(written.calls).toEqual({ UpdateItemCommand: 1 });
    expect(written.itemBytesMax).toBeGreaterThan(600);
    expect(written.itemBytesMax).toBeLessThanOrEqual(1024);
    expect(written.writeUnits).toBe(1);
    console.info(`customer item: ${written.itemBytesMax} bytes written`);
    const stored = await root.customerStore.read('cus_item_000000');
    expect(stored?.itemBytes).toBe(written.itemBytesMax);
  });
});
