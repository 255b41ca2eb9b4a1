/**
 * Counts what a client really sends: an SDK middleware inside the retry loop sees every attempt of every
 * command (compaction writes, deferred-message puts, policy reads, conditional failures included), and
 * estimates the write units DynamoDB would bill for it from the item sizes it can see.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { wireItemSize } from '#shared/adapters/dynamodb/item-size.ts';

export interface MeterSnapshot {
  /** Attempts sent, by command name (`UpdateItemCommand`, `SendMessageBatchCommand`, …). */
  calls: Record<string, number>;
  dynamoCalls: number;
  sqsCalls: number;
  /** Write units DynamoDB would bill (on-demand: 1 per KB of the larger of the item before and after). */
  writeUnits: number;
  writeUnitsByCall: Record<string, number>;
  /**
   * Read units DynamoDB would bill (on demand: per 4 KB of the items read, rounded up per item for
   * GetItem and BatchGetItem and over the whole page for Query; half as many for an eventually
   * consistent read).
   */
  readUnits: number;
  readUnitsByCall: Record<string, number>;
  /** SQS requests as billed: each 64 KB of a request's message bodies is one request. */
  sqsBilledRequests: number;
  /** Items returned by UpdateItem (ReturnValues ALL_NEW): the customer item as each decision wrote it. */
  itemBytesSum: number;
  itemCount: number;
  itemBytesMax: number;
  errors: number;
}

export const emptySnapshot = (): MeterSnapshot => ({
  calls: {},
  dynamoCalls: 0,
  sqsCalls: 0,
  writeUnits: 0,
  writeUnitsByCall: {},
  readUnits: 0,
  readUnitsByCall: {},
  sqsBilledRequests: 0,
  itemBytesSum: 0,
  itemCount: 0,
  itemBytesMax: 0,
  errors: 0,
});

type Args = { input: object };
type Output = { output: object };
type Next = (args: Args) => Promise<Output>;
type Middleware = (next: Next, context: { commandName?: string }) => Next;

/** Any SDK v3 client (DynamoDBClient, DynamoDB, DynamoDBDocumentClient, SQSClient). */
export interface Meterable {
  middlewareStack: object;
}
/** The one overload of `middlewareStack.add` the meter uses, without the SDK's per-service generics. */
type AddFinalize = {
  add(middleware: Middleware, options: { step: 'finalizeRequest'; name: string; priority: 'low' }): void;
};

const KB = 1024;
const units = (bytes: number) => Math.max(1, Math.ceil(bytes / KB));
/** A strongly consistent read unit: 4 KB of item, at least one (even for an item not found). */
const readUnitsOf = (bytes: number) => Math.max(1, Math.ceil(bytes / (4 * KB)));
const SQS_CHUNK = 64 * KB;

/** The requests SQS bills for one call: one per 64 KB of its message bodies (at least one). */
function sqsRequestsBilled(input: Record<string, unknown>): number {
  const entries = (input.Entries as { MessageBody?: string }[] | undefined) ?? [];
  const body = typeof input.MessageBody === 'string' ? Buffer.byteLength(input.MessageBody) : 0;
  const bytes = entries.reduce((n, e) => n + Buffer.byteLength(e.MessageBody ?? ''), body);
  return Math.max(1, Math.ceil(bytes / SQS_CHUNK));
}
type WireItem = Record<string, AttributeValue>;

export class CallMeter {
  private s = emptySnapshot();
  /** The last size seen of each item, for writes whose response does not carry the item. */
  private readonly sizes = new Map<string, number>();

  reset(): void {
    this.s = emptySnapshot();
  }

  snapshot(): MeterSnapshot {
    return {
      ...this.s,
      calls: { ...this.s.calls },
      writeUnitsByCall: { ...this.s.writeUnitsByCall },
      readUnitsByCall: { ...this.s.readUnitsByCall },
    };
  }

  attach(client: Meterable, service: 'dynamodb' | 'sqs'): void {
    const middleware: Middleware = (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      this.s.calls[name] = (this.s.calls[name] ?? 0) + 1;
      if (service === 'sqs') {
        this.s.sqsCalls++;
        this.s.sqsBilledRequests += sqsRequestsBilled(args.input as Record<string, unknown>);
        return next(args);
      }
      this.s.dynamoCalls++;
      try {
        const out = await next(args);
        this.observe(name, args.input as Record<string, unknown>, out.output as Record<string, unknown>);
        return out;
      } catch (error) {
        this.s.errors++;
        // A failed conditional write is billed like a write of the item as it is.
        if (name === 'UpdateItemCommand' || name === 'PutItemCommand' || name === 'DeleteItemCommand')
          this.bill(name, units(this.sizes.get(keyOf(args.input as Record<string, unknown>)) ?? 0));
        throw error;
      }
    };
    (client.middlewareStack as AddFinalize).add(middleware, {
      step: 'finalizeRequest',
      name: 'benchCallMeter',
      priority: 'low',
    });
  }

