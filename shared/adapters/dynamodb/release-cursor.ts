/**
 * The release cursor: one item (`RELEASE` / `CURSOR`) holding the oldest minute that may still hold due
 * deferred messages (`m`, epoch ms) and a write counter (`n`). A run moves it forward only if nobody
 * wrote it since the run read it; moving it back is always allowed. So two runs at once end with the
 * lower of their two values, and a minute one of them could not finish is never skipped.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CursorState, ReleaseCursor } from '../../ports.ts';
import { RELEASE_CURSOR_SK, RELEASE_PK } from './keys.ts';

const Key = { pk: RELEASE_PK, sk: RELEASE_CURSOR_SK };

export class DynamoReleaseCursor implements ReleaseCursor {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async read(): Promise<CursorState | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key, ConsistentRead: true }));
    return out.Item ? { minute: Number(out.Item.m), version: Number(out.Item.n ?? 0) } : undefined;
  }

  async write(minute: number, read: CursorState | undefined): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key,
          UpdateExpression: 'SET m = :m, n = if_not_exists(n, :zero) + :one',
          ConditionExpression: read ? 'n = :n OR m > :m' : 'attribute_not_exists(n) OR m > :m',
          ExpressionAttributeValues: {
            ':m': minute,
            ':zero': 0,
            ':one': 1,
            ...(read ? { ':n': read.version } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
