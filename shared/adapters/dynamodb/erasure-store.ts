/**
 * What an erasure leaves so that nothing of the erased customer outlives it:
 *
 * - **markers**, `ERASED#<ref>` / `<life>` (`ref` a keyed hash of the customer id, never the id), with
 *   the time of the erasure (`t`): dispatch reads them (BatchGetItem, once per SQS batch) and does not
 *   deliver a message of an erased life. They expire after MARKER_TTL_S, longer than a message can stay
 *   in the delivery queue (4 days) and then the dead-letter queue (14 days) before a redrive.
 * - **sweeps**, in the customer's partition (`E#<life>`), filed in the `due` index under their own
 *   shard: the release function runs each once it is due and deletes it.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ErasureStore, Sweep } from '../../ports.ts';
import { customerPk, DUE_INDEX, DUE_SHARDS, dueSk, erasedPk, shardOf, sweepDuePk, sweepSk } from './keys.ts';
import { queryPages } from './pages.ts';

/** 30 days: past the queue's 4 days and the dead-letter queue's 14, with room for a late redrive. */
export const MARKER_TTL_S = 30 * 24 * 3600;
const MINUTE = 60_000;

export class DynamoErasureStore implements ErasureStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async mark(ref: string, lives: string[], now: number): Promise<Record<string, number>> {
    const erasedAt: Record<string, number> = {};
    await Promise.all(
      lives.map(async (life) => {
        const out = await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: erasedPk(ref), sk: life },
            // An erasure retried keeps the time of the first: counts made at it are rewritten, not added.
            UpdateExpression: 'SET t = if_not_exists(t, :now), x = :ttl',
            ExpressionAttributeValues: { ':now': now, ':ttl': Math.floor(now / 1000) + MARKER_TTL_S },
            ReturnValues: 'ALL_NEW',
          }),
        );
        erasedAt[life] = Number(out.Attributes?.t ?? now);
      }),
    );
    return erasedAt;
  }

  async erasedAt(ref: string, life: string): Promise<number | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: erasedPk(ref), sk: life }, ConsistentRead: true }),
    );
    return out.Item ? Number(out.Item.t) : undefined;
  }

  async erased(pairs: { ref: string; life: string }[]): Promise<boolean[]> {
    const name = (ref: string, life: string) => `${ref} ${life}`;
    const found = new Set<string>();
    const unique = [...new Map(pairs.map((p) => [name(p.ref, p.life), p])).values()];
    for (let i = 0; i < unique.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = unique
        .slice(i, i + 100)
        .map((p) => ({ pk: erasedPk(p.ref), sk: p.life }));
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
        const out = await this.db.send(
          new BatchGetCommand({
            RequestItems: {
              [this.table]: { Keys: keys, ProjectionExpression: 'pk, sk', ConsistentRead: true },
            },
          }),
        );
        for (const item of out.Responses?.[this.table] ?? [])
          found.add(name(String(item.pk).slice(erasedPk('').length), String(item.sk)));
        keys = out.UnprocessedKeys?.[this.table]?.Keys as Record<string, unknown>[] | undefined;
      }
    }
    return pairs.map((p) => found.has(name(p.ref, p.life)));
  }

  async schedule(sweep: Sweep): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: customerPk(sweep.customerId),
          sk: sweepSk(sweep.life),
          due: sweepDuePk(sweep.at, shardOf(sweep.customerId, DUE_SHARDS)),
          rt: dueSk(sweep.at, sweep.life),
          r: sweep.at,
          e: JSON.stringify(sweep.erasedAt),
        },
      }),
    );
  }

  async due(from: number, until: number): Promise<Sweep[]> {
    const found: Sweep[] = [];
    for (let minute = from - (from % MINUTE); minute <= until; minute += MINUTE) {
      const shards = await Promise.all(
        Array.from({ length: DUE_SHARDS }, (_, shard) => this.dueIn(sweepDuePk(minute, shard), until)),
      );
      for (const sweeps of shards) found.push(...sweeps);
    }
    return found;
  }

  private async dueIn(due: string, until: number): Promise<Sweep[]> {
    const found: Sweep[] = [];
    for await (const items of queryPages(this.db, {
      TableName: this.table,
      IndexName: DUE_INDEX,
      KeyConditionExpression: '#due = :due AND rt <= :until',
      ExpressionAttributeNames: { '#due': 'due' },
      ExpressionAttributeValues: { ':due': due, ':until': dueSk(until, '~') },
    })) {
      for (const item of items) {
        found.push({
          customerId: String(item.pk).slice(customerPk('').length),
          life: String(item.sk).slice(sweepSk('').length),
          erasedAt: JSON.parse(String(item.e)) as Record<string, number>,
          at: Number(item.r),
        });
      }
    }
    return found;
  }

  async done(sweep: Sweep): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: customerPk(sweep.customerId), sk: sweepSk(sweep.life) },
          // A later erasure of the same life may have scheduled it again, later: that one stays.
          ConditionExpression: 'attribute_not_exists(r) OR r <= :at',
          ExpressionAttributeValues: { ':at': sweep.at },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
