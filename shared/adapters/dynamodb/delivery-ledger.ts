/**
 * The delivery ledger: one item per queued message, in the customer's partition (`C#<customerId>`,
 * `L#<messageId>`), so that erasing a customer erases it too and two customers' messages never share an
 * entry. `lf` is the life of the customer's record the message was decided in. `st` is the status (sending | retrying | delivered | dead), `lu` the lease's end while sending
 * (epoch ms), `a` the attempts, `r` the last failure reason, `p` the provider, `x` the TTL (30 days:
 * longer than SQS keeps a message, so a redelivery always finds its entry).
 *
 * The claim is one conditional UpdateItem: it succeeds unless the message is delivered or somebody else
 * holds an unexpired lease. `dead` can be claimed again, so that a message redriven from the DLQ is
 * sent again.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type Claim,
  type Delivery,
  type DeliveryLedger,
  type DeliveryStatus,
  type LedgerEntry,
  ledgerKey,
} from '../../ports.ts';
import { customerPk, LEDGER_PREFIX, ledgerSk } from './keys.ts';

/** How long an entry is kept (DynamoDB TTL, epoch seconds in `x`). */
export const LEDGER_TTL_S = 30 * 24 * 3600;

type Ref = Pick<Delivery, 'customerId' | 'messageId'>;

const keyOf = (d: Ref) => ({ pk: customerPk(d.customerId), sk: ledgerSk(d.messageId) });

function toEntry(item: Record<string, unknown>): LedgerEntry {
  return {
    status: item.st as DeliveryStatus,
    leaseUntil: item.lu === undefined ? undefined : Number(item.lu),
    attempts: Number(item.a ?? 0),
    reason: item.r === undefined ? undefined : String(item.r),
  };
}

/**
 * The claim's UpdateItem input: pure, so that its condition can be checked without a table. The entry
 * records the life of the customer's record the message was decided in (`lf`), so that an erasure finds
 * the entries of the life it erases, and a message of a new life is never taken for one delivered in an
 * erased life under the same messageId.
 */
export function claimCommandInput(
  table: string,
  delivery: Ref & Pick<Delivery, 'life'>,
  provider: string,
  now: number,
  leaseUntil: number,
) {
  const life = delivery.life;
  return {
    TableName: table,
    Key: keyOf(delivery),
    UpdateExpression: `SET st = :sending, lu = :lease, a = if_not_exists(a, :zero) + :one, p = :p, t = :now, x = :ttl${life === undefined ? '' : ', lf = :lf'}`,
    ConditionExpression: `attribute_not_exists(st) OR st = :retrying OR st = :dead OR (st = :sending AND lu < :now)${life === undefined ? '' : ' OR (attribute_exists(lf) AND lf <> :lf)'}`,
    ExpressionAttributeValues: {
      ':sending': 'sending',
      ':retrying': 'retrying',
      ':dead': 'dead',
      ':lease': leaseUntil,
      ':zero': 0,
      ':one': 1,
      ':p': provider,
      ':now': now,
      ':ttl': Math.floor(now / 1000) + LEDGER_TTL_S,
      ...(life === undefined ? {} : { ':lf': life }),
    },
    ReturnValues: 'ALL_NEW' as const,
  };
}

export class DynamoDeliveryLedger implements DeliveryLedger {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async claim(delivery: Delivery, provider: string, now: number, leaseUntil: number): Promise<Claim> {
    try {
      const out = await this.db.send(
        new UpdateCommand(claimCommandInput(this.table, delivery, provider, now, leaseUntil)),
      );
      return { claimed: true, attempts: Number(out.Attributes?.a ?? 1) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // dynalite does not return the item with the failure: read it (only on this rare path).
      return { claimed: false, entry: await this.get(delivery) };
    }
  }

  async get(delivery: Ref): Promise<LedgerEntry | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: keyOf(delivery), ConsistentRead: true }),
    );
    return out.Item ? toEntry(out.Item) : undefined;
  }

  async delivered(delivery: Delivery, now: number, providerMessageId?: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keyOf(delivery),
        UpdateExpression: `SET st = :delivered, t = :now${providerMessageId ? ', pid = :pid' : ''} REMOVE lu, r`,
        ExpressionAttributeValues: {
          ':delivered': 'delivered',
          ':now': now,
          ...(providerMessageId ? { ':pid': providerMessageId } : {}),
        },
      }),
    );
  }

  async giveBack(delivery: Delivery, attempts: number, now: number, reason: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keyOf(delivery),
          UpdateExpression: 'SET st = :retrying, r = :r, t = :now REMOVE lu',
          // Only the holder of this claim gives it back.
          ConditionExpression: 'st = :sending AND a = :a',
          ExpressionAttributeValues: {
            ':retrying': 'retrying',
            ':sending': 'sending',
            ':r': reason,
            ':a': attempts,
            ':now': now,
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async dead(delivery: Delivery, now: number, reason: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keyOf(delivery),
          UpdateExpression: 'SET st = :dead, r = :r, t = :now, x = if_not_exists(x, :ttl) REMOVE lu',
          // A concurrent receive that delivered it wins.
          ConditionExpression: 'attribute_not_exists(st) OR st <> :delivered',
          ExpressionAttributeValues: {
            ':dead': 'dead',
            ':delivered': 'delivered',
            ':r': reason,
            ':now': now,
            ':ttl': Math.floor(now / 1000) + LEDGER_TTL_S,
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async entries(keys: Ref[]): Promise<Map<string, LedgerEntry>> {
    const found = new Map<string, LedgerEntry>();
    const unique = [...new Map(keys.map((k) => [ledgerKey(k), k])).values()];
    for (let i = 0; i < unique.length; i += 100) {
      let pending: Record<string, unknown>[] | undefined = unique.slice(i, i + 100).map(keyOf);
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
        const out = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.table] ?? []) {
          const customerId = String(item.pk).slice(2);
          const messageId = String(item.sk).slice(LEDGER_PREFIX.length);
          found.set(ledgerKey({ customerId, messageId }), toEntry(item));
        }
        pending = out.UnprocessedKeys?.[this.table]?.Keys as Record<string, unknown>[] | undefined;
      }
    }
    return found;
  }
}
