/**
 * Policy versions. `CURRENT` holds the version in force (changed only by a conditional update, so two
 * marketers cannot both win); `V#n` items keep every version for replays and history. A version is
 * written to history before the next one replaces it, so a crash between the two writes is repaired by
 * the next change.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Policy, PolicyDocument } from '../../domain/schemas.ts';
import type { PolicyStore, PolicyVersionSummary } from '../../ports.ts';
import { POLICY_CURRENT_SK, POLICY_PK, POLICY_VERSION_PREFIX, policyVersionSk } from './keys.ts';
import { queryPages } from './pages.ts';

interface PolicyItem {
  version: number;
  document: string;
  createdAt: string;
  author: string;
}

const toPolicy = (item: PolicyItem): Policy => ({
  ...(JSON.parse(item.document) as PolicyDocument),
  version: item.version,
  createdAt: item.createdAt,
  author: item.author,
});

export class DynamoPolicyStore implements PolicyStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private async currentItem(): Promise<PolicyItem | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: POLICY_PK, sk: POLICY_CURRENT_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item as PolicyItem | undefined;
  }

  async current(): Promise<Policy | undefined> {
    const item = await this.currentItem();
    return item ? toPolicy(item) : undefined;
  }

  async get(version: number): Promise<Policy | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: POLICY_PK, sk: policyVersionSk(version) } }),
    );
    if (out.Item) return toPolicy(out.Item as PolicyItem);
    const current = await this.currentItem();
    return current?.version === version ? toPolicy(current) : undefined;
  }

  async put(
    document: PolicyDocument,
    expected: number | '*',
    author: string,
    now: number,
  ): Promise<Policy | undefined> {
    for (;;) {
      const current = await this.currentItem();
      const currentVersion = current?.version ?? 0;
      if (expected !== '*' && expected !== currentVersion) return undefined;
      if (current) await this.writeHistory(current);
      const item: PolicyItem = {
        version: currentVersion + 1,
        document: JSON.stringify(document),
        createdAt: new Date(now).toISOString(),
        author,
      };
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: POLICY_PK, sk: POLICY_CURRENT_SK },
            UpdateExpression: 'SET #version = :v, #doc = :d, #createdAt = :c, #author = :a',
            ConditionExpression: current ? '#version = :expected' : 'attribute_not_exists(pk)',
            ExpressionAttributeNames: {
              '#version': 'version',
              '#doc': 'document',
              '#createdAt': 'createdAt',
              '#author': 'author',
            },
            ExpressionAttributeValues: {
              ':v': item.version,
              ':d': item.document,
              ':c': item.createdAt,
              ':a': item.author,
              ...(current ? { ':expected': currentVersion } : {}),
            },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        if (expected === '*') continue;
        return undefined;
      }
      await this.writeHistory(item);
      return toPolicy(item);
    }
  }

  private async writeHistory(item: PolicyItem): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: POLICY_PK, sk: policyVersionSk(item.version), ...item },
      }),
    );
  }

  async versions(): Promise<PolicyVersionSummary[]> {
    const versions: PolicyVersionSummary[] = [];
    for await (const items of queryPages(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': POLICY_PK, ':prefix': POLICY_VERSION_PREFIX },
      ProjectionExpression: '#version, #createdAt, #author',
      ExpressionAttributeNames: { '#version': 'version', '#createdAt': 'createdAt', '#author': 'author' },
      ScanIndexForward: false,
    })) {
      for (const i of items) {
        versions.push({
          version: Number(i.version),
          createdAt: String(i.createdAt),
          author: String(i.author),
        });
      }
    }
    return versions;
  }
}
