/**
 * API keys with scopes. A key reads `gov_<id>_<secret>`: a 16-hex-digit id (not secret: it names the key
 * in listings, the audit trail and logs) and 32 random bytes in base64url. Only the SHA-256 of the whole
 * key is stored; the key itself is shown once, at creation.
 *
 * Resolving a key reads the stored key by its id and compares digests in constant time. Resolved keys
 * (and unknown ids) are cached in memory for GOVERNOR_KEY_CACHE_TTL_MS, so the hot path does not read
 * DynamoDB per request: a revocation takes effect at once in the process that made it and within that
 * time everywhere else.
 */
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { Clock, KeyStore, StoredKey } from '../ports.ts';
import type { AuditRecorder } from './audit.ts';
import { digest, type KeyResolver, type Principal, SCOPES, sameDigest } from './auth.ts';

export const KEY_PREFIX = 'gov_';
const KEY_PATTERN = /^gov_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
export const keyIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'must be a key id (16 hexadecimal digits)');

export const MAX_RATE_LIMIT = 100_000;

export const createKeySchema = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .regex(/^[\x20-\x7e]+$/, 'must be printable ASCII'),
  scopes: z
    .array(z.enum(SCOPES))
    .min(1)
    .max(SCOPES.length)
    .refine((scopes) => new Set(scopes).size === scopes.length, 'must not repeat a scope'),
  /** Requests per second (burst: twice that); default GOVERNOR_DEFAULT_RATE_LIMIT. */
  rateLimit: z.int().min(1).max(MAX_RATE_LIMIT).optional(),
});
export type CreateKey = z.infer<typeof createKeySchema>;

/** A key as listed: never its hash. */
export type KeySummary = Omit<StoredKey, 'hash'>;

export function generateKey(): { id: string; key: string } {
  const id = randomBytes(8).toString('hex');
  return { id, key: `${KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}` };
}

/** The id of a well-formed key; undefined for anything else. */
export function keyIdOf(token: string): string | undefined {
  return KEY_PATTERN.exec(token)?.[1];
}

export const summary = ({ hash: _hash, ...rest }: StoredKey): KeySummary => rest;

/** Revoked keys stay listed (and name their revoker) this long, then expire from the table. */
const REVOKED_RETENTION_S = 400 * 86_400;
/** Bounds the cache (unknown ids are cached too, so that a guesser cannot make every request a read). */
const MAX_CACHED = 10_000;

interface CacheEntry {
  key: StoredKey | undefined;
  until: number;
}

export interface ApiKeysOptions {
  store: KeyStore;
  clock: Clock;
  audit: AuditRecorder;
  cacheTtlMs: number;
  defaultRateLimit: number;
}

export class ApiKeys implements KeyResolver {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly loading = new Map<string, Promise<StoredKey | undefined>>();

  constructor(private readonly options: ApiKeysOptions) {}

  async create(request: CreateKey, actor: string): Promise<KeySummary & { key: string }> {
    const { store, clock, audit } = this.options;
    for (let attempt = 0; ; attempt++) {
      const { id, key } = generateKey();
      const stored: StoredKey = {
        id,
        name: request.name,
        scopes: [...request.scopes],
        ...(request.rateLimit !== undefined ? { rateLimit: request.rateLimit } : {}),
        hash: digest(key).toString('hex'),
        createdAt: new Date(clock.now()).toISOString(),
        createdBy: actor,
      };
      if (await store.create(stored)) {
        this.forget(id);
        await audit.record(actor, 'key.created', `key:${id}`, {
          name: stored.name,
          scopes: stored.scopes,
          ...(stored.rateLimit !== undefined ? { rateLimit: stored.rateLimit } : {}),
        });
        return { ...summary(stored), key };
      }
      // 64 random bits collide once in billions of keys; twice in a row means something else is wrong.
      if (attempt >= 2) throw new ConflictError('could not allocate a key id');
    }
  }

  async list(): Promise<KeySummary[]> {
    const keys = await this.options.store.list();
    return keys.map(summary).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Revokes the key; revoking a revoked key changes nothing. */
  async revoke(id: string, actor: string): Promise<void> {
    const { store, clock, audit } = this.options;
    const now = clock.now();
    const outcome = await store.revoke(
      id,
      new Date(now).toISOString(),
      actor,
      Math.floor(now / 1000) + REVOKED_RETENTION_S,
    );
    this.forget(id);
    if (outcome === 'missing') throw new NotFoundError(`there is no key ${id}`);
    if (outcome === 'revoked') await audit.record(actor, 'key.revoked', `key:${id}`);
  }

  async resolve(token: string): Promise<Principal | undefined> {
    const id = keyIdOf(token);
    if (!id) return undefined;
    const stored = await this.lookup(id);
    if (!stored || stored.revokedAt !== undefined) return undefined;
    if (!sameDigest(digest(token), Buffer.from(stored.hash, 'hex'))) return undefined;
    return {
      keyId: stored.id,
      scopes: new Set(SCOPES.filter((scope) => stored.scopes.includes(scope))),
      rateLimit: stored.rateLimit ?? this.options.defaultRateLimit,
    };
  }

  private async lookup(id: string): Promise<StoredKey | undefined> {
    const now = this.options.clock.now();
    const cached = this.cache.get(id);
    if (cached && cached.until > now) return cached.key;
    let loading = this.loading.get(id);
    if (!loading) {
      const started: Promise<StoredKey | undefined> = this.options.store
        .get(id)
        .then((key) => {
          // A revocation while this read was in flight dropped it: do not cache what it read.
          if (this.loading.get(id) === started) this.remember(id, key, this.options.clock.now());
          return key;
        })
        .finally(() => {
          if (this.loading.get(id) === started) this.loading.delete(id);
        });
      loading = started;
      this.loading.set(id, loading);
    }
    return loading;
  }

  private forget(id: string): void {
    this.cache.delete(id);
    this.loading.delete(id);
  }

  private remember(id: string, key: StoredKey | undefined, now: number): void {
    if (this.options.cacheTtlMs <= 0) return;
    if (this.cache.size >= MAX_CACHED) {
      for (const [cachedId, entry] of this.cache) if (entry.until <= now) this.cache.delete(cachedId);
      // Still full: drop the oldest entries (a Map iterates in insertion order).
      for (const cachedId of this.cache.keys()) {
        if (this.cache.size < MAX_CACHED) break;
        this.cache.delete(cachedId);
      }
    }
    this.cache.delete(id);
    this.cache.set(id, { key, until: now + this.options.cacheTtlMs });
  }
}
