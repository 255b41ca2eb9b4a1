/**
 * The small interfaces the application services need from the outside world. The DynamoDB and SQS
 * adapters implement them in production and locally; tests may use the same adapters on local engines.
 */
import type { CustomerBase, LogEntry } from './domain/customer-log.ts';
import type { Channel, Kind, Message, Policy, PolicyDocument } from './domain/schemas.ts';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A customer's log as stored: the base, the entries in order, and the write counter. */
export interface CustomerRecord {
  base: CustomerBase;
  entries: LogEntry[];
  /** Increments on every write; compaction is conditional on it. */
  version: number;
  /** Bytes of the stored item, as DynamoDB sizes it. */
  itemBytes: number;
}

export interface CustomerStore {
  /** Appends entries atomically and returns the record right after this append. */
  append(customerId: string, entries: LogEntry[], now: number): Promise<CustomerRecord>;
  read(customerId: string): Promise<CustomerRecord | undefined>;
  /** Replaces the log with a compacted one if nobody wrote since `version`; false when somebody did. */
  replace(
    customerId: string,
    version: number,
    base: CustomerBase,
    entries: LogEntry[],
    now: number,
  ): Promise<boolean>;
  /** The customer's record (if any) and deferred messages, read together. */
  held(customerId: string): Promise<{ record?: CustomerRecord; deferred: DeferredMessage[] }>;
  /** Every customer's record, for recovery jobs (a full table scan: never on a request path). */
  scan(): AsyncIterable<{ customerId: string; record: CustomerRecord }>;
  /** Deletes the customer's state and deferred messages; returns the deferred messages it deleted. */
  erase(customerId: string): Promise<DeferredMessage[]>;
}

export interface PolicyVersionSummary {
  version: number;
  createdAt: string;
  author: string;
}

export interface PolicyStore {
  current(): Promise<Policy | undefined>;
  get(version: number): Promise<Policy | undefined>;
  /**
   * Stores a new version if the current one is `expected` (`'*'`: whatever it is; `0`: none yet).
   * Returns undefined when the current version is not the expected one.
   */
  put(
    document: PolicyDocument,
    expected: number | '*',
    author: string,
    now: number,
  ): Promise<Policy | undefined>;
  versions(): Promise<PolicyVersionSummary[]>;
}

/** What the delivery queue carries for one accepted message. */
export interface Delivery {
  messageId: string;
  customerId: string;
  channel: Channel;
  kind: Kind;
  category?: string | undefined;
  campaignId?: string | undefined;
  payload: Record<string, unknown>;
  acceptedAt: string;
  policyVersion: number;
}

export interface DeliveryQueue {
  enqueue(deliveries: Delivery[]): Promise<void>;
}

/** A deferred message held until its release time, payload included. */
export interface DeferredMessage {
  message: Message;
  releaseAt: number;
  policyVersion: number;
}

export interface DeferredStore {
  /** Holds messages; `now` files one whose release time has passed so the release still finds it. */
  put(items: DeferredMessage[], now?: number): Promise<void>;
  /** Deferred messages whose release minute lies in [from, until], oldest first, at most `limit`. */
  due(from: number, until: number, limit: number): Promise<DeferredMessage[]>;
  remove(items: DeferredMessage[]): Promise<void>;
}
