/**
 * API keys and the authenticator: the key format, bootstrap admin or stored key, constant-time digest
 * checks, revocation through the cache, and the authorizer's context read back by the functions.
 */
import { describe, expect, it } from 'vitest';
import { AuditLog } from '#shared/app/audit.ts';
import {
  bearerToken,
  createAuthenticator,
  deniedContext,
  digest,
  principalFromAuthorizer,
  SCOPES,
  toAuthorizerContext,
} from '#shared/app/auth.ts';
import { ApiKeys, generateKey, keyIdOf } from '#shared/app/keys.ts';
import type { AuditEntry } from '#shared/domain/schemas.ts';
import { UnauthorizedError } from '#shared/errors.ts';
import type { AuditPage, AuditStore, KeyStore, StoredKey } from '#shared/ports.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const ADMIN_KEY = 'bootstrap-admin-key-0123456789';

/** The key store as a map, counting reads (the cache is about not reading). */
class MemoryKeyStore implements KeyStore {
  readonly keys = new Map<string, StoredKey>();
  reads = 0;
  async create(key: StoredKey) {
    if (this.keys.has(key.id)) return false;
    this.keys.set(key.id, { ...key });
    return true;
  }
  async get(id: string) {
    this.reads++;
    const key = this.keys.get(id);
    return key ? { ...key } : undefined;
  }
  async list() {
    return [...this.keys.values()];
  }
  async revoke(id: string, at: string, by: string) {
    const key = this.keys.get(id);
    if (!key) return 'missing' as const;
    if (key.revokedAt) return 'already' as const;
    key.revokedAt = at;
    key.revokedBy = by;
    return 'revoked' as const;
  }
}

class MemoryAuditStore implements AuditStore {
  readonly entries: AuditEntry[] = [];
  async put(entry: AuditEntry) {
    this.entries.push(entry);
  }
  async list(): Promise<AuditPage> {
    return { entries: this.entries };
  }
}

