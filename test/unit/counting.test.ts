import { describe, expect, it } from 'vitest';
import { DecisionCounter, ErasureCounts } from '#shared/app/counting.ts';
import type { Replayed } from '#shared/app/customers.ts';
import { emptyBase, replay } from '#shared/domain/customer-log.ts';
import type { Counted, DayCounts } from '#shared/domain/tally.ts';
import type { DeferredMessage, TallyKind, TallyStore } from '#shared/ports.ts';
import { aPolicy, at, MINUTE, messageEntry, policies, preferencesEntry, SECOND, T0 } from './builders.ts';

/** The tally store's contract in memory: each put replaces what the same flush id and kind wrote. */
class MemoryTallies implements TallyStore {
  writes: { flushId: string; kind: TallyKind; counts: DayCounts; version?: number | undefined }[] = [];
  failNext = 0;
  readonly items = new Map<string, DayCounts>();

  async put(flushId: string, kind: TallyKind, counts: DayCounts, version?: number): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('throttled');
    }
    this.writes.push({ flushId, kind, counts, version });
    this.items.set(`${flushId} ${kind}`, counts);
  }

  async read(): Promise<DayCounts> {
    throw new Error('not read here');
  }

  /** The total count over every item kept. */
  total(): number {
    let n = 0;
    for (const counts of this.items.values())
      for (const groups of counts.values()) for (const c of groups.values()) n += c;
    return n;
  }
}

const clockAt = (start: number) => {
  const clock = { t: start, now: () => clock.t };
  return clock;
};

const decision = (overrides: Partial<Counted> = {}): Counted => ({
  at: T0,
  stage: 'decision',
  outcome: 'suppressed',
  reason: 'frequency_cap',
  channel: 'email',
  policyVersion: 1,
  ...overrides,
});

describe('DecisionCounter', () => {
  it('writes what was added as one tally per flush, grouped', async () => {
    // Prepare
    const store = new MemoryTallies();
    const counter = new DecisionCounter(store, clockAt(T0));
    counter.add([decision(), decision(), decision({ outcome: 'accepted', reason: undefined })]);

    // Act
    await counter.flush();

    // Assess
    expect(store.writes).toHaveLength(1);
    expect(store.writes[0]?.kind).toBe('live');
    const groups = store.writes[0]?.counts.get('2026-03-02');
    expect([...(groups?.values() ?? [])].sort()).toEqual([1, 2]);
  });

  it('writes nothing when nothing was added', async () => {
    const store = new MemoryTallies();
    const counter = new DecisionCounter(store, clockAt(T0));

    await counter.flush();

    expect(store.writes).toEqual([]);
  });

  it('flushes at the end of a request only once flushMs passed since the last flush', async () => {
    // Prepare
    const store = new MemoryTallies();
    const clock = clockAt(T0);
    const counter = new DecisionCounter(store, clock, 5 * SECOND);
    counter.add([decision()]);

    // Act & Assess: not due before 5 s, due at 5 s
    clock.t = T0 + 5 * SECOND - 1;
    await counter.flushIfDue();
    expect(store.writes).toHaveLength(0);
    clock.t = T0 + 5 * SECOND;
    await counter.flushIfDue();
    expect(store.writes).toHaveLength(1);

    // ...and counts the next 5 s from that flush
    counter.add([decision()]);
    clock.t = T0 + 10 * SECOND - 1;
    await counter.flushIfDue();
    expect(store.writes).toHaveLength(1);
  });

  it('flushes at every request when flushMs is 0, as on Lambda', async () => {
    const store = new MemoryTallies();
    const counter = new DecisionCounter(store, clockAt(T0));
    counter.add([decision()]);

    await counter.flushIfDue();

    expect(store.writes).toHaveLength(1);
  });

  it('flushes when the clock stepped back behind the last flush, as an instance whose clock is corrected may see', async () => {
    // Prepare: a flush at T0, then the clock set back 1 ms (Lambda: flushMs 0) and 10 s (a local timer)
    const store = new MemoryTallies();
    const clock = clockAt(T0);
    const atEveryRequest = new DecisionCounter(store, clock);
    const onATimer = new DecisionCounter(store, clock, 5 * SECOND);
    await atEveryRequest.flush();
    await onATimer.flush();
    clock.t = T0 - 1;
    atEveryRequest.add([decision()]);
    await atEveryRequest.flushIfDue();
    clock.t = T0 - 10 * SECOND;
    onATimer.add([decision()]);
    await onATimer.flushIfDue();

    // Assess: both wrote their counts instead of waiting for the clock to catch up
    expect(store.writes).toHaveLength(2);
  });

  it('keeps a flush that failed and writes it again, under the same id, with the next one', async () => {
    // Prepare
    const store = new MemoryTallies();
    const counter = new DecisionCounter(store, clockAt(T0));
    counter.add([decision()]);
    store.failNext = 1;
    await counter.flush();
    expect(store.writes).toHaveLength(0);

    // Act
    counter.add([decision({ at: T0 + MINUTE })]);
    await counter.flush();

    // Assess: both written, each once, and a retried id rewrites rather than adds
    expect(store.writes).toHaveLength(2);
    expect(new Set(store.writes.map((w) => w.flushId)).size).toBe(2);
    expect(store.total()).toBe(2);
    await counter.flush();
    expect(store.writes).toHaveLength(2);
  });

  it('gives each flush an id of its own', async () => {
    const store = new MemoryTallies();
    const counter = new DecisionCounter(store, clockAt(T0));
    for (let i = 0; i < 3; i++) {
      counter.add([decision()]);
      await counter.flush();
    }

    expect(new Set(store.writes.map((w) => w.flushId)).size).toBe(3);
    expect(store.total()).toBe(3);
  });
});

