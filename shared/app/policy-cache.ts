/**
 * Policies as the decision path sees them: versions are immutable and cached for the life of the
 * process; which version is current is re-read at most every `ttlMs` (GOVERNOR_POLICY_TTL_MS), so a
 * change takes effect everywhere within that time without a read on every decision.
 */
import { type CompiledPolicy, compilePolicy } from '../domain/decision.ts';
import { DEFAULT_POLICY } from '../domain/default-policy.ts';
import type { Policy } from '../domain/schemas.ts';
import type { Clock, PolicyStore } from '../ports.ts';

export class PolicyCache {
  private readonly versions = new Map<number, CompiledPolicy>([[0, compilePolicy(DEFAULT_POLICY)]]);
  private currentVersion: number | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<CompiledPolicy> | undefined;

  constructor(
    private readonly store: PolicyStore,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  async current(): Promise<CompiledPolicy> {
    if (this.currentVersion !== undefined && this.clock.now() - this.checkedAt < this.ttlMs) {
      const cached = this.versions.get(this.currentVersion);
      if (cached) return cached;
    }
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refresh(): Promise<CompiledPolicy> {
    const policy = (await this.store.current()) ?? DEFAULT_POLICY;
    this.checkedAt = this.clock.now();
    this.currentVersion = policy.version;
    return this.remember(policy);
  }

  private remember(policy: Policy): CompiledPolicy {
    const known = this.versions.get(policy.version);
    if (known) return known;
    const compiled = compilePolicy(policy);
    this.versions.set(policy.version, compiled);
    return compiled;
  }

  /** The versions among these that `lookup` cannot answer yet. */
  missing(versions: Iterable<number>): number[] {
    const missing = new Set<number>();
    for (const v of versions) if (!this.versions.has(v)) missing.add(v);
    return [...missing];
  }

  /** Loads the given versions so that `lookup` can answer synchronously. */
  async load(versions: Iterable<number>): Promise<void> {
    const missing = this.missing(versions);
    if (missing.length === 0) return;
    await Promise.all(
      missing.map(async (v) => {
        const policy = await this.store.get(v);
        if (!policy) throw new Error(`policy version ${v} is missing from the store`);
        this.remember(policy);
      }),
    );
  }

  lookup = (version: number): CompiledPolicy => {
    const compiled = this.versions.get(version);
    if (!compiled) throw new Error(`policy version ${version} was not loaded`);
    return compiled;
  };
}