function aSetup({ cacheTtlMs = 30_000 } = {}) {
  let now = T0;
  const clock = { now: () => now };
  const store = new MemoryKeyStore();
  const auditStore = new MemoryAuditStore();
  const audit = new AuditLog(auditStore, clock);
  const options = { store, clock, audit, cacheTtlMs, defaultRateLimit: 50 };
  const keys = new ApiKeys(options);
  return {
    store,
    auditStore,
    keys,
    /** Another process (Lambda instance) on the same table, with its own cache. */
    otherProcess: () => new ApiKeys(options),
    authenticate: createAuthenticator(ADMIN_KEY, keys),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const bearer = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

describe('the key format', () => {
  it('is gov_, a 16-hex-digit id, _, and 32 random bytes in base64url', () => {
    const { id, key } = generateKey();
    expect(key).toMatch(/^gov_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(keyIdOf(key)).toBe(id);
  });

  it('never repeats', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateKey().key));
    expect(keys.size).toBe(1000);
  });

  it.each([
    '',
    'gov_',
    'gov_0123456789abcdef',
    'gov_0123456789ABCDEF_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'gov_0123456789abcdef_AAAA',
    `gov_0123456789abcdef_${'A'.repeat(44)}`,
    `xov_0123456789abcdef_${'A'.repeat(43)}`,
  ])('refuses %j', (token) => {
    expect(keyIdOf(token)).toBeUndefined();
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['Bearer   abc  ', 'abc'],
    ['Basic YTpi', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    ['abc', undefined],
  ])('reads %j as %j', (header, token) => {
    expect(bearerToken({ headers: { authorization: header } })).toBe(token);
  });

  it('reads nothing without the header', () => {
    expect(bearerToken({})).toBeUndefined();
    expect(bearerToken({ headers: {} })).toBeUndefined();
  });
});

describe('createAuthenticator', () => {
  it('gives the bootstrap admin key every scope and no rate limit', async () => {
    const { authenticate } = aSetup();
    const principal = await authenticate(bearer(ADMIN_KEY));
    expect(principal.keyId).toBe('admin');
    expect([...principal.scopes]).toEqual([...SCOPES]);
    expect(principal.rateLimit).toBeUndefined();
  });

  it('resolves a stored key to its id, its scopes and the default rate limit', async () => {
    const { keys, authenticate } = aSetup();
    const created = await keys.create({ name: 'crm', scopes: ['send', 'policy:read'] }, 'admin');
    const principal = await authenticate(bearer(created.key));
    expect(principal).toEqual({
      keyId: created.id,
      scopes: new Set(['send', 'policy:read']),
      rateLimit: 50,
    });
  });

  it("uses the key's own rate limit when it has one", async () => {
    const { keys, authenticate } = aSetup();
    const created = await keys.create({ name: 'blaster', scopes: ['send'], rateLimit: 7 }, 'admin');
    expect((await authenticate(bearer(created.key))).rateLimit).toBe(7);
  });

  it.each([
    ['no header', {}],
    ['an empty header', { headers: { authorization: '' } }],
    ['a Basic header', { headers: { authorization: 'Basic YTpi' } }],
    ['a wrong key', bearer('not-a-key-at-all')],
    ['an unknown well-formed key', bearer(generateKey().key)],
    ['the admin key with one character changed', bearer(`${ADMIN_KEY.slice(0, -1)}X`)],
  ])('refuses %s with 401', async (_, request) => {
    const { authenticate } = aSetup();
    await expect(authenticate(request)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('refuses a real key id with another secret', async () => {
    const { keys, authenticate } = aSetup();
    const created = await keys.create({ name: 'crm', scopes: ['send'] }, 'admin');
    const forged = `gov_${created.id}_${'A'.repeat(43)}`;
    await expect(authenticate(bearer(forged))).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('fetches the admin key from its secret once, and again only after a failed fetch', async () => {
    let fetches = 0;
    const authenticate = createAuthenticator(async () => {
      fetches++;
      if (fetches === 1) throw new Error('Secrets Manager unavailable');
      return ADMIN_KEY;
    });
    await expect(authenticate(bearer(ADMIN_KEY))).rejects.toThrow('Secrets Manager unavailable');
    expect((await authenticate(bearer(ADMIN_KEY))).keyId).toBe('admin');
    await authenticate(bearer(ADMIN_KEY));
    expect(fetches).toBe(2);
  });

  it('accepts no admin key shorter than 16 characters, nor an empty secret', async () => {
    for (const source of ['short-key', async () => '', async () => undefined]) {
      const authenticate = createAuthenticator(source);
      await expect(authenticate(bearer('short-key'))).rejects.toBeInstanceOf(UnauthorizedError);
    }
  });

  it('refuses every key when neither an admin key nor a key store is configured', async () => {
    const authenticate = createAuthenticator(undefined);
    await expect(authenticate(bearer(ADMIN_KEY))).rejects.toBeInstanceOf(UnauthorizedError);
  });
});

describe('ApiKeys', () => {
  it('stores only the SHA-256 of the key, and lists keys without it', async () => {
    const { keys, store } = aSetup();
    const created = await keys.create({ name: 'crm', scopes: ['send'] }, 'admin');
    const stored = store.keys.get(created.id)!;
    expect(stored.hash).toBe(digest(created.key).toString('hex'));
    expect(JSON.stringify(stored)).not.toContain(created.key.slice(21));
    const listed = await keys.list();
    expect(listed).toEqual([
      {
        id: created.id,
        name: 'crm',
        scopes: ['send'],
        createdAt: new Date(T0).toISOString(),
        createdBy: 'admin',
      },
    ]);
    expect(JSON.stringify(listed)).not.toContain(stored.hash);
  });

  it('reads a key once per cache period, not once per request', async () => {
    const { keys, store, authenticate, advance } = aSetup({ cacheTtlMs: 30_000 });
    const created = await keys.create({ name: 'crm', scopes: ['send'] }, 'admin');
    await Promise.all(Array.from({ length: 20 }, () => authenticate(bearer(created.key))));
    for (let i = 0; i < 10; i++) await authenticate(bearer(created.key));
    expect(store.reads).toBe(1);
    advance(30_000);
    await authenticate(bearer(created.key));
    expect(store.reads).toBe(2);
  });

  it('caches unknown ids too, so that guessing costs no read per request', async () => {
    const { store, authenticate } = aSetup();
    const unknown = generateKey().key;
    for (let i = 0; i < 5; i++)
      await expect(authenticate(bearer(unknown))).rejects.toThrow(UnauthorizedError);
    expect(store.reads).toBe(1);
  });

  it('stops a revoked key at once in the process that revoked it', async () => {
    const { keys, authenticate } = aSetup();
    const created = await keys.create({ name: 'crm', scopes: ['send'] }, 'admin');
    await authenticate(bearer(created.key));
    await keys.revoke(created.id, 'admin');
    await expect(authenticate(bearer(created.key))).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('stops a revoked key in other processes within the cache TTL', async () => {
    const { keys, otherProcess, advance } = aSetup({ cacheTtlMs: 30_000 });
    const other = otherProcess();
    const created = await keys.create({ name: 'crm', scopes: ['send'] }, 'admin');
    expect(await other.resolve(created.key)).toBeDefined();
    await keys.revoke(created.id, 'admin');
    advance(29_999);
    expect(await other.resolve(created.key)).toBeDefined();
    advance(1);
    expect(await other.resolve(created.key)).toBeUndefined();
  });

  it('revokes idempotently, and says when there is no such key', async () => {
    const { keys, auditStore } = aSetup();
    const created = await keys.create({ name: 'crm', scopes: ['send'] }, 'admin');
    await keys.revoke(created.id, 'admin');
    await keys.revoke(created.id, 'admin');
    await expect(keys.revoke('0123456789abcdef', 'admin')).rejects.toMatchObject({ status: 404 });
    expect(auditStore.entries.map((e) => [e.action, e.target])).toEqual([
      ['key.created', `key:${created.id}`],
      ['key.revoked', `key:${created.id}`],
    ]);
    expect((await keys.list())[0]).toMatchObject({
      revokedAt: new Date(T0).toISOString(),
      revokedBy: 'admin',
    });
  });

  it('records who created a key, its name and scopes, never the key', async () => {
    const { keys, auditStore } = aSetup();
    const created = await keys.create({ name: 'crm', scopes: ['send'], rateLimit: 5 }, 'k-admin');
    expect(auditStore.entries).toEqual([
      {
        id: expect.any(String),
        at: new Date(T0).toISOString(),
        actor: 'k-admin',
        action: 'key.created',
        target: `key:${created.id}`,
        details: { name: 'crm', scopes: ['send'], rateLimit: 5 },
      },
    ]);
    expect(JSON.stringify(auditStore.entries)).not.toContain(created.key);
  });
});

describe('the authorizer context', () => {
  it('carries a principal to the functions and back', () => {
    const principal = { keyId: 'abc', scopes: new Set(['send', 'reports:read'] as const), rateLimit: 20 };
    expect(principalFromAuthorizer(toAuthorizerContext(principal))).toEqual(principal);
    const admin = { keyId: 'admin', scopes: new Set(SCOPES), rateLimit: undefined };
    expect(principalFromAuthorizer(toAuthorizerContext(admin))).toEqual(admin);
  });

  it('turns a refusal into the 401', () => {
    expect(() => principalFromAuthorizer(deniedContext('the API key is not valid'))).toThrow(
      UnauthorizedError,
    );
    expect(() => principalFromAuthorizer({})).toThrow(UnauthorizedError);
  });

  it('ignores scopes it does not know', () => {
    const principal = principalFromAuthorizer({ keyId: 'k', scopes: 'send root __proto__', rateLimit: 'x' });
    expect([...principal.scopes]).toEqual(['send']);
    expect(principal.rateLimit).toBeUndefined();
  });
});
