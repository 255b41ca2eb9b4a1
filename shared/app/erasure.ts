/**
 * Erasure: `DELETE /v1/customers/{id}` leaves nothing of the customer but anonymous counts, whatever
 * runs beside it on other instances.
 *
 * Every record of a customer has a life (a random id it was created with, see ports.ts) that the
 * deferred messages, deliveries and delivery-ledger entries decided in it carry. An erasure
 *
 * 1. marks the lives it finds as erased (`ERASED#<keyed hash of the id>` / `<life>`), so that dispatch
 *    drops their messages still in the delivery queue, in the dead-letter queue, or redriven later;
 * 2. schedules a sweep of the partition (run by the release function SWEEP_DELAY_MS later, once any
 *    write in flight when it ran has landed: a send's deferred message, a release holding one again, a
 *    dispatch's ledger entry);
 * 3. archives the counts of the record's decisions, deletes the record (conditional on its life, and
 *    reading it back as it was when deleted, so the archive holds every decision appended until then),
 *    then deletes what the partition holds of those lives: deferred messages, each counted as suppressed
 *    `erased` unless the deleted log no longer held it deferred (counted already as what became of it:
 *    preempted, cancelled, released), and delivery-ledger entries.
 *
 * Whatever reaches the partition after that is either of a new life (the customer was written to again
 * after the erasure: a new customer as far as Governor knows, kept) or a late write of an erased life,
 * which the sweep removes. A release never recreates a record (its append is conditional on the
 * deferred message's life), and drops a deferred message of an erased life it meets itself. Counting is
 * exactly once: each dropped message is counted under an id of its own at its life's erasure time.
 */
import * as z from 'zod';
import { logger } from '../observability/index.ts';
import {
  type Clock,
  type CustomerRecord,
  type CustomerStore,
  type DeferredMessage,
  type Delivery,
  type ErasureStore,
  LEGACY_LIFE,
  type PartitionItem,
  type Sweep,
} from '../ports.ts';
import type { Archive } from './archive.ts';
import type { ErasureCounts } from './counting.ts';
import type { CustomerLog } from './customers.ts';
import type { KeyedHash } from './keyed-hash.ts';

/**
 * How long after an erasure its sweep runs: longer than any write in flight then can take to land (the
 * send functions time out after 10 s, the release function after 50 s), with the clock skew margin.
 */
export const SWEEP_DELAY_MS = 2 * 60_000;

export interface ErasureDeps {
  customers: CustomerLog;
  store: CustomerStore;
  erasures: ErasureStore;
  counts: ErasureCounts;
  hashes: KeyedHash;
  clock: Clock;
  /** Archives the erasure (its customer's stream ends there: see archive.ts). */
  archive?: Archive | undefined;
}

const lifeOf = (item: { life?: string | undefined }) => item.life ?? LEGACY_LIFE;
const isSweep = (item: PartitionItem) => item.sk.startsWith('E#');

export class Erasures {
  constructor(private readonly deps: ErasureDeps) {}

  /** How the erasure markers name a customer. */
  private ref(customerId: string): string {
    return this.deps.hashes.of('erasure', customerId);
  }

  /** The ids of the counts an erasure leaves: keyed by the customer and the life, never naming them. */
  private countId(customerId: string, life: string, key?: string): string {
    const ref = this.deps.hashes.of('archive', customerId, 16);
    return key === undefined ? `${ref}-${life}` : `${ref}-${life}-${key}`;
  }

  /** Erases everything held about the customer (idempotent); returns how many deferred messages it dropped. */
  async erase(customerId: string): Promise<number> {
    const { store, erasures, clock } = this.deps;
    const now = clock.now();
    const held = await store.partition(customerId);
    const others = held.others.filter((o) => !isSweep(o));
    if (!held.record && held.deferred.length === 0 && others.length === 0) return 0;
    const life = held.record ? lifeOf(held.record) : undefined;
    // Every life found is erased; so is whatever was written before lives existed.
    const lives = new Set<string>([LEGACY_LIFE]);
    if (life) lives.add(life);
    for (const item of [...held.deferred, ...others]) lives.add(lifeOf(item));
    const erasedAt = await erasures.mark(this.ref(customerId), [...lives], now);
    const main = life ?? [...lives].find((l) => l !== LEGACY_LIFE) ?? LEGACY_LIFE;
    const at = Math.max(now, erasedAt[main] ?? now) + SWEEP_DELAY_MS;
    await erasures.schedule({ customerId, life: main, erasedAt, at });
    const salt = held.record?.salt;
    if (salt !== undefined)
      await this.deps.archive?.emit([this.deps.archive.erasureRecord(customerId, salt, now)]);
    return this.clear(customerId, erasedAt, held.record);
  }

  /** The sweeps due in [from, until] (epoch ms). */
  due(from: number, until: number): Promise<Sweep[]> {
    return this.deps.erasures.due(from, until);
  }

  /** Runs a sweep that has come due: removes what late writes left of the lives it names. */
  async sweep(sweep: Sweep): Promise<number> {
    const dropped = await this.clear(sweep.customerId, sweep.erasedAt);
    await this.deps.erasures.done(sweep);
    return dropped;
  }

