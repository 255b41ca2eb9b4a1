import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../config.ts';

/**
 * The low-level client and a document client over it (one connection pool and middleware stack). The
 * adapters use the document client; the customer store's decision path speaks the wire format itself,
 * which saves the document client's generic (un)marshalling on every decision.
 */
export interface DynamoClients {
  client: DynamoDBClient;
  db: DynamoDBDocumentClient;
}

/** One pair per process, created at cold start and reused. */
export function createDynamoClients(config: Config): DynamoClients {
  const client = new DynamoDBClient({
    region: config.AWS_REGION,
    ...(config.GOVERNOR_DYNAMODB_ENDPOINT ? { endpoint: config.GOVERNOR_DYNAMODB_ENDPOINT } : {}),
    maxAttempts: 4,
  });
  const db = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  return { client, db };
}

export function createDocumentClient(config: Config): DynamoDBDocumentClient {
  return createDynamoClients(config).db;
}
