import { describe, expect, it } from 'vitest';
import { emptyBase, replay } from '#shared/domain/customer-log.ts';
import { DueQueue, EngineRun } from '#shared/domain/engine-run.ts';
import { aPolicy, DAY, MINUTE, messageEntry, policies, releaseEntry, T0, WEEK } from './builders.ts';

// One message a minute
const perMinute = policies(aPolicy({ caps: [{ id: 'per-minute', limit: 1, window: 'PT1M' }] }, 1));
const expiresAt = T0 + DAY;

describe('EngineRun', () => {
  it('answers each append with the results of its own entries, decided after the earlier ones', () => {
    // Prepare
    const run = new EngineRun(emptyBase(), perMinute, WEEK);
    run.append([messageEntry(T0, { key: 'a', expiresAt })], T0);

    // Act
    const results = run.append(
      [messageEntry(T0 + 1000, { key: 'b', expiresAt }), messageEntry(T0 + 2000, { key: 'a', expiresAt })],
      T0 + 2000,
    );

    // Assess: b waits for a's minute; a is a retry of the first append's a
    expect(results).toMatchObject([
      {
        type: 'message',
        key: 'b',
        duplicate: false,
        decided: { verdict: { outcome: 'deferred', releaseAt: T0 + MINUTE } },
      },
      { type: 'message', key: 'a', duplicate: true, decided: { verdict: { outcome: 'accepted' } } },
    ]);
    expect(run.state?.pending.get('b')?.releaseAt).toBe(T0 + MINUTE);
  });

  it('decides every append as a replay of the whole log would, compacting in between', () => {
    // Prepare
    const log = [
      messageEntry(T0, { key: 'a', expiresAt }),
      messageEntry(T0 + 1000, { key: 'b', expiresAt }),
      releaseEntry(T0 + MINUTE, 'b', T0 + MINUTE),
      messageEntry(T0 + MINUTE + 1000, { key: 'c', expiresAt }),
    ];
    const run = new EngineRun(emptyBase(), perMinute, WEEK);

    // Act
    const appended = log.flatMap((entry) => run.append([entry], entry.at));

    // Assess
    expect(appended).toEqual(replay(emptyBase(), log, perMinute).results);
    expect(run.state?.sends.map((s) => [s.key, s.at])).toEqual([
      ['a', T0],
      ['b', T0 + MINUTE],
      ['c', T0 + 2 * MINUTE],
    ]);
  });

  it('has no state before its first append', () => {
    expect(new EngineRun(emptyBase(), perMinute, WEEK).state).toBeUndefined();
  });
});

describe('DueQueue', () => {
  it('gives the items earliest first, and of two due at the same moment the one queued first', () => {
    // Prepare
    const queue = new DueQueue<{ at: number; name: string }>();
    for (const [at, name] of [
      [3, 'c'],
      [1, 'a'],
      [2, 'b1'],
      [2, 'b2'],
      [0, 'first'],
      [2, 'b3'],
    ] as const)
      queue.push({ at, name });

    // Act
    const names: string[] = [];
    while (queue.length > 0) names.push(queue.shift()?.name ?? '');

    // Assess
    expect(names).toEqual(['first', 'a', 'b1', 'b2', 'b3', 'c']);
  });

  it('shows the next item without taking it, and empties on clear', () => {
    // Prepare
    const queue = new DueQueue<{ at: number }>();
    queue.push({ at: 5 });
    queue.push({ at: 4 });

    // Act, Assess
    expect(queue.peek()).toEqual({ at: 4 });
    expect(queue.length).toBe(2);
    queue.clear();
    expect(queue.length).toBe(0);
    expect(queue.peek()).toBeUndefined();
    expect(queue.shift()).toBeUndefined();
  });
});
