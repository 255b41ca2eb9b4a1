/**
 * Dry-run jobs in the table: one item per job (`DRYRUN#<id>` / `JOB`) holding its status, its progress
 * (`events` grows by atomic ADDs, so that several workers report at once), the draft and the result as
 * JSON, a TTL of 30 days, and the runner's lease (`updatedAt`, `leaseMs`).
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DryRunResult } from '../../domain/dry-run-result.ts';
import type { DryRunJob, DryRunStore } from '../../ports.ts';
import { DRYRUN_SK, dryRunPk } from './keys.ts';

const TTL_S = 30 * 24 * 3600;

export class DynamoDryRunStore implements DryRunStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(id: string) {
    return { pk: dryRunPk(id), sk: DRYRUN_SK };
  }

  async create(job: DryRunJob): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...this.key(job.id),
          status: job.status,
          from: job.from,
          to: job.to,
          draft: JSON.stringify(job.draft),
          createdAt: job.createdAt,
          author: job.author,
          events: job.progress.events,
          totalEvents: job.progress.totalEvents,
          ...(job.updatedAt !== undefined ? { updatedAt: job.updatedAt } : {}),
          ...(job.leaseMs !== undefined ? { leaseMs: job.leaseMs } : {}),
          x: Math.floor(job.createdAt / 1000) + TTL_S,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(id: string): Promise<DryRunJob | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: this.key(id), ConsistentRead: true }),
    );
    const item = out.Item;
    if (!item) return undefined;
    const job: DryRunJob = {
      id,
      status: item.status as DryRunJob['status'],
      from: Number(item.from),
      to: Number(item.to),
      draft: JSON.parse(String(item.draft)) as DryRunJob['draft'],
      createdAt: Number(item.createdAt),
      author: String(item.author),
      progress: { events: Number(item.events ?? 0), totalEvents: Number(item.totalEvents ?? 0) },
    };
    if (typeof item.result === 'string') job.result = JSON.parse(item.result) as DryRunResult;
    if (typeof item.error === 'string') job.error = item.error;
    if (item.bytesTotal !== undefined) {
      job.bytes = { total: Number(item.bytesTotal), read: Number(item.bytesRead ?? 0) };
    }
    if (item.updatedAt !== undefined) job.updatedAt = Number(item.updatedAt);
    if (item.leaseMs !== undefined) job.leaseMs = Number(item.leaseMs);
    return job;
  }

  private async update(
    id: string,
    expression: string,
    values: Record<string, unknown>,
    names?: Record<string, string>,
  ) {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.key(id),
        UpdateExpression: expression,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: values,
        ...(names ? { ExpressionAttributeNames: names } : {}),
      }),
    );
  }

  start(id: string, totalEvents: number, bytes?: number): Promise<void> {
    const values = { ':s': 'running', ':t': totalEvents, ...(bytes !== undefined ? { ':b': bytes } : {}) };
    const set = bytes !== undefined ? ', bytesTotal = :b' : '';
    return this.update(id, `SET #s = :s, totalEvents = :t${set}`, values, { '#s': 'status' });
  }

  advance(id: string, events: number): Promise<void> {
    return this.update(id, 'ADD events :n', { ':n': events });
  }

  count(id: string, events: number, bytes: number): Promise<void> {
    return this.update(id, 'ADD events :n, totalEvents :n, bytesRead :b', { ':n': events, ':b': bytes });
  }

  heartbeat(id: string, at: number, leaseMs: number): Promise<void> {
    return this.update(id, 'SET updatedAt = :at, leaseMs = :l', { ':at': at, ':l': leaseMs });
  }

  finish(id: string, result: DryRunResult): Promise<void> {
    return this.update(
      id,
      'SET #s = :s, #r = :r, events = :e',
      { ':s': 'done', ':r': JSON.stringify(result), ':e': result.events },
      { '#s': 'status', '#r': 'result' },
    );
  }

  fail(id: string, error: string): Promise<void> {
    return this.update(
      id,
      'SET #s = :s, #e = :e',
      { ':s': 'failed', ':e': error },
      { '#s': 'status', '#e': 'error' },
    );
  }
}
