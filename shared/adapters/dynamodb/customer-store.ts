/**
 * Customer state in one item per customer: `l` the ordered log (first the block compaction wrote, with
 * the base of preferences and hard suppressions and the settled entries, then the entries appended
 * since, a long one split over several elements), `n` the write counter, `s` the life (a random id set
 * when the item is created), `p` the archive's pseudonym salt (another random value set with it, see
 * shared/domain/archive.ts: deleted with the item, never kept by an erasure marker), `x` the TTL, `k`
 * the TTL of a customer whose consent is kept.
 *
 * A decision is one atomic UpdateItem (list_append plus counter, ALL_NEW) conditional only on the log
 * having room: at most MAX_ELEMENTS elements, so that however many writers append at once, the entries
 * between two compactions are bounded. A refused append is followed by a compaction (conditional on the
 * counter and the life: while the log is full nobody can append, so one compactor wins) that writes the
 * refused entries with it. Compaction writes the block and the entries appended with it at once.
 */
import { randomBytes } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CustomerBase, LogEntry } from '../../domain/customer-log.ts';
import {
  type AppendCondition,
  AppendRefusedError,
  type CustomerRecord,
  type CustomerStore,
  type DeferredMessage,
  type DeliveryStatus,
  LEGACY_LIFE,
  type PartitionItem,
} from '../../ports.ts';
import type { DynamoClients } from './client.ts';
import { batchWrite, fromDeferredItem } from './deferred-store.ts';
import { decodeBase, decodeBlock, decodeEntry, encodeBlock, encodeEntry, isBlock } from './entry-codec.ts';
import { itemSize, wireItemSize } from './item-size.ts';
import { customerPk, DEFERRED_PREFIX, deferredSk, LEDGER_PREFIX, STATE_SK } from './keys.ts';
import { queryPages, scanPages } from './pages.ts';

/** Customer state expires this long after its last write unless it holds preferences. */
const STATE_TTL_S = 100 * 24 * 3600;
/** Far-future TTL for customers with preferences or suppressions: consent is kept until erased. */
const KEEP = 32_503_680_000; // 3000-01-01

/**
 * The most list elements a log takes: the block and the raw entries after it. Each element holds at
 * most CHUNK characters (a longer entry, such as a preference change naming a hundred long topics,
 * continues over several), so the raw entries between two compactions weigh at most about 63 KB
 * whatever the traffic.
 */
export const MAX_ELEMENTS = 64;
/** The characters of one element of a raw entry; the rest continues in the next, marked CONTINUED. */
export const CHUNK = 1024;
const CONTINUED = '+';

/** A raw entry's text as list elements. */
function elementsOf(entry: LogEntry): string[] {
  const text = encodeEntry(entry);
  if (text.length <= CHUNK) return [text];
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    let end = Math.min(text.length, i + (i === 0 ? CHUNK : CHUNK - 1));
    // Never between the two halves of a surrogate pair.
    const code = text.charCodeAt(end - 1);
    if (end < text.length && code >= 0xd800 && code <= 0xdbff) end--;
    out.push(i === 0 ? text.slice(i, end) : CONTINUED + text.slice(i, end));
    i = end;
  }
  return out;
}

/** The attributes of a customer item that make its record, however the item was read. */
interface StateAttributes {
  log: string[];
  version: number;
  life: string | undefined;
  salt: string | undefined;
}

function toRecord(a: StateAttributes, itemBytes: number): CustomerRecord {
  let base = decodeBase(undefined);
  const entries: LogEntry[] = [];
  const texts: string[] = [];
  a.log.forEach((text, i) => {
    if (i === 0 && isBlock(text)) {
      const block = decodeBlock(text);
      base = block.base;
      entries.push(...block.entries);
    } else if (text.startsWith(CONTINUED) && texts.length > 0) {
      texts[texts.length - 1] += text.slice(CONTINUED.length);
    } else texts.push(text);
  });
  for (const text of texts) entries.push(decodeEntry(text));
  const record: CustomerRecord = {
    base,
    entries,
    version: a.version,
    itemBytes,
    life: a.life,
    elements: a.log.length,
  };
  if (a.salt !== undefined) record.salt = a.salt;
  return record;
}

const strings = (v: AttributeValue | undefined) => (v?.L ?? []).map((e) => e.S ?? '');

