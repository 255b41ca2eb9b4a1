import { describe, expect, it } from 'vitest';
import { deferredItem } from '#shared/adapters/dynamodb/deferred-store.ts';
import { CAMPAIGN_SHARDS, campaignHeldPk, heldOfKeys, shardOf } from '#shared/adapters/dynamodb/keys.ts';
import { messageSchema } from '#shared/domain/schemas.ts';

const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const held = (extra: Record<string, unknown> = {}) => ({
  message: messageSchema.parse({
    messageId: 'm-1',
    customerId: 'c-1',
    channel: 'email',
    payload: {},
    ...extra,
  }),
  releaseAt: T0,
  policyVersion: 3,
});

describe('deferredItem', () => {
  it("files a campaign's deferred message in the campaign index under its campaign and its message's shard", () => {
    const item = deferredItem(held({ campaignId: 'spring' }));
    expect(item.cg).toBe(campaignHeldPk('spring', shardOf('m-1', CAMPAIGN_SHARDS)));
    expect(item.cg).toMatch(/^CMP#spring#[0-7]$/);
    // The index projects the table's keys: they name the customer and the message again.
    expect(heldOfKeys(String(item.pk), String(item.sk))).toEqual({ customerId: 'c-1', messageId: 'm-1' });
  });

  it('leaves a message of no campaign out of the campaign index (sparse)', () => {
    expect(deferredItem(held())).not.toHaveProperty('cg');
  });
});

describe('heldOfKeys', () => {
  it('names nothing for keys that are not a deferred message', () => {
    expect(heldOfKeys('C#c-1', 'S')).toBeUndefined();
    expect(heldOfKeys('POLICY', 'D#m')).toBeUndefined();
  });
});
