/**
 * The customer log as the application uses it: append entries and read back what replay decided for
 * them, compacting the log when it grows. One DynamoDB round trip per append; compaction is a second,
 * conditional write made once every few dozen decisions.
 */
import { createHash } from 'node:crypto';
import {
  type CustomerState,
  compact,
  type EntryResult,
  type LogEntry,
  replay,
} from '../domain/customer-log.ts';
import type { MessageFacts } from '../domain/decision.ts';
import type { Message } from '../domain/schemas.ts';
import type { CustomerRecord, CustomerStore } from '../ports.ts';
import type { PolicyCache } from './policy-cache.ts';

/** Compact when this many entries are not yet settled, or the log holds this many in all. */
const COMPACT_UNSETTLED = 16;
const COMPACT_TOTAL = 48;

/**
 * A message's idempotency key in the log: 66 bits of SHA-256 of its id, enough to tell apart the
 * messages of one customer, shorter than most ids.
 */
export function messageKey(messageId: string): string {
  return createHash('sha256').update(messageId).digest('base64url').slice(0, 11);
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

export class CustomerLog {
  constructor(
    private readonly store: CustomerStore,
    private readonly policies: PolicyCache,
    private readonly idempotencyMs: number,
  ) {}

  private async replay(record: CustomerRecord): Promise<Replayed> {
    const versions: number[] = [];
    for (const e of record.entries)
      if (e.type === 'message' || e.type === 'release') versions.push(e.policyVersion);
    await this.policies.load(versions);
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
    const unsettled = record.entries.filter((e) => e.type !== 'settled').length;
    if (unsettled < COMPACT_UNSETTLED && record.entries.length < COMPACT_TOTAL) return;
    const current = await this.policies.current();
    const compacted = compact(state, now, {
      horizonMs: current.horizonMs,
      idempotencyMs: this.idempotencyMs,
    });
    // If somebody appended meanwhile the condition fails and the next writer compacts instead.
    await this.store.replace(customerId, record.version, compacted.base, compacted.entries, now);
  }

  erase(customerId: string) {
    return this.store.erase(customerId);
  }
}
