/**
 * The shared request count of each API key, for the rate limit (shared/app/rate-limit.ts): one item per
 * key holding a running total `c`. An instance adds what it admitted since its last sync with one
 * UpdateItem `ADD`, which returns the total; an instance that admitted nothing only reads the total (a
 * strongly consistent GetItem). The total only grows, so no clock is compared: instances whose clocks
 * differ still add to and read the same count. The item expires a day after its last write (TTL `x`);
 * the limiter reads a total below the one it saw last as a count that started again.
 */
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RateCounter } from '../../ports.ts';
import { rateCounterKey } from './keys.ts';

export const RATE_COUNTER_TTL_S = 24 * 3600;

export class DynamoRateCounter implements RateCounter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async add(keyId: string, delta: number, now: number): Promise<number> {
    const Key = rateCounterKey(keyId);
    if (delta === 0) {
      const { Item } = await this.db.send(
        new GetCommand({ TableName: this.table, Key, ConsistentRead: true, ProjectionExpression: 'c' }),
      );
      return Number(Item?.c ?? 0);
    }
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key,
        UpdateExpression: 'ADD c :delta SET x = :ttl',
        ExpressionAttributeValues: { ':delta': delta, ':ttl': Math.floor(now / 1000) + RATE_COUNTER_TTL_S },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(Attributes?.c ?? 0);
  }
}
