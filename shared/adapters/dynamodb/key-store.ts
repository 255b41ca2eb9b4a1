/**
 * API keys in the single table: one item per key, `APIKEY` / `K#<id>` (see keys.ts). `h` is the SHA-256
 * of the key; the key itself is never stored. Revocation marks the item (it stays listed, naming who
 * revoked it, until its TTL `x`).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { KeyStore, StoredKey } from '../../ports.ts';
import { API_KEY_PK, API_KEY_PREFIX, apiKeySk } from './keys.ts';
import { queryPages } from './pages.ts';

export function toKeyItem(key: StoredKey): Record<string, unknown> {
  return {
    pk: API_KEY_PK,
    sk: apiKeySk(key.id),
    id: key.id,
    name: key.name,
    scopes: key.scopes,
    ...(key.rateLimit !== undefined ? { rateLimit: key.rateLimit } : {}),
    h: key.hash,
    createdAt: key.createdAt,
    createdBy: key.createdBy,
  };
}

export function fromKeyItem(item: Record<string, unknown>): StoredKey {
  return {
    id: String(item.id),
    name: String(item.name),
    scopes: Array.isArray(item.scopes) ? item.scopes.map(String) : [],
    ...(typeof item.rateLimit === 'number' ? { rateLimit: item.rateLimit } : {}),
    hash: String(item.h),
    createdAt: String(item.createdAt),
    createdBy: String(item.createdBy),
    ...(item.revokedAt !== undefined ? { revokedAt: String(item.revokedAt) } : {}),
    ...(item.revokedBy !== undefined ? { revokedBy: String(item.revokedBy) } : {}),
  };
}

export class DynamoKeyStore implements KeyStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(key: StoredKey): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: toKeyItem(key),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async get(id: string): Promise<StoredKey | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: API_KEY_PK, sk: apiKeySk(id) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? fromKeyItem(out.Item) : undefined;
  }

  async list(): Promise<StoredKey[]> {
    const keys: StoredKey[] = [];
    for await (const items of queryPages(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': API_KEY_PK, ':prefix': API_KEY_PREFIX },
    })) {
      keys.push(...items.map(fromKeyItem));
    }
    return keys;
  }

  async revoke(
    id: string,
    at: string,
    by: string,
    expiresAt: number,
  ): Promise<'revoked' | 'already' | 'missing'> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: API_KEY_PK, sk: apiKeySk(id) },
          UpdateExpression: 'SET revokedAt = :at, revokedBy = :by, x = :x',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: { ':at': at, ':by': by, ':x': expiresAt },
        }),
      );
      return 'revoked';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return (await this.get(id)) ? 'already' : 'missing';
    }
  }
}
