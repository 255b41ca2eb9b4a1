/**
 * Campaign cancellation jobs in the table: one item per job in one small partition (`CANCELJOB` /
 * `<id>`), holding its status, its count (`cn`, grown by atomic ADDs), its cursor in the campaign index
 * (`cs` the shard, `ca` the position) and the lease of the runner working on it (`lo` its owner, `lu`
 * until when), with a TTL of 30 days.
 * Every change after the claim is conditional on the lease, so a runner that lost the job to another
 * (its lease ran out) stops instead of writing over it.
 */

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CampaignCancelJob, CampaignCancelStore } from '../../ports.ts';
import { CANCEL_JOB_PK } from './keys.ts';

const TTL_S = 30 * 24 * 3600;

function jobOf(item: Record<string, unknown>): CampaignCancelJob {
  const job: CampaignCancelJob = {
    id: String(item.sk),
    campaignId: String(item.campaignId),
    status: item.status as CampaignCancelJob['status'],
    createdAt: Number(item.createdAt),
    author: String(item.author),
    cancelled: Number(item.cn ?? 0),
    cursor: { shard: Number(item.cs ?? 0) },
  };
  if (typeof item.ca === 'string') job.cursor.after = item.ca;
  if (item.lu !== undefined) job.leaseUntil = Number(item.lu);
  if (item.finishedAt !== undefined) job.finishedAt = Number(item.finishedAt);
  return job;
}

export class DynamoCampaignCancelStore implements CampaignCancelStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(id: string) {
    return { pk: CANCEL_JOB_PK, sk: id };
  }

  async create(job: CampaignCancelJob): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...this.key(job.id),
          campaignId: job.campaignId,
          status: job.status,
          createdAt: job.createdAt,
          author: job.author,
          cn: job.cancelled,
          cs: job.cursor.shard,
          x: Math.floor(job.createdAt / 1000) + TTL_S,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(id: string): Promise<CampaignCancelJob | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: this.key(id), ConsistentRead: true }),
    );
    return out.Item ? jobOf(out.Item) : undefined;
  }

  async open(): Promise<CampaignCancelJob[]> {
    const jobs: CampaignCancelJob[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: '#s <> :done',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':pk': CANCEL_JOB_PK, ':done': 'done' },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      jobs.push(...(out.Items ?? []).map(jobOf));
      start = out.LastEvaluatedKey;
    } while (start);
    return jobs;
  }

  /** An update that holds only under its condition: false when the condition failed. */
  private async conditional(
    id: string,
    update: string,
    condition: string,
    values: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(id),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  claim(id: string, owner: string, now: number, until: number): Promise<boolean> {
    return this.conditional(
      id,
      'SET #s = :running, lo = :owner, lu = :until',
      'attribute_exists(pk) AND #s <> :done AND (attribute_not_exists(lu) OR lu < :now)',
      { ':running': 'running', ':done': 'done', ':owner': owner, ':until': until, ':now': now },
    );
  }

  advance(
    id: string,
    owner: string,
    page: { cancelled: number; cursor: CampaignCancelJob['cursor']; leaseUntil: number },
  ): Promise<boolean> {
    const after = page.cursor.after;
    return this.conditional(
      id,
      after === undefined
        ? 'ADD cn :n SET cs = :shard, lu = :until REMOVE ca'
        : 'ADD cn :n SET cs = :shard, lu = :until, ca = :after',
      'lo = :owner AND #s = :running',
      {
        ':n': page.cancelled,
        ':shard': page.cursor.shard,
        ':until': page.leaseUntil,
        ':owner': owner,
        ':running': 'running',
        ...(after === undefined ? {} : { ':after': after }),
      },
    );
  }

  finish(id: string, owner: string, cancelled: number, at: number): Promise<boolean> {
    return this.conditional(
      id,
      'ADD cn :n SET #s = :done, finishedAt = :at REMOVE lu, lo, ca',
      'lo = :owner AND #s = :running',
      { ':n': cancelled, ':done': 'done', ':at': at, ':owner': owner, ':running': 'running' },
    );
  }
}
