import { describe, expect, it, vi } from 'vitest';
import { GroupCommit, type GroupCommitOptions } from '#shared/group-commit.ts';

/** A batch API whose requests the test completes by hand. */
function fakeApi(options: Partial<GroupCommitOptions<string>> = {}) {
  const requests: { items: string[]; done: () => void; fail: (e: Error) => void }[] = [];
  const commit = new GroupCommit<string>({
    maxItems: 3,
    maxHoldMs: 60_000, // no test waits that long: a partial request holds the next one back throughout
    ...options,
    send: (items) =>
      new Promise<void>((resolve, reject) => {
        requests.push({ items, done: resolve, fail: reject });
      }),
  });
  return { commit, requests };
}

/** Lets the pending setImmediate (the group commit's) run, then every promise it settles. */
const tick = () => new Promise((r) => setImmediate(() => setTimeout(r, 0)));

/** Whether a promise has settled, without waiting for it. */
async function state(p: Promise<void>): Promise<'pending' | 'resolved' | 'rejected'> {
  let s: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(
    () => {
      s = 'resolved';
    },
    () => {
      s = 'rejected';
    },
  );
  await tick();
  return s;
}

describe('GroupCommit', () => {
  it('sends at once when idle, and resolves when the request succeeds', async () => {
    const { commit, requests } = fakeApi();
    const sent = commit.submit(['a']);
    await tick();
    expect(requests.map((r) => r.items)).toEqual([['a']]);
    expect(await state(sent)).toBe('pending');
    requests[0]?.done();
    expect(await state(sent)).toBe('resolved');
  });

  it('resolves an empty submission without a request', async () => {
    const { commit, requests } = fakeApi();
    await commit.submit([]);
    expect(requests).toEqual([]);
  });

  it('gathers the items of one turn of the event loop into one request', async () => {
    const { commit, requests } = fakeApi();
    const a = commit.submit(['a']);
    const b = commit.submit(['b']);
    await tick();
    expect(requests.map((r) => r.items)).toEqual([['a', 'b']]);
    requests[0]?.done();
    await Promise.all([a, b]);
  });

  it('holds partial requests while one is in flight, then sends them together', async () => {
    const { commit, requests } = fakeApi({ maxItems: 10 });
    const first = commit.submit(['a']);
    await tick();
    const later = [commit.submit(['b']), commit.submit(['c', 'd'])];
    await tick();
    const more = commit.submit(['e']);
    await tick();
    expect(requests.map((r) => r.items)).toEqual([['a']]);
    requests[0]?.done();
    await first;
    await tick();
    expect(requests.map((r) => r.items)).toEqual([['a'], ['b', 'c', 'd', 'e']]);
    expect(await state(later[0] as Promise<void>)).toBe('pending');
    requests[1]?.done();
    await Promise.all([...later, more]);
  });

  it('holds the next partial request back only maxHoldMs behind one that hangs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setImmediate', 'performance'] });
    try {
      const { commit, requests } = fakeApi({ maxHoldMs: 30 });
      commit.submit(['hangs']);
      await vi.advanceTimersByTimeAsync(0);
      const next = commit.submit(['b']);
      await vi.advanceTimersByTimeAsync(29);
      expect(requests.map((r) => r.items)).toEqual([['hangs']]);
      await vi.advanceTimersByTimeAsync(1);
      expect(requests.map((r) => r.items)).toEqual([['hangs'], ['b']]);
      requests[1]?.done();
      await expect(next).resolves.toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('sends full requests at once even while a partial one is in flight', async () => {
    const { commit, requests } = fakeApi({ maxItems: 3 });
    commit.submit(['a']);
    await tick();
    const big = commit.submit(['b', 'c', 'd', 'e', 'f', 'g', 'h']);
    await tick();
    expect(requests.map((r) => r.items)).toEqual([['a'], ['b', 'c', 'd'], ['e', 'f', 'g']]);
    requests[1]?.done();
    requests[2]?.done();
    expect(await state(big)).toBe('pending'); // 'h' waits for the partial request in flight
    requests[0]?.done();
    await tick();
    expect(requests.map((r) => r.items).at(-1)).toEqual(['h']);
    requests[3]?.done();
    expect(await state(big)).toBe('resolved');
  });

  it('splits requests by size', async () => {
    const { commit, requests } = fakeApi({ maxItems: 10, maxBytes: 5, sizeOf: (s) => s.length });
    const sent = commit.submit(['aa', 'bb', 'cc', 'dddddddd', 'e']);
    await tick();
    // 'aa'+'bb' fill 4 of 5 bytes; an item larger than the limit goes alone; 'e' is the one partial.
    expect(requests.map((r) => r.items)).toEqual([['aa', 'bb'], ['cc'], ['dddddddd'], ['e']]);
    for (const r of requests) r.done();
    await sent;
  });

  it('sends an item named twice in one request once, and answers both callers', async () => {
    const { commit, requests } = fakeApi({ keyOf: (s) => s.slice(0, 1) });
    const first = commit.submit(['x1']);
    const retry = commit.submit(['x2', 'y']);
    await tick();
    expect(requests.map((r) => r.items)).toEqual([['x2', 'y']]);
    requests[0]?.done();
    await Promise.all([first, retry]);
  });

  it('rejects only the callers whose items were in the failed request', async () => {
    const { commit, requests } = fakeApi({ maxItems: 2 });
    const doomed = commit.submit(['a', 'b']);
    const fine = commit.submit(['c', 'd']);
    const mixed = commit.submit(['e']);
    await tick();
    expect(requests.map((r) => r.items)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    requests[0]?.fail(new Error('throttled'));
    requests[1]?.done();
    requests[2]?.done();
    await expect(doomed).rejects.toThrow('throttled');
    await expect(fine).resolves.toBeUndefined();
    await expect(mixed).resolves.toBeUndefined();
  });

  it('rejects a caller when one of its several requests fails, and goes on with the others', async () => {
    const { commit, requests } = fakeApi({ maxItems: 2 });
    const split = commit.submit(['a', 'b', 'c', 'd']);
    await tick();
    requests[0]?.done();
    requests[1]?.fail(new Error('down'));
    await expect(split).rejects.toThrow('down');
    const next = commit.submit(['e']);
    await tick();
    requests.at(-1)?.done();
    await expect(next).resolves.toBeUndefined();
  });

  it('turns a send that throws at once into a rejection', async () => {
    const commit = new GroupCommit<string>({
      maxItems: 2,
      send: () => {
        throw new Error('bad request');
      },
    });
    await expect(commit.submit(['a'])).rejects.toThrow('bad request');
  });

  it('keeps at most maxInFlight requests in flight', async () => {
    const { commit, requests } = fakeApi({ maxItems: 1, maxInFlight: 2 });
    const sent = commit.submit(['a', 'b', 'c', 'd']);
    await tick();
    expect(requests).toHaveLength(2);
    requests[0]?.done();
    await tick();
    expect(requests).toHaveLength(3);
    requests[1]?.done();
    requests[2]?.done();
    await tick();
    requests[3]?.done();
    await sent;
    expect(requests.map((r) => r.items)).toEqual([['a'], ['b'], ['c'], ['d']]);
  });

  it('lets items that linger share one request across turns of the event loop, until it fills', async () => {
    const { commit, requests } = fakeApi({ maxItems: 3, lingerMs: 60_000 });
    void commit.submit(['a'], { linger: true });
    await tick();
    void commit.submit(['b'], { linger: true });
    await tick();
    expect(requests).toEqual([]);
    void commit.submit(['c'], { linger: true });
    await tick();
    expect(requests.map((r) => r.items)).toEqual([['a', 'b', 'c']]);
  });

  it('sends at once an item that does not linger, with those lingering before it', async () => {
    const { commit, requests } = fakeApi({ lingerMs: 60_000 });
    void commit.submit(['a'], { linger: true });
    await tick();
    void commit.submit(['b']);
    await tick();
    expect(requests.map((r) => r.items)).toEqual([['a', 'b']]);
  });

  it('sends what lingers on flush, and resolves the flush once nothing is in flight', async () => {
    const { commit, requests } = fakeApi({ lingerMs: 60_000 });
    const sent = commit.submit(['a', 'b'], { linger: true });
    await tick();
    expect(requests).toEqual([]);
    const flushed = commit.flush();
    expect(requests.map((r) => r.items)).toEqual([['a', 'b']]);
    expect(await state(flushed)).toBe('pending');
    requests[0]?.done();
    expect(await state(flushed)).toBe('resolved');
    expect(await state(sent)).toBe('resolved');
  });

  it('resolves a flush at once when nothing waits or is in flight', async () => {
    const { commit } = fakeApi({ lingerMs: 60_000 });
    await expect(commit.flush()).resolves.toBeUndefined();
  });
});
