/**
 * Customer state in one item per customer: `l` the ordered log (first the block compaction wrote, with
 * the base of preferences and hard suppressions and the settled entries, then the entries appended
 * since), `n` the write counter, `x` the TTL, `k` the TTL of a customer whose consent is kept. A
 * decision is one conditional-free atomic UpdateItem (list_append plus counter, ALL_NEW); compaction is
 * an UpdateItem conditional on the counter, so it never loses an append.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CustomerBase, LogEntry } from '../../domain/customer-log.ts';
import type { CustomerRecord, CustomerStore, DeferredMessage } from '../../ports.ts';
import type { DynamoClients } from './client.ts';
import { batchWrite, fromDeferredItem } from './deferred-store.ts';
import {
  Dictionary,
  decodeBase,
  decodeBlock,
  decodeEntry,
  encodeBlock,
  encodeEntry,
  isBlock,
} from './entry-codec.ts';
import { itemSize, wireItemSize } from './item-size.ts';
import { customerPk, DEFERRED_PREFIX, STATE_SK } from './keys.ts';
import { queryPages, scanPages } from './pages.ts';

/** Customer state expires this long after its last write unless it holds preferences. */
const STATE_TTL_S = 100 * 24 * 3600;
/** Far-future TTL for customers with preferences or suppressions: consent is kept until erased. */
const KEEP = 32_503_680_000; // 3000-01-01

/** The attributes of a customer item that make its record, however the item was read. */
interface StateAttributes {
  log: string[];
  words: string[];
  base: string | undefined;
  version: number;
}

function toRecord(a: StateAttributes, itemBytes: number): CustomerRecord {
  // Items compacted before blocks existed keep their base in `b` and their words in `d`.
  let base = decodeBase(a.base);
  const words = new Dictionary(a.words);
  const entries: LogEntry[] = [];
  a.log.forEach((text, i) => {
    if (i === 0 && isBlock(text)) {
      const block = decodeBlock(text);
      base = block.base;
      entries.push(...block.entries);
    } else entries.push(decodeEntry(text, words));
  });
  return { base, entries, version: a.version, itemBytes };
}

const strings = (v: AttributeValue | undefined) => (v?.L ?? []).map((e) => e.S ?? '');

/** From the wire format, as the decision path reads it. */
const fromWire = (item: Record<string, AttributeValue>) =>
  toRecord(
    { log: strings(item.l), words: strings(item.d), base: item.b?.S, version: Number(item.n?.N ?? 0) },
    wireItemSize(item),
  );

/** From a document client's item (scans). */
const fromDocument = (item: Record<string, unknown>) =>
  toRecord(
    {
      log: (item.l as string[] | undefined) ?? [],
      words: (item.d as string[] | undefined) ?? [],
      base: item.b as string | undefined,
      version: Number(item.n ?? 0),
    },
    itemSize(item),
  );

const wireKey = (customerId: string) => ({ pk: { S: customerPk(customerId) }, sk: { S: STATE_SK } });
const wireNumber = (n: number) => ({ N: String(n) });

/** The UpdateItem input of an append, in the wire format. */
function appendCommandInput(table: string, customerId: string, entries: LogEntry[], now: number) {
  const keepsConsent = entries.some((e) => e.type === 'preferences' || e.type === 'feedback');
  const values: Record<string, AttributeValue> = {
    ':empty': { L: [] },
    ':entries': { L: entries.map((e) => ({ S: encodeEntry(e) })) },
    ':zero': wireNumber(0),
    ':one': wireNumber(1),
    ':ttl': wireNumber(Math.floor(now / 1000) + STATE_TTL_S),
  };
  if (keepsConsent) values[':keep'] = wireNumber(KEEP);
  return {
    TableName: table,
    Key: wireKey(customerId),
    UpdateExpression: `SET l = list_append(if_not_exists(l, :empty), :entries), n = if_not_exists(n, :zero) + :one, x = if_not_exists(k, :ttl)${keepsConsent ? ', k = :keep' : ''}`,
    ExpressionAttributeValues: values,
    ReturnValues: 'ALL_NEW' as const,
  };
}

export class DynamoCustomerStore implements CustomerStore {
  private readonly client: DynamoDBClient;
  private readonly db: DynamoDBDocumentClient;

  constructor(
    clients: DynamoClients,
    private readonly table: string,
  ) {
    this.client = clients.client;
    this.db = clients.db;
  }

  async append(customerId: string, entries: LogEntry[], now: number): Promise<CustomerRecord> {
    const out = await this.client.send(
      new UpdateItemCommand(appendCommandInput(this.table, customerId, entries, now)),
    );
    return fromWire(out.Attributes ?? {});
  }

  async read(customerId: string): Promise<CustomerRecord | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: wireKey(customerId), ConsistentRead: true }),
    );
    return out.Item ? fromWire(out.Item) : undefined;
  }

  async replace(
    customerId: string,
    version: number,
    base: CustomerBase,
    entries: LogEntry[],
    now: number,
  ): Promise<boolean> {
    const block = encodeBlock(base, entries);
    const values: Record<string, unknown> = {
      ':l': block === undefined ? [] : [block],
      ':one': 1,
      ':n': version,
      ':ttl': Math.floor(now / 1000) + STATE_TTL_S,
    };
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: customerPk(customerId), sk: STATE_SK },
          // b and d held the base and the words before blocks did.
          UpdateExpression: 'SET l = :l, n = n + :one, x = if_not_exists(k, :ttl) REMOVE b, d',
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

  /** The customer's whole partition in one query: the state item's record and the deferred messages. */
  async held(customerId: string): Promise<{ record?: CustomerRecord; deferred: DeferredMessage[] }> {
    let record: CustomerRecord | undefined;
    const deferred: DeferredMessage[] = [];
    for await (const items of this.partitionPages(customerId)) {
      for (const item of items) {
        if (item.sk === STATE_SK) record = fromDocument(item);
        else if (String(item.sk).startsWith(DEFERRED_PREFIX)) deferred.push(fromDeferredItem(item));
      }
    }
    return record ? { record, deferred } : { deferred };
  }

  private partitionPages(customerId: string) {
    return queryPages(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': customerPk(customerId) },
      ConsistentRead: true,
    });
  }

  async *scan(): AsyncIterable<{ customerId: string; record: CustomerRecord }> {
    for await (const items of scanPages(this.db, {
      TableName: this.table,
      FilterExpression: 'sk = :state AND begins_with(pk, :customer)',
      ExpressionAttributeValues: { ':state': STATE_SK, ':customer': customerPk('') },
    })) {
      for (const item of items) {
        yield { customerId: String(item.pk).slice(customerPk('').length), record: fromDocument(item) };
      }
    }
  }

  /** Deletes everything in the customer's partition (state and deferred messages), idempotently. */
  async erase(customerId: string): Promise<DeferredMessage[]> {
    const deferred: DeferredMessage[] = [];
    for await (const items of this.partitionPages(customerId)) {
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
