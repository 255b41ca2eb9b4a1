import { describe, expect, it } from 'vitest';
import { PolicyCache } from '#shared/app/policy-cache.ts';
import type { Policy } from '#shared/domain/schemas.ts';
import type { PolicyStore } from '#shared/ports.ts';
import { aPolicy, T0 } from './builders.ts';

function aStore(initial: Policy | undefined) {
  let current = initial;
  const versions = new Map<number, Policy>(initial ? [[initial.version, initial]] : []);
  let reads = 0;
  const store: PolicyStore = {
    current: async () => {
      reads++;
      return current;
    },
    get: async (v) => versions.get(v),
    put: async () => undefined,
    versions: async () => [],
  };
  return {
    store,
    reads: () => reads,
    change(policy: Policy) {
      current = policy;
      versions.set(policy.version, policy);
    },
  };
}

describe('PolicyCache', () => {
  it('applies a policy change once the TTL has passed, and not before', async () => {
    // Prepare
    let now = T0;
    const { store, change } = aStore(aPolicy({}, 1));
    const cache = new PolicyCache(store, { now: () => now }, 1000);
    expect((await cache.current()).policy.version).toBe(1);

    // Act
    change(aPolicy({}, 2));
    now += 999;
    const before = (await cache.current()).policy.version;
    now += 1;
    const after = (await cache.current()).policy.version;

    // Assess
    expect([before, after]).toEqual([1, 2]);
  });

  it('reads the store at most once per TTL however many decisions ask', async () => {
    const { store, reads } = aStore(aPolicy({}, 3));
    const cache = new PolicyCache(store, { now: () => T0 }, 1000);
    await Promise.all(Array.from({ length: 50 }, () => cache.current()));
    expect(reads()).toBe(1);
  });

  it('starts with the default policy, version 0, on a fresh install', async () => {
    const cache = new PolicyCache(aStore(undefined).store, { now: () => T0 }, 1000);
    const { policy } = await cache.current();
    expect(policy.version).toBe(0);
    expect(policy.caps.length).toBeGreaterThan(0);
  });

  it('loads old versions named by log entries, and refuses a version it cannot find', async () => {
    const { store, change } = aStore(aPolicy({}, 1));
    change(aPolicy({}, 2));
    const cache = new PolicyCache(store, { now: () => T0 }, 1000);
    await cache.load([1, 2]);
    expect(cache.lookup(1).policy.version).toBe(1);
    await expect(cache.load([7])).rejects.toThrow(/missing/);
    expect(() => cache.lookup(7)).toThrow(/not loaded/);
  });
});
