/**
 * The composition root: configuration, SDK clients, adapters and application services, built once per
 * process at cold start and reused by every invocation. Lambda functions and the local server build the
 * same root; only the endpoints differ.
 */
import { createDocumentClient } from './adapters/dynamodb/client.ts';
import { DynamoCustomerStore } from './adapters/dynamodb/customer-store.ts';
import { DynamoDeferredStore } from './adapters/dynamodb/deferred-store.ts';
import { DynamoPolicyStore } from './adapters/dynamodb/policy-store.ts';
import { createSqsClient, SqsDeliveryQueue } from './adapters/sqs/delivery-queue.ts';
import { createAuthenticator } from './app/auth.ts';
import { CustomerLog } from './app/customers.ts';
import { PolicyCache } from './app/policy-cache.ts';
import { type Config, loadConfig } from './config.ts';
import { type Clock, systemClock } from './ports.ts';

export function createRoot(config: Config, clock: Clock = systemClock) {
  const db = createDocumentClient(config);
  const sqs = createSqsClient(config);
  const table = config.GOVERNOR_TABLE_NAME;
  const policyStore = new DynamoPolicyStore(db, table);
  const policies = new PolicyCache(policyStore, clock, config.GOVERNOR_POLICY_TTL_MS);
  const customerStore = new DynamoCustomerStore(db, table);
  return {
    config,
    clock,
    db,
    sqs,
    policyStore,
    policies,
    customerStore,
    customers: new CustomerLog(customerStore, policies, config.GOVERNOR_IDEMPOTENCY_HOURS * 3600_000),
    queue: new SqsDeliveryQueue(sqs, config.GOVERNOR_DELIVERY_QUEUE_URL),
    deferred: new DynamoDeferredStore(db, table),
    authenticate: createAuthenticator(config.GOVERNOR_ADMIN_KEY),
  };
}
export type Root = ReturnType<typeof createRoot>;

let root: Root | undefined;

/** The process's root, built from the environment on first use. */
export function getRoot(): Root {
  root ??= createRoot(loadConfig());
  return root;
}