  private bill(name: string, writeUnits: number): void {
    this.s.writeUnits += writeUnits;
    this.s.writeUnitsByCall[name] = (this.s.writeUnitsByCall[name] ?? 0) + writeUnits;
  }

  private read(name: string, readUnits: number): void {
    this.s.readUnits += readUnits;
    this.s.readUnitsByCall[name] = (this.s.readUnitsByCall[name] ?? 0) + readUnits;
  }

  private observe(name: string, input: Record<string, unknown>, output: Record<string, unknown>): void {
    const consistency = input.ConsistentRead === true ? 1 : 0.5;
    switch (name) {
      case 'GetItemCommand':
        this.read(name, consistency * readUnitsOf(output.Item ? wireItemSize(output.Item as WireItem) : 0));
        break;
      case 'QueryCommand':
      case 'ScanCommand': {
        const items = (output.Items ?? []) as WireItem[];
        this.read(name, consistency * readUnitsOf(items.reduce((n, item) => n + wireItemSize(item), 0)));
        break;
      }
      case 'BatchGetItemCommand': {
        const tables = (output.Responses ?? {}) as Record<string, WireItem[]>;
        const requested = (input.RequestItems ?? {}) as Record<string, { ConsistentRead?: boolean }>;
        for (const [table, items] of Object.entries(tables)) {
          const factor = requested[table]?.ConsistentRead === true ? 1 : 0.5;
          for (const item of items) this.read(name, factor * readUnitsOf(wireItemSize(item)));
        }
        break;
      }
      case 'UpdateItemCommand': {
        const key = keyOf(input);
        const attributes = output.Attributes as WireItem | undefined;
        if (attributes) {
          const bytes = wireItemSize(attributes);
          this.s.itemBytesSum += bytes;
          this.s.itemCount++;
          this.s.itemBytesMax = Math.max(this.s.itemBytesMax, bytes);
          // An append only grows the item: the item after it is the larger one.
          this.bill(name, units(Math.max(bytes, this.sizes.get(key) ?? 0)));
          this.sizes.set(key, bytes);
        } else {
          // A compaction shrinks the item: billed at its size before.
          this.bill(name, units(this.sizes.get(key) ?? 0));
        }
        break;
      }
      case 'PutItemCommand':
        this.bill(name, units(wireItemSize(input.Item as WireItem)));
        break;
      case 'DeleteItemCommand':
        this.bill(name, units(this.sizes.get(keyOf(input)) ?? 0));
        break;
      case 'BatchWriteItemCommand': {
        const tables = input.RequestItems as Record<string, { PutRequest?: { Item: WireItem } }[]>;
        for (const requests of Object.values(tables))
          for (const r of requests)
            this.bill(name, units(r.PutRequest ? wireItemSize(r.PutRequest.Item) : 0));
        break;
      }
    }
  }
}

function keyOf(input: Record<string, unknown>): string {
  const key = Object.values((input.Key ?? {}) as WireItem)
    .map((v) => v.S ?? v.N ?? '')
    .join('|');
  return `${String(input.TableName)}|${key}`;
}

/** Adds snapshots (the HTTP server process reports its own). */
export function addSnapshots(a: MeterSnapshot, b: MeterSnapshot): MeterSnapshot {
  const sum = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    calls: sum(a.calls, b.calls),
    writeUnitsByCall: sum(a.writeUnitsByCall, b.writeUnitsByCall),
    readUnits: a.readUnits + b.readUnits,
    readUnitsByCall: sum(a.readUnitsByCall, b.readUnitsByCall),
    sqsBilledRequests: a.sqsBilledRequests + b.sqsBilledRequests,
    dynamoCalls: a.dynamoCalls + b.dynamoCalls,
    sqsCalls: a.sqsCalls + b.sqsCalls,
    writeUnits: a.writeUnits + b.writeUnits,
    itemBytesSum: a.itemBytesSum + b.itemBytesSum,
    itemCount: a.itemCount + b.itemCount,
    itemBytesMax: Math.max(a.itemBytesMax, b.itemBytesMax),
    errors: a.errors + b.errors,
  };
}
