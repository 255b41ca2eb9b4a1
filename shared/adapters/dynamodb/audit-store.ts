/**
 * The audit trail in the single table: one item per event, `AUDIT#<day>#<shard>` / `<iso time>#<id>`
 * (see keys.ts), the entry as JSON in `e`, expiring with the TTL `x`. Reading a period queries each day's
 * shards and merges them in time order.
 */
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '../../domain/schemas.ts';
import type { AuditPage, AuditPosition, AuditStore } from '../../ports.ts';
import { AUDIT_SHARDS, auditPk, auditSk, shardOf } from './keys.ts';

const DAY_MS = 86_400_000;

export function toAuditItem(entry: AuditEntry, expiresAt: number): Record<string, unknown> {
  const sk = auditSk(entry.at, entry.id);
  return {
    pk: auditPk(entry.at.slice(0, 10), shardOf(sk, AUDIT_SHARDS)),
    sk,
    e: JSON.stringify(entry),
    x: expiresAt,
  };
}

/** The days from `from` to `to`, both included (YYYY-MM-DD). */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += DAY_MS)
    days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

interface Item {
  sk: string;
  entry: AuditEntry;
}

export class DynamoAuditStore implements AuditStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async put(entry: AuditEntry, expiresAt: number): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: toAuditItem(entry, expiresAt) }));
  }

  async list(fromDay: string, toDay: string, limit: number, start?: AuditPosition): Promise<AuditPage> {
    const entries: AuditEntry[] = [];
    for (const day of daysBetween(start?.day ?? fromDay, toDay)) {
      const after = day === start?.day ? start.after : undefined;
      const wanted = limit - entries.length;
      const shards = await Promise.all(
        Array.from({ length: AUDIT_SHARDS }, (_, shard) => this.queryShard(day, shard, after, wanted)),
      );
      const merged = shards.flatMap((s) => s.items).sort((a, b) => (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0));
      const taken = merged.slice(0, wanted);
      entries.push(...taken.map((i) => i.entry));
      const more = merged.length > taken.length || shards.some((s) => s.more);
      if (entries.length >= limit && (more || day < toDay)) {
        return { entries, next: { day, after: taken.at(-1)?.sk ?? after ?? '' } };
      }
    }
    return { entries };
  }

  private async queryShard(
    day: string,
    shard: number,
    after: string | undefined,
    limit: number,
  ): Promise<{ items: Item[]; more: boolean }> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: after === undefined ? 'pk = :pk' : 'pk = :pk AND sk > :after',
        ExpressionAttributeValues: {
          ':pk': auditPk(day, shard),
          ...(after === undefined ? {} : { ':after': after }),
        },
        Limit: limit,
      }),
    );
    const items = (out.Items ?? []).map((item) => ({
      sk: String(item.sk),
      entry: JSON.parse(String(item.e)) as AuditEntry,
    }));
    return { items, more: out.LastEvaluatedKey !== undefined };
  }
}
