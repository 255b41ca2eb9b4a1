/**
 * Deferred messages, payload included, in the customer's partition (so erasure finds them) and in the
 * sparse `due` index by release minute and shard (so the release function reads only what is due and
 * never scans); a campaign's also in the sparse `campaign` index (keys only), so that cancelling a
 * campaign reads only what is held for it. `lf` is the life of the customer's record the message was
 * deferred in.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Message } from '../../domain/schemas.ts';
import { GroupCommit } from '../../group-commit.ts';
import type { DeferredMessage, DeferredStore, HeldMessage, HeldPage } from '../../ports.ts';
import {
  CAMPAIGN_INDEX,
  CAMPAIGN_SHARDS,
  campaignHeldPk,
  customerPk,
  DUE_INDEX,
  DUE_SHARDS,
  deferredSk,
  duePk,
  dueSk,
  heldOfKeys,
  shardOf,
} from './keys.ts';
import { queryPages } from './pages.ts';

const MINUTE = 60_000;

/**
 * The stored item. It is filed in the `due` index under the minute of its release, or of `now` when that
 * is later (a retry holding again a message whose time has passed), so the release always finds it.
 */
export function deferredItem(d: DeferredMessage, now = Number.NEGATIVE_INFINITY): Record<string, unknown> {
  return {
    pk: customerPk(d.message.customerId),
    sk: deferredSk(d.message.messageId),
    due: duePk(Math.max(d.releaseAt, now), shardOf(d.message.messageId, DUE_SHARDS)),
    rt: dueSk(d.releaseAt, d.message.messageId),
    r: d.releaseAt,
    v: d.policyVersion,
    m: JSON.stringify(d.message),
    ...(d.life === undefined ? {} : { lf: d.life }),
    ...(d.digestId === undefined ? {} : { dg: d.digestId }),
    ...(d.message.campaignId === undefined
      ? {}
      : { cg: campaignHeldPk(d.message.campaignId, shardOf(d.message.messageId, CAMPAIGN_SHARDS)) }),
  };
}

/** A page position of the campaign index (its LastEvaluatedKey), as an opaque string. */
const positionOf = (key: Record<string, unknown>) => Buffer.from(JSON.stringify(key)).toString('base64url');
const keyOfPosition = (after: string) =>
  JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as Record<string, unknown>;

export function fromDeferredItem(item: Record<string, unknown>): DeferredMessage {
  const d: DeferredMessage = {
    message: JSON.parse(String(item.m)) as Message,
    releaseAt: Number(item.r),
    policyVersion: Number(item.v),
  };
  if (item.lf !== undefined) d.life = String(item.lf);
  if (item.dg !== undefined) d.digestId = String(item.dg);
  return d;
}

export async function batchWrite(
  db: DynamoDBDocumentClient,
  table: string,
  requests: Record<string, unknown>[],
): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending: Record<string, unknown>[] | undefined = requests.slice(i, i + 25);
    for (let attempt = 0; pending && pending.length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = out.UnprocessedItems?.[table] as Record<string, unknown>[] | undefined;
    }
  }
}

type Item = Record<string, unknown>;
const itemKey = (item: Item) => `${String(item.pk)}\u0000${String(item.sk)}`;

export class DynamoDeferredStore implements DeferredStore {
  /** Concurrent holds (and releases) share BatchWriteItem requests. */
  private readonly puts = this.batched((Item) => ({ PutRequest: { Item } }));
  private readonly deletes = this.batched((Key) => ({ DeleteRequest: { Key } }));

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private batched(request: (item: Item) => Record<string, unknown>): GroupCommit<Item> {
    return new GroupCommit<Item>({
      send: (items) => batchWrite(this.db, this.table, items.map(request)),
      maxItems: 25,
      keyOf: itemKey,
    });
  }

  async put(items: DeferredMessage[], now?: number): Promise<void> {
    await this.puts.submit(items.map((d) => deferredItem(d, now)));
  }

  async due(from: number, until: number, limit: number): Promise<DeferredMessage[]> {
    const found: DeferredMessage[] = [];
    const untilKey = dueSk(until, '~');
    for (let minute = from - (from % MINUTE); minute <= until && found.length < limit; minute += MINUTE) {
      const pages = await Promise.all(
        Array.from({ length: DUE_SHARDS }, (_, shard) => this.queryBucket(minute, shard, untilKey, limit)),
      );
      for (const page of pages) found.push(...page);
    }
    return found.sort((a, b) => a.releaseAt - b.releaseAt).slice(0, limit);
  }

  private async queryBucket(
    minute: number,
    shard: number,
    untilKey: string,
    limit: number,
  ): Promise<DeferredMessage[]> {
    const out: DeferredMessage[] = [];
    for await (const items of queryPages(this.db, {
      TableName: this.table,
      IndexName: DUE_INDEX,
      KeyConditionExpression: '#due = :due AND rt <= :until',
      ExpressionAttributeNames: { '#due': 'due' },
      ExpressionAttributeValues: { ':due': duePk(minute, shard), ':until': untilKey },
      Limit: limit,
    })) {
      out.push(...items.map(fromDeferredItem));
      if (out.length >= limit) break;
    }
    return out;
  }

  readonly campaignShards = CAMPAIGN_SHARDS;

  async heldFor(
    campaignId: string,
    shard: number,
    after: string | undefined,
    limit: number,
  ): Promise<HeldPage> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: CAMPAIGN_INDEX,
        KeyConditionExpression: 'cg = :cg',
        ExpressionAttributeValues: { ':cg': campaignHeldPk(campaignId, shard) },
        Limit: limit,
        ...(after === undefined ? {} : { ExclusiveStartKey: keyOfPosition(after) }),
      }),
    );
    const held: HeldMessage[] = [];
    for (const item of out.Items ?? []) {
      const ids = heldOfKeys(String(item.pk), String(item.sk));
      if (ids) held.push(ids);
    }
    return out.LastEvaluatedKey ? { held, next: positionOf(out.LastEvaluatedKey) } : { held };
  }

  async removeHeld(items: HeldMessage[]): Promise<void> {
    await this.deletes.submit(
      items.map((h) => ({ pk: customerPk(h.customerId), sk: deferredSk(h.messageId) })),
    );
  }

  async remove(items: DeferredMessage[]): Promise<void> {
    await this.deletes.submit(
      items.map((d) => ({ pk: customerPk(d.message.customerId), sk: deferredSk(d.message.messageId) })),
    );
  }
}
