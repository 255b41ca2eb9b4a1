/**
 * The customer log as the application uses it: append entries and read back what replay decided for
 * them, compacting the log when it grows. One DynamoDB round trip per append; compaction is a second,
 * conditional write made once every dozen decisions or so.
 *
 * A flooded customer (thousands of messages at once) cannot grow the item without bound: an append
 * needs room in the log (see customer-store.ts), and a writer refused for want of room compacts the log
 * and writes its entries with the compaction in one conditional write. While the log is full nobody
 * can append, so the counter stays put and one compactor wins each round: extra round trips for that
 * customer only, and every writer (a preference change, an event, a release) gets through.
 */
import {
  type CustomerState,
  compact,
  DEFAULT_RELEASE_MARGIN_MS,
  type EntryResult,
  type LogEntry,
  type PolicyLookup,
  replay,
} from '../domain/customer-log.ts';
import type { CompiledPolicy } from '../domain/decision.ts';
import {
  type ArmOf,
  type Assignment,
  armOf,
  armVariants,
  assignmentNumber,
  forCustomer,
} from '../domain/experiments.ts';
import { factsOf, type Hasher, messageKey } from '../domain/message-facts.ts';
import type { Message } from '../domain/schemas.ts';
import { UnavailableError } from '../errors.ts';
import { logger } from '../observability/index.ts';
import {
  AppendRefusedError,
  type Clock,
  type CustomerRecord,
  type CustomerStore,
  LEGACY_LIFE,
} from '../ports.ts';
import type { KeyedHash } from './keyed-hash.ts';
import type { PolicyCache } from './policy-cache.ts';

/**
 * When to compact: DynamoDB bills a write per started KB of item, so compaction keeps the item under
 * 1 KB when it can (once it is nearly full and a few raw entries can be settled), and in any case when
 * many entries are raw.
 */
const COMPACT_NEAR_BYTES = 940;
/** Past this a compaction cannot bring the item under 1 KB any more: no reason to compact early. */
const COMPACT_NEAR_CEILING_BYTES = 2048;
const COMPACT_NEAR_UNSETTLED = 4;
const COMPACT_UNSETTLED = 16;
/** Entries written by one append at most: a batch naming one customer many times takes several. */
const APPEND_ENTRIES = 16;
/** Rounds a refused writer tries (append, or compact with its entries) before answering 503. */
const MAX_ROUNDS = 200;

export interface Replayed {
  record: CustomerRecord;
  state: CustomerState;
  results: EntryResult[];
}

export interface Appended extends Replayed {
  /** Replay's results for the appended entries, in order. */
  entryResults: EntryResult[];
  /**
   * The life of the record each entry went to, in order: the same for all but when the entries took
   * several appends and the customer was erased between two of them.
   */
  lives: (string | undefined)[];
  /**
   * Where each entry sits in the log, in order: the write counter after the write that appended it and
   * its index in that write (the archive orders a customer's records by them), and the record's salt.
   */
  positions: { write: number; index: number; salt: string | undefined }[];
}

export interface AppendOptions {
  /**
   * Append only to this life of the customer's record, never creating one (a release of a deferred
   * message): `append` answers undefined when the record is gone or another life's. LEGACY_LIFE: only
   * that the record exists.
   */
  life?: string;
}

export interface CustomerLogOptions {
  store: CustomerStore;
  policies: PolicyCache;
  clock: Clock;
  hashes: KeyedHash;
  /** How long a decision is remembered (GOVERNOR_IDEMPOTENCY_HOURS). */
  idempotencyMs: number;
  /** This deployment's release margin (see release.ts): recorded with each message it decides. */
  releaseMarginMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The entries as written now: a decision's time is when its write is sent. */
function stamped(entries: LogEntry[], now: number): LogEntry[] {
  return entries.map((e) => (e.type === 'message' || e.type === 'release' ? { ...e, at: now } : e));
}

export class CustomerLog {
  private readonly store: CustomerStore;
  private readonly policies: PolicyCache;
  private readonly clock: Clock;
  /** The keyed hash of message ids (their idempotency keys). */
  private readonly messageHasher: Hasher;
  private readonly idempotencyMs: number;
  private readonly hashes: KeyedHash;
  /** Undefined when it is the default (entries then carry none). */
  private readonly releaseMarginMs: number | undefined;

  constructor(options: CustomerLogOptions) {
    this.store = options.store;
    this.policies = options.policies;
    this.clock = options.clock;
    this.messageHasher = options.hashes.hasher('message');
    this.hashes = options.hashes;
    this.idempotencyMs = options.idempotencyMs;
    // Whole seconds (as entries write it), rounded up: a longer margin only defers less.
    const margin = Math.ceil((options.releaseMarginMs ?? DEFAULT_RELEASE_MARGIN_MS) / 1000) * 1000;
    this.releaseMarginMs = margin === DEFAULT_RELEASE_MARGIN_MS ? undefined : margin;
  }