describe('ErasureCounts', () => {
  it('counts a deferred message an erasure dropped as suppressed erased, on the erasure day, under its own id', async () => {
    // Prepare
    const store = new MemoryTallies();
    const dropped = {
      message: { channel: 'sms', campaignId: 'spring', category: 'promotions' },
      policyVersion: 3,
    } as unknown as DeferredMessage;

    // Act
    await new ErasureCounts(store).dropped('m-1', dropped, at('2026-11-30T23:59:59Z'));
    await new ErasureCounts(store).dropped('m-1', dropped, at('2026-11-30T23:59:59Z'));

    // Assess
    expect(store.writes.map((w) => [w.flushId, w.kind])).toEqual([
      ['erased-m-1', 'live'],
      ['erased-m-1', 'live'],
    ]);
    expect(store.total()).toBe(1);
    const [day, groups] = [...(store.writes[0]?.counts ?? new Map())][0] ?? [];
    expect(day).toBe('2026-11-30');
    expect(JSON.parse([...groups.keys()][0])).toEqual([
      'erasure',
      'suppressed',
      'erased',
      'sms',
      'spring',
      'promotions',
      3,
    ]);
  });
});

describe('ErasureCounts.archive', () => {
  /** A customer's replayed log: one accepted message, one suppressed (maxPerWeek 1), and forgotten days. */
  function replayed(version: number, forgotten?: Record<string, number>): Replayed {
    const log = [
      preferencesEntry(T0, { maxPerWeek: 1 }),
      messageEntry(T0, { key: 'a' }),
      messageEntry(T0 + MINUTE, { key: 'b', campaignId: 'spring' }),
    ];
    const { state, results } = replay({ ...emptyBase(), forgotten }, log, policies(aPolicy({}, 1)));
    return { record: { version } as Replayed['record'], state, results };
  }

  it('archives the decisions the log held, with the record version, and no forgotten item when none', async () => {
    // Prepare
    const store = new MemoryTallies();

    // Act
    await new ErasureCounts(store).archive('c-1', replayed(7));

    // Assess
    expect(store.writes.map((w) => [w.flushId, w.kind, w.version])).toEqual([['erase-c-1', 'archive', 7]]);
    const groups = store.writes[0]?.counts.get('2026-03-02') ?? new Map<string, number>();
    expect(Object.fromEntries(groups)).toEqual({
      '["decision","accepted","","email","","",1]': 1,
      '["decision","suppressed","frequency_cap","email","spring","",1]': 1,
    });
  });

  it('archives how many decisions the log had forgotten, by day', async () => {
    // Prepare
    const store = new MemoryTallies();

    // Act
    await new ErasureCounts(store).archive('c-1', replayed(8, { '2026-03-01': 120 }));

    // Assess
    const forgotten = store.writes.find((w) => w.kind === 'forgotten');
    expect(forgotten).toMatchObject({ flushId: 'erase-c-1', version: 8 });
    expect(Object.fromEntries(forgotten?.counts.get('2026-03-01') ?? [])).toEqual({ forgotten: 120 });
  });
});
