/**
 * How what Governor keeps names a customer, over HTTP: the audit trail and the anonymous counts an
 * erasure leaves never hold the id, nor a bare hash of it that a dictionary of ids would reverse — only
 * a keyed hash under the deployment's secret, a distinct one per use (`HMAC(secret, "audit\0" + id)`).
 */
import { createHash, createHmac } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#shared/adapters/dynamodb/client.ts';
import { loadConfig } from '#shared/config.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const SECRET = 'keyed-references-test-secret-0123456789';
let stack: TestStack;

/** Customer ids an attacker would try, the real ones among them. */
const dictionary = ['alice', 'bob', 'c-1001', 'c-1002', 'cus_000042'];

/** Every unkeyed hash of an id an attacker can compute, in the forms stored before. */
const bareHashes = (id: string) => {
  const digest = createHash('sha256').update(id, 'utf8').digest();
  return [digest.toString('hex').slice(0, 32), digest.toString('base64url').slice(0, 16)];
};

beforeAll(async () => {
  stack = await startTestStack({ env: { GOVERNOR_POLICY_TTL_MS: '0', GOVERNOR_HASH_SECRET: SECRET } });
});

afterAll(async () => {
  await stack?.stop();
});

async function everything(): Promise<string> {
  const db = createDocumentClient(
    loadConfig({ ...process.env, GOVERNOR_DYNAMODB_ENDPOINT: stack.engines.dynamoEndpoint }),
  );
  const items: unknown[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: 'governor', ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return JSON.stringify(items);
}

describe('references to a customer', () => {
  it('are keyed hashes a dictionary of customer ids does not reverse, in the audit trail and the erasure counts', async () => {
    // Prepare: preference changes and erasures of two customers of the dictionary, with a deferral each
    const customers = ['c-1001', 'cus_000042'];
    for (const customerId of customers) {
      await stack.request('PUT', `/v1/customers/${customerId}/preferences`, {
        body: { topics: { news: false } },
      });
      for (const i of [1, 2])
        await stack.request('POST', '/v1/messages', {
          body: {
            messageId: `${customerId}-m${i}`,
            customerId,
            channel: 'email',
            expiresAt: new Date(Date.now() + 10 * 86_400_000).toISOString(),
            payload: {},
          },
        });
    }

    // Act
    for (const customerId of customers) {
      expect((await stack.request('DELETE', `/v1/customers/${customerId}`)).status).toBe(200);
    }

    // Assess: nothing a dictionary of ids finds, anywhere; the trail names them by HMAC(secret, "audit\0" + id)
    const stored = await everything();
    for (const id of dictionary)
      for (const hash of bareHashes(id)) expect(stored, `a bare hash of ${id}`).not.toContain(hash);
    const day = (t: number) => new Date(t).toISOString().slice(0, 10);
    const trail = await stack.request(
      'GET',
      `/v1/audit?from=${day(Date.now() - 86_400_000)}&to=${day(Date.now() + 86_400_000)}`,
    );
    const targets = new Set(trail.json().entries.map((e: { target: string }) => e.target));
    for (const customerId of customers) {
      const keyed = createHmac('sha256', SECRET).update(`audit\0${customerId}`).digest('base64url');
      expect(targets).toContain(`customer:${keyed.slice(0, 22)}`);
    }
  });
});