  /** The message's idempotency key: a keyed hash of its id (domain/message-facts.ts). */
  messageKey(messageId: string): string {
    return messageKey(messageId, this.messageHasher);
  }

  /** A message's entry, decided under this deployment's release margin. */
  messageEntry(message: Message, at: number, policyVersion: number): LogEntry {
    const entry: LogEntry = {
      type: 'message',
      at,
      policyVersion,
      facts: factsOf(message, this.messageHasher),
    };
    if (this.releaseMarginMs !== undefined) entry.releaseMarginMs = this.releaseMarginMs;
    return entry;
  }

  /** A release entry of a deferred message, decided under this deployment's release margin. */
  releaseEntry(messageId: string, releaseAt: number, at: number, policyVersion: number): LogEntry {
    return this.releaseEntryOf(this.messageKey(messageId), releaseAt, at, policyVersion);
  }

  /** The release entry of a log key: a message's, or a digest's (its id: see digests.ts). */
  releaseEntryOf(key: string, releaseAt: number, at: number, policyVersion: number): LogEntry {
    const entry: LogEntry = {
      type: 'release',
      at,
      policyVersion,
      key,
      releaseAt,
    };
    if (this.releaseMarginMs !== undefined) entry.releaseMarginMs = this.releaseMarginMs;
    return entry;
  }

  /**
   * A customer's assignment number for an experiment: a keyed hash of the experiment's salt and the
   * customer id, so the same in every process, and nobody without the secret can tell a customer's arm.
   */
  assignment(customerId: string): Assignment {
    return (experiment) =>
      assignmentNumber(this.hashes.of('experiment', `${experiment.salt}\0${customerId}`, 8));
  }

  /** The policy versions as this customer meets them: bound to its arms of their experiments. */
  lookupFor(customerId: string): PolicyLookup {
    const assignment = this.assignment(customerId);
    const bound = new Map<number, CompiledPolicy>();
    return (version) => {
      let c = bound.get(version);
      if (!c) {
        c = forCustomer(this.policies.lookup(version), assignment);
        bound.set(version, c);
      }
      return c;
    };
  }

  /** A policy as this customer meets it (experiments.ts). */
  boundPolicy(customerId: string, policy: CompiledPolicy): CompiledPolicy {
    return forCustomer(policy, this.assignment(customerId));
  }

  /** The experiment and arm a customer is in under `policy` at `t` (undefined: none runs). */
  armOf(customerId: string, policy: CompiledPolicy, t: number): ArmOf | undefined {
    return policy.policy.experiments ? armOf(this.boundPolicy(customerId, policy), t) : undefined;
  }

  /** Replays a customer's record read from the store. */
  async replayRecord(record: CustomerRecord, customerId: string): Promise<Replayed> {
    const versions: number[] = [];
    for (const e of record.entries)
      if (e.type === 'message' || e.type === 'release') versions.push(e.policyVersion);
    // Nearly always every version is known already: no need to wait then.
    if (this.policies.missing(versions).length > 0) await this.policies.load(versions);
    const { state, results } = replay(record.base, record.entries, this.lookupFor(customerId));
    return { record, state, results };
  }

  /**
   * Appends entries; returns replay's results for them, in order, and the customer's state after them
   * (undefined when `options.life` is gone). Many entries go in several appends, in order.
   */
  async append(
    customerId: string,
    entries: LogEntry[],
    now: number,
    options: AppendOptions = {},
  ): Promise<Appended | undefined> {
    if (entries.length <= APPEND_ENTRIES) return this.appendOnce(customerId, entries, now, options);
    const entryResults: EntryResult[] = [];
    const lives: (string | undefined)[] = [];
    const positions: Appended['positions'] = [];
    let last: Appended | undefined;
    for (let i = 0; i < entries.length; i += APPEND_ENTRIES) {
      last = await this.appendOnce(customerId, entries.slice(i, i + APPEND_ENTRIES), now, options);
      if (!last) return undefined;
      entryResults.push(...last.entryResults);
      lives.push(...last.lives);
      positions.push(...last.positions);
    }
    return last && { ...last, entryResults, lives, positions };
  }