/** From the wire format, as the decision path reads it. */
const fromWire = (item: Record<string, AttributeValue>) =>
  toRecord(
    {
      log: strings(item.l),
      version: Number(item.n?.N ?? 0),
      life: item.s?.S,
      salt: saltText(item.p?.B),
    },
    wireItemSize(item),
  );

/** From a document client's item (scans). */
const fromDocument = (item: Record<string, unknown>) =>
  toRecord(
    {
      log: (item.l as string[] | undefined) ?? [],
      version: Number(item.n ?? 0),
      life: item.s as string | undefined,
      salt: saltText(item.p as Uint8Array | undefined),
    },
    itemSize(item),
  );

const wireKey = (customerId: string) => ({ pk: { S: customerPk(customerId) }, sk: { S: STATE_SK } });
const wireNumber = (n: number) => ({ N: String(n) });

/** Random bytes drawn a few kilobytes at a time: an append offers a new life every time. */
let pool = Buffer.alloc(0);
let drawn = 0;

function draw(bytes: number): Buffer {
  if (drawn + bytes > pool.length) {
    pool = randomBytes(6 * 1024);
    drawn = 0;
  }
  drawn += bytes;
  return pool.subarray(drawn - bytes, drawn);
}

/** A new record's life: 48 random bits, enough to tell the lives of one customer apart. */
export const newLife = () => draw(6).toString('base64url');

/**
 * A new record's pseudonym salt: 48 random bits, stored as a binary attribute (7 bytes with its name:
 * what the ordinary customer's item can spare under 1 KB). Nothing kept after an erasure derives it.
 */
export const newSalt = () => Uint8Array.from(draw(6));

const saltText = (salt: Uint8Array | undefined) =>
  salt === undefined ? undefined : Buffer.from(salt).toString('base64url');

/** The condition that the record has `life` (a record from before lives has none). */
const lifeCondition = (life: string) => (life === LEGACY_LIFE ? 'attribute_not_exists(s)' : 's = :life');