  /**
   * Deferred messages a release found with no record of their life left (their customer was erased):
   * dropped and counted as erased, as the sweep would.
   */
  async dropLeftovers(customerId: string, deferred: DeferredMessage[]): Promise<number> {
    const { erasures, clock } = this.deps;
    const ref = this.ref(customerId);
    const erasedAt: Record<string, number> = {};
    for (const life of new Set(deferred.map(lifeOf)))
      erasedAt[life] = (await erasures.erasedAt(ref, life)) ?? clock.now();
    let dropped = 0;
    for (const d of deferred) if (await this.drop(customerId, d, erasedAt)) dropped++;
    return dropped;
  }

  /** For each delivery, whether its customer's life was erased: one read for them all. */
  async erasedDeliveries(deliveries: Pick<Delivery, 'customerId' | 'life'>[]): Promise<boolean[]> {
    if (deliveries.length === 0) return [];
    return this.deps.erasures.erased(
      deliveries.map((d) => ({ ref: this.ref(d.customerId), life: lifeOf(d) })),
    );
  }

  /**
   * Deletes what the partition holds of the erased lives: the record (after archiving its decisions),
   * then the deferred messages (counted), the ledger entries and the rest.
   */
  private async clear(
    customerId: string,
    erasedAt: Record<string, number>,
    read?: CustomerRecord,
  ): Promise<number> {
    const { store } = this.deps;
    const erased = (item: { life?: string | undefined }) => Object.hasOwn(erasedAt, lifeOf(item));
    /** Per life whose record was deleted here, the messages its log still held deferred. */
    const pending = new Map<string, ReadonlySet<string> | undefined>();
    if (read && erased(read)) pending.set(lifeOf(read), await this.deleteRecord(customerId, read));
    const held = await store.partition(customerId);
    if (held.record && erased(held.record))
      pending.set(lifeOf(held.record), await this.deleteRecord(customerId, held.record));
    let dropped = 0;
    for (const d of held.deferred) {
      if (!erased(d)) continue;
      // An item the log no longer holds deferred (a more relevant message took its slot, or it was
      // cancelled or released and the item not yet removed) was counted already as what became of it.
      const key = this.deps.customers.messageKey(d.message.messageId);
      if (pending.get(lifeOf(d))?.has(key) === false) await store.deleteDeferred(d);
      else if (await this.drop(customerId, d, erasedAt)) dropped++;
    }
    const rest = held.others.filter((o) => !isSweep(o) && erased(o)).map((o) => o.sk);
    if (rest.length > 0) await store.deleteItems(customerId, rest);
    return dropped;
  }

  /**
   * Archives the record's decisions and deletes it; the archive is rewritten from what was deleted.
   * Returns the keys of the messages the log held deferred when this deleted it (undefined when
   * another erasure deleted it first: its log may have held more).
   */
  private async deleteRecord(
    customerId: string,
    record: CustomerRecord,
  ): Promise<ReadonlySet<string> | undefined> {
    const { customers, counts, store } = this.deps;
    const life = lifeOf(record);
    const id = this.countId(customerId, life);
    let replayed = await customers.replayRecord(record, customerId);
    await counts.archive(id, replayed);
    const deleted = await store.deleteRecord(customerId, life);
    if (deleted && deleted.version !== record.version) {
      replayed = await customers.replayRecord(deleted, customerId);
      await counts.archive(id, replayed);
    }
    return deleted && new Set(replayed.state.pending.keys());
  }

  /** Counts a dropped deferred message (at its life's erasure), then deletes it; whether it was there. */
  private async drop(
    customerId: string,
    d: DeferredMessage,
    erasedAt: Record<string, number>,
  ): Promise<boolean> {
    const life = lifeOf(d);
    const key = this.deps.customers.messageKey(d.message.messageId);
    await this.deps.counts.dropped(
      this.countId(customerId, life, key),
      d,
      erasedAt[life] ?? this.deps.clock.now(),
    );
    return this.deps.store.deleteDeferred(d);
  }
}

/**
 * The received queue records whose delivery belongs to an erased customer's life: not to be delivered,
 * only acknowledged. One read for them all; a record that is not a delivery is left to dispatch.
 */
export async function droppedAsErased<R extends { body: string }>(
  erasures: Erasures,
  records: readonly R[],
): Promise<Set<R>> {
  const parsed = records.flatMap((record) => {
    const delivery = deliveryRefSchema.safeParse(safeJson(record.body));
    return delivery.success ? [{ record, delivery: delivery.data }] : [];
  });
  const erased = await erasures.erasedDeliveries(parsed.map((p) => p.delivery));
  const dropped = new Set<R>();
  parsed.forEach(({ record, delivery }, i) => {
    if (!erased[i]) return;
    dropped.add(record);
    logger.info('delivery dropped: its customer was erased', { messageId: delivery.messageId });
  });
  return dropped;
}

const deliveryRefSchema = z.object({
  messageId: z.string(),
  customerId: z.string().min(1),
  life: z.string().min(1).optional(),
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