  private async appendOnce(
    customerId: string,
    entries: LogEntry[],
    now: number,
    options: AppendOptions,
  ): Promise<Appended | undefined> {
    const condition =
      options.life === undefined
        ? undefined
        : { mustExist: true, life: options.life === LEGACY_LIFE ? undefined : options.life };
    let attempt = entries;
    let at = now;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let refused: AppendRefusedError;
      try {
        const record = await this.store.append(customerId, attempt, at, condition);
        const replayed = await this.replayRecord(record, customerId);
        await this.compactIfLong(customerId, replayed, at, attempt.length);
        return this.appended(replayed, attempt.length);
      } catch (error) {
        if (!(error instanceof AppendRefusedError)) throw error;
        refused = error;
      }
      // Refused: no room in the log, or (a release) the record is gone or of another life.
      const current = refused.record ?? (await this.store.read(customerId));
      if (condition && (!current || (condition.life !== undefined && current.life !== condition.life)))
        return undefined;
      at = this.clock.now();
      attempt = stamped(entries, at);
      if (!current || this.store.fits(current, attempt)) continue;
      const written = await this.compactWith(customerId, current, at, attempt);
      if (written) return this.appended(await this.replayRecord(written, customerId), attempt.length);
      // Another writer compacted first, so there is room again: append again, a few writers at a time.
      await sleep(Math.random() * 3);
    }
    logger.error('customer log too busy to append to', { customerId });
    throw new UnavailableError('the customer log is too busy; retry');
  }

  private appended({ record, state, results }: Replayed, count: number): Appended {
    const lives = new Array<string | undefined>(count).fill(record.life);
    const positions = lives.map((_, index) => ({ write: record.version, index, salt: record.salt }));
    return { record, state, results, entryResults: results.slice(results.length - count), lives, positions };
  }

  async read(customerId: string): Promise<Replayed | undefined> {
    const record = await this.store.read(customerId);
    return record ? this.replayRecord(record, customerId) : undefined;
  }

  /** Compacts the customer's log now (if there is one); whether it wrote. */
  async compact(customerId: string, now: number = this.clock.now()): Promise<boolean> {
    const record = await this.store.read(customerId);
    return record !== undefined && (await this.compactWith(customerId, record, now)) !== undefined;
  }

  /** Compacts `record` and writes it, with `tail` after it, if nobody wrote since it was read. */
  private async compactWith(
    customerId: string,
    record: CustomerRecord,
    now: number,
    tail: LogEntry[] = [],
    replayed?: Replayed,
  ): Promise<CustomerRecord | undefined> {
    const { state } = replayed ?? (await this.replayRecord(record, customerId));
    const compacted = compact(state, now, await this.limitsFor(record));
    return this.store.replace(customerId, record, compacted.base, compacted.entries, now, tail);
  }

  /** What compaction keeps sends for: the caps of the current policy and of the versions the log names. */
  private async limitsFor(record: CustomerRecord) {
    const current = await this.policies.current();
    const policies = new Map<number, CompiledPolicy>([[current.policy.version, current]]);
    for (const e of record.entries) {
      if ((e.type === 'message' || e.type === 'release') && !policies.has(e.policyVersion))
        policies.set(e.policyVersion, this.policies.lookup(e.policyVersion));
    }
    // An experiment's arms may have caps of their own: their sends are kept too.
    const list = [...policies.values()].flatMap((p) => [p, ...armVariants(p)]);
    return {
      horizonMs: Math.max(...list.map((p) => p.horizonMs)),
      idempotencyMs: this.idempotencyMs,
      policies: list,
    };
  }

  /**
   * Compacts after an append of `appended` entries when the raw entries reach a multiple of
   * COMPACT_UNSETTLED with it (the writer that crosses the line compacts, not every writer after it:
   * under contention the others would only lose the race), or when the item is nearly 1 KB.
   */
  private async compactIfLong(
    customerId: string,
    replayed: Replayed,
    now: number,
    appended: number,
  ): Promise<void> {
    const { record } = replayed;
    let unsettled = 0;
    for (const e of record.entries) if (e.type !== 'settled' && e.type !== 'folded') unsettled++;
    const nearlyFull =
      record.itemBytes >= COMPACT_NEAR_BYTES &&
      record.itemBytes < COMPACT_NEAR_CEILING_BYTES &&
      unsettled >= COMPACT_NEAR_UNSETTLED;
    const crossed =
      Math.floor(unsettled / COMPACT_UNSETTLED) > Math.floor((unsettled - appended) / COMPACT_UNSETTLED);
    if (!nearlyFull && !crossed) return;
    // If somebody appended meanwhile the condition fails and a later writer compacts instead.
    await this.compactWith(customerId, record, now, [], replayed);
  }

  /** Every customer, replayed: for recovery jobs only. */
  async *replayAll(): AsyncIterable<{ customerId: string } & Replayed> {
    for await (const { customerId, record } of this.store.scan()) {
      yield { customerId, ...(await this.replayRecord(record, customerId)) };
    }
  }
}
