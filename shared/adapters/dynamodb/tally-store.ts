/**
 * Decision counts. Each flush is one PutItem per day it touches, keyed by a flush id, so a retried write
 * replaces itself instead of counting twice; reports sum the day's items across its shards. Kinds keep
 * apart live counts, anonymous archives of erased customers, and reconciliation corrections.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DayCounts } from '../../domain/tally.ts';
import { COUNTED, type TallyKind, type TallyStore } from '../../ports.ts';
import { TALLY_SHARDS, tallyPk } from './keys.ts';
import { queryPages } from './pages.ts';

function shardFor(flushId: string): number {
  let h = 0;
  for (let i = 0; i < flushId.length; i++) h = (h * 31 + flushId.charCodeAt(i)) >>> 0;
  return h % TALLY_SHARDS;
}

export class DynamoTallyStore implements TallyStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async put(flushId: string, kind: TallyKind, counts: DayCounts, version?: number): Promise<void> {
    const shard = shardFor(flushId);
    await Promise.all(
      [...counts].map(async ([day, groups]) => {
        try {
          await this.db.send(
            new PutCommand({
              TableName: this.table,
              Item: {
                pk: tallyPk(day, shard),
                sk: `${kind}#${flushId}`,
                k: kind,
                g: Object.fromEntries(groups),
                ...(version === undefined ? {} : { v: version }),
              },
              ...(version === undefined
                ? {}
                : {
                    ConditionExpression: 'attribute_not_exists(v) OR v <= :v',
                    ExpressionAttributeValues: { ':v': version },
                  }),
            }),
          );
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }),
    );
  }

  async read(days: string[], kinds: readonly TallyKind[] = COUNTED): Promise<DayCounts> {
    const out: DayCounts = new Map();
    const queries = days.flatMap((day) =>
      Array.from({ length: TALLY_SHARDS }, (_, shard) => ({ day, shard })),
    );
    let next = 0;
    const worker = async () => {
      while (next < queries.length) {
        const { day, shard } = queries[next++] as { day: string; shard: number };
        for await (const items of queryPages(this.db, {
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': tallyPk(day, shard) },
        })) {
          for (const item of items) {
            if (!kinds.includes(item.k as TallyKind)) continue;
            const groups = out.get(day) ?? new Map<string, number>();
            for (const [key, n] of Object.entries(item.g as Record<string, number>)) {
              groups.set(key, (groups.get(key) ?? 0) + Number(n));
            }
            out.set(day, groups);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    return out;
  }
}