/** The UpdateItem input of an append, in the wire format. */
export function appendCommandInput(
  table: string,
  customerId: string,
  entries: LogEntry[],
  now: number,
  condition: AppendCondition = {},
) {
  const keepsConsent = entries.some((e) => e.type === 'preferences' || e.type === 'feedback');
  const elements = entries.flatMap(elementsOf);
  if (elements.length > MAX_ELEMENTS - 1) throw new RangeError(`${elements.length} elements in one append`);
  const values: Record<string, AttributeValue> = {
    ':empty': { L: [] },
    ':entries': { L: elements.map((S) => ({ S })) },
    ':zero': wireNumber(0),
    ':one': wireNumber(1),
    ':ttl': wireNumber(Math.floor(now / 1000) + STATE_TTL_S),
    ':room': wireNumber(MAX_ELEMENTS - elements.length),
    ':new': { S: newLife() },
    ':salt': { B: newSalt() },
  };
  if (keepsConsent) values[':keep'] = wireNumber(KEEP);
  // Without parentheses: dynalite's expression parser takes five times as long over them (0.5 ms a
  // request). A record that exists always has its log (compaction writes an empty list, not none).
  let conditionExpression = 'attribute_not_exists(l) OR size(l) <= :room';
  if (condition.mustExist || condition.life !== undefined) {
    conditionExpression = 'attribute_exists(n) AND size(l) <= :room';
    if (condition.life !== undefined) {
      conditionExpression += ` AND ${lifeCondition(condition.life)}`;
      if (condition.life !== LEGACY_LIFE) values[':life'] = { S: condition.life };
    }
  }
  return {
    TableName: table,
    Key: wireKey(customerId),
    UpdateExpression: `SET l = list_append(if_not_exists(l, :empty), :entries), n = if_not_exists(n, :zero) + :one, x = if_not_exists(k, :ttl), s = if_not_exists(s, :new), p = if_not_exists(p, :salt)${keepsConsent ? ', k = :keep' : ''}`,
    ConditionExpression: conditionExpression,
    ExpressionAttributeValues: values,
    ReturnValues: 'ALL_NEW' as const,
    // DynamoDB answers a refusal with the item as it is (saves a read); dynalite does not.
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/** The record an item read after a refused write, when the error carries it. */
function refusedItem(error: unknown): CustomerRecord | undefined {
  const item = (error as { Item?: Record<string, AttributeValue> }).Item;
  return item && Object.keys(item).length > 0 ? fromWire(item) : undefined;
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

  async append(
    customerId: string,
    entries: LogEntry[],
    now: number,
    condition?: AppendCondition,
  ): Promise<CustomerRecord> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand(appendCommandInput(this.table, customerId, entries, now, condition)),
      );
      return fromWire(out.Attributes ?? {});
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new AppendRefusedError(refusedItem(error));
      throw error;
    }
  }

  fits(record: CustomerRecord, entries: LogEntry[]): boolean {
    let elements = record.elements;
    for (const e of entries) elements += elementsOf(e).length;
    return elements <= MAX_ELEMENTS;
  }

  async read(customerId: string): Promise<CustomerRecord | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: wireKey(customerId), ConsistentRead: true }),
    );
    return out.Item ? fromWire(out.Item) : undefined;
  }

  async replace(
    customerId: string,
    record: CustomerRecord,
    base: CustomerBase,
    entries: LogEntry[],
    now: number,
    tail: LogEntry[] = [],
  ): Promise<CustomerRecord | undefined> {
    const block = encodeBlock(base, entries);
    const elements = [...(block === undefined ? [] : [block]), ...tail.flatMap(elementsOf)];
    const life = record.life ?? LEGACY_LIFE;
    const values: Record<string, AttributeValue> = {
      ':l': { L: elements.map((S) => ({ S })) },
      ':one': wireNumber(1),
      ':n': wireNumber(record.version),
      ':ttl': wireNumber(Math.floor(now / 1000) + STATE_TTL_S),
    };
    if (life !== LEGACY_LIFE) values[':life'] = { S: life };
    const keepsConsent = tail.some((e) => e.type === 'preferences' || e.type === 'feedback');
    if (keepsConsent) values[':keep'] = wireNumber(KEEP);
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: wireKey(customerId),
          UpdateExpression: `SET l = :l, n = n + :one, x = if_not_exists(k, :ttl)${keepsConsent ? ', k = :keep' : ''}`,
          // The life too: an erased record's counter starts again from zero in its next life.
          ConditionExpression: `n = :n AND ${lifeCondition(life)}`,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromWire(out.Attributes ?? {});
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** The customer's whole partition in one query: the record, the deferred messages, the rest. */
  async partition(
    customerId: string,
  ): Promise<{ record?: CustomerRecord; deferred: DeferredMessage[]; others: PartitionItem[] }> {
    let record: CustomerRecord | undefined;
    const deferred: DeferredMessage[] = [];
    const others: PartitionItem[] = [];
    for await (const items of this.partitionPages(customerId)) {
      for (const item of items) {
        const sk = String(item.sk);
        if (sk === STATE_SK) record = fromDocument(item);
        else if (sk.startsWith(DEFERRED_PREFIX)) deferred.push(fromDeferredItem(item));
        else {
          const other: PartitionItem = { sk, life: item.lf === undefined ? undefined : String(item.lf) };
          if (sk.startsWith(LEDGER_PREFIX) && item.st !== undefined)
            other.delivery = { messageId: sk.slice(LEDGER_PREFIX.length), status: item.st as DeliveryStatus };
          others.push(other);
        }
      }
    }
    return record ? { record, deferred, others } : { deferred, others };
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

  async deleteRecord(customerId: string, life: string): Promise<CustomerRecord | undefined> {
    try {
      const out = await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: wireKey(customerId),
          ConditionExpression: `attribute_exists(n) AND ${lifeCondition(life)}`,
          ...(life === LEGACY_LIFE ? {} : { ExpressionAttributeValues: { ':life': { S: life } } }),
          ReturnValues: 'ALL_OLD',
        }),
      );
      return out.Attributes ? fromWire(out.Attributes) : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async deleteDeferred(d: DeferredMessage): Promise<boolean> {
    const life = d.life ?? LEGACY_LIFE;
    try {
      const out = await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: { pk: { S: customerPk(d.message.customerId) }, sk: { S: deferredSk(d.message.messageId) } },
          ConditionExpression:
            life === LEGACY_LIFE ? 'attribute_exists(pk) AND attribute_not_exists(lf)' : 'lf = :life',
          ...(life === LEGACY_LIFE ? {} : { ExpressionAttributeValues: { ':life': { S: life } } }),
          ReturnValues: 'ALL_OLD',
        }),
      );
      return out.Attributes !== undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async deleteItems(customerId: string, sks: string[]): Promise<void> {
    await batchWrite(
      this.db,
      this.table,
      sks.map((sk) => ({ DeleteRequest: { Key: { pk: customerPk(customerId), sk } } })),
    );
  }
}
