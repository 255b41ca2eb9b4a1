/**
 * Customer state in one item per customer: `b` the base (preferences and hard suppressions folded in by
 * compaction; absent while empty), `l` the ordered log of compact entries, `d` the dictionary of the
 * categories and campaigns compacted entries name, `n` the write counter, `x` the TTL. A decision is
 * one conditional-free atomic UpdateItem (list_append plus counter, ALL_NEW); compaction is an UpdateItem
 * conditional on the counter, so it never loses an append.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CustomerBase, LogEntry } from '../../domain/customer-log.ts';
import type { CustomerRecord, CustomerStore, DeferredMessage } from '../../ports.ts';
import { batchWrite, fromDeferredItem } from './deferred-store.ts';
import { Dictionary, decodeBase, decodeEntry, encodeBase, encodeEntry } from './entry-codec.ts';
import { itemSize } from './item-size.ts';
import { customerPk, DEFERRED_PREFIX, STATE_SK } from './keys.ts';
import { queryPages, scanPages } from './pages.ts';

/** Customer state expires this long after its last write unless it holds preferences. */
const STATE_TTL_S = 100 * 24 * 3600;
/** Far-future TTL for customers with preferences or suppressions: consent is kept until erased. */
const KEEP = 32_503_680_000; // 3000-01-01

function toRecord(item: Record<string, unknown>): CustomerRecord {
  const words = new Dictionary((item.d as string[] | undefined) ?? []);
  return {
    base: decodeBase(item.b as string | undefined),
    entries: ((item.l as string[] | undefined) ?? []).map((e) => decodeEntry(e, words)),
    version: Number(item.n ?? 0),
    itemBytes: itemSize(item),
  };
}

/** The UpdateItem input of an append: pure, so it can be checked without a table. */
export function appendCommandInput(table: string, customerId: string, entries: LogEntry[], now: number) {
  const keepsConsent = entries.some((e) => e.type === 'preferences' || e.type === 'feedback');
  return {
    TableName: table,
    Key: { pk: customerPk(customerId), sk: STATE_SK },
    UpdateExpression: `SET l = list_append(if_not_exists(l, :empty), :entries), n = if_not_exists(n, :zero) + :one, x = if_not_exists(k, :ttl)${keepsConsent ? ', k = :keep' : ''}`,
    ExpressionAttributeValues: {
      ':empty': [],
      ':entries': entries.map((e) => encodeEntry(e)),
      ':zero': 0,
      ':one': 1,
      ':ttl': Math.floor(now / 1000) + STATE_TTL_S,
      ...(keepsConsent ? { ':keep': KEEP } : {}),
    },
    ReturnValues: 'ALL_NEW' as const,
  };
}

export class DynamoCustomerStore implements CustomerStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async append(customerId: string, entries: LogEntry[], now: number): Promise<CustomerRecord> {
    const out = await this.db.send(
      new UpdateCommand(appendCommandInput(this.table, customerId, entries, now)),
    );
    return toRecord(out.Attributes ?? {});
  }

  async read(customerId: string): Promise<CustomerRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: customerPk(customerId), sk: STATE_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async replace(
    customerId: string,
    version: number,
    base: CustomerBase,
    entries: LogEntry[],
    now: number,
  ): Promise<boolean> {
    const words = new Dictionary();
    const list = entries.map((e) => encodeEntry(e, words));
    const baseText = encodeBase(base);
    const sets = ['l = :l', 'n = n + :one', 'x = if_not_exists(k, :ttl)'];
    const removes: string[] = [];
    const values: Record<string, unknown> = {
      ':l': list,
      ':one': 1,
      ':n': version,
      ':ttl': Math.floor(now / 1000) + STATE_TTL_S,
    };
    if (baseText === undefined) removes.push('b');
    else {
      sets.push('b = :b');
      values[':b'] = baseText;
    }
    if (words.words.length === 0) removes.push('d');
    else {
      sets.push('d = :d');
      values[':d'] = words.words;
    }
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: customerPk(customerId), sk: STATE_SK },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: 'n = :n',
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async deferredOf(customerId: string): Promise<DeferredMessage[]> {
    const deferred: DeferredMessage[] = [];
    for await (const items of queryPages(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :deferred)',
      ExpressionAttributeValues: { ':pk': customerPk(customerId), ':deferred': DEFERRED_PREFIX },
    })) {
      deferred.push(...items.map(fromDeferredItem));
    }
    return deferred;
  }

  async *scan(): AsyncIterable<{ customerId: string; record: CustomerRecord }> {
    for await (const items of scanPages(this.db, {
      TableName: this.table,
      FilterExpression: 'sk = :state AND begins_with(pk, :customer)',
      ExpressionAttributeValues: { ':state': STATE_SK, ':customer': customerPk('') },
    })) {
      for (const item of items) {
        yield { customerId: String(item.pk).slice(customerPk('').length), record: toRecord(item) };
      }
    }
  }

  /** Deletes everything in the customer's partition (state and deferred messages), idempotently. */
  async erase(customerId: string): Promise<DeferredMessage[]> {
    const deferred: DeferredMessage[] = [];
    for await (const items of queryPages(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': customerPk(customerId) },
    })) {
      for (const item of items)
        if (String(item.sk).startsWith(DEFERRED_PREFIX)) deferred.push(fromDeferredItem(item));
      await batchWrite(
        this.db,
        this.table,
        items.map((i) => ({ DeleteRequest: { Key: { pk: i.pk, sk: i.sk } } })),
      );
    }
    return deferred;
  }
}
