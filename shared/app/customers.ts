/**
 * The customer log as the application uses it: append entries and read back what replay decided for
 * them, compacting the log when it grows. One DynamoDB round trip per append; compaction is a second,
 * conditional write made once every few dozen decisions.
 */
import { hash } from 'node:crypto';
import {
  type CustomerState,
  compact,
  type EntryResult,
  type LogEntry,
  replay,
} from '../domain/customer-log.ts';
import type { MessageFacts } from '../domain/decision.ts';
import type { Message } from '../domain/schemas.ts';
import type { CustomerRecord, CustomerStore, DeferredMessage } from '../ports.ts';
import type { PolicyCache } from './policy-cache.ts';

/**
 * When to compact: DynamoDB bills a write per started KB of item, so compaction keeps the item under
 * 1 KB when it can (once it is nearly full and a few raw entries can be settled), and in any case when
 * many entries are raw or the log is long.
 */
const COMPACT_NEAR_BYTES = 940;
const COMPACT_NEAR_UNSETTLED = 4;
const COMPACT_UNSETTLED = 16;
const COMPACT_TOTAL = 48;

/**
 * A message's idempotency key in the log: 48 bits of SHA-256 of its id, enough to tell apart the
 * messages one customer receives (a collision among a thousand is about one in 500 million), shorter
 * than most ids.
 */
export function messageKey(messageId: string): string {
  return hash('sha256', messageId, 'base64url').slice(0, 8);
}

export function factsOf(message: Message): MessageFacts {
  return {
    key: messageKey(message.messageId),
    channel: message.channel,
    kind: message.kind,
    category: message.category,
    campaignId: message.campaignId,
    relevance: message.relevance,
    notBefore: message.notBefore === undefined ? undefined : Date.parse(message.notBefore),
    expiresAt: message.expiresAt === undefined ? undefined : Date.parse(message.expiresAt),
    alternateChannels: message.alternateChannels,
  };
}

export interface Replayed {
  record: CustomerRecord;
  state: CustomerState;
  results: EntryResult[];
}

/**
 * Called with what an erasure is about to delete, before it deletes it (so a crash cannot lose it):
 * finance keeps anonymous counts of it.
 */
export type EraseHook = (erased: {
  customerId: string;
  replayed: Replayed;
  deferred: DeferredMessage[];
}) => Promise<void>;

export class CustomerLog {
  constructor(
    private readonly store: CustomerStore,
    private readonly policies: PolicyCache,
    private readonly idempotencyMs: number,
    private readonly onErase?: EraseHook,
  ) {}

  private async replay(record: CustomerRecord): Promise<Replayed> {
    const versions: number[] = [];
    for (const e of record.entries)
      if (e.type === 'message' || e.type === 'release') versions.push(e.policyVersion);
    // Nearly always every version is known already: no need to wait then.
    if (this.policies.missing(versions).length > 0) await this.policies.load(versions);
    const { state, results } = replay(record.base, record.entries, this.policies.lookup);
    return { record, state, results };
  }

  /** Appends entries; returns replay's results for them, in order, and the customer's state after them. */
  async append(
    customerId: string,
    entries: LogEntry[],
    now: number,
  ): Promise<Replayed & { mine: EntryResult[] }> {
    const record = await this.store.append(customerId, entries, now);
    const replayed = await this.replay(record);
    const mine = replayed.results.slice(replayed.results.length - entries.length);
    await this.compactIfLong(customerId, replayed, now);
    return { ...replayed, mine };
  }

  async read(customerId: string): Promise<Replayed | undefined> {
    const record = await this.store.read(customerId);
    return record ? this.replay(record) : undefined;
  }

  private async compactIfLong(customerId: string, { record, state }: Replayed, now: number): Promise<void> {
    let unsettled = 0;
    for (const e of record.entries) if (e.type !== 'settled') unsettled++;
    const nearlyFull = record.itemBytes >= COMPACT_NEAR_BYTES && unsettled >= COMPACT_NEAR_UNSETTLED;
    if (!nearlyFull && unsettled < COMPACT_UNSETTLED && record.entries.length < COMPACT_TOTAL) return;
    const current = await this.policies.current();
    const compacted = compact(state, now, {
      horizonMs: current.horizonMs,
      idempotencyMs: this.idempotencyMs,
    });
    // If somebody appended meanwhile the condition fails and the next writer compacts instead.
    await this.store.replace(customerId, record.version, compacted.base, compacted.entries, now);
  }

  /** Every customer, replayed: for recovery jobs only. */
  async *replayAll(): AsyncIterable<{ customerId: string } & Replayed> {
    for await (const { customerId, record } of this.store.scan()) {
      yield { customerId, ...(await this.replay(record)) };
    }
  }

  /** Erases everything held about the customer (idempotent); returns the deferred messages dropped. */
  async erase(customerId: string): Promise<DeferredMessage[]> {
    if (this.onErase) {
      const { record, deferred } = await this.store.held(customerId);
      if (record) await this.onErase({ customerId, replayed: await this.replay(record), deferred });
    }
    return this.store.erase(customerId);
  }
}
