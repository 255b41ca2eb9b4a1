import { describe, expect, it } from 'vitest';
import {
  allows,
  bearerToken,
  createAuthenticator,
  deniedContext,
  keyInfo,
  type Principal,
  principalFromAuthorizer,
  toAuthorizerContext,
} from '#shared/app/auth.ts';
import { UnauthorizedError } from '#shared/errors.ts';

const principal = (scopes: string[], rateLimit?: number): Principal =>
  ({ keyId: 'k1', scopes: new Set(scopes), rateLimit }) as Principal;

describe('allows', () => {
  it.each([
    [['send'], 'send', true],
    [['send'], 'policy:write', false],
    [['admin'], 'policy:write', true],
    [[], 'send', false],
  ] as const)('a key with %j may use a route needing %s: %s', (scopes, scope, allowed) => {
    expect(allows(principal([...scopes]), scope)).toBe(allowed);
  });
});

describe('keyInfo', () => {
  it('lists the scopes in their canonical order, and the rate limit only when there is one', () => {
    expect(keyInfo(principal(['reports:read', 'send'], 5))).toEqual({
      keyId: 'k1',
      scopes: ['send', 'reports:read'],
      rateLimit: 5,
    });
    expect(keyInfo(principal(['send']))).toEqual({ keyId: 'k1', scopes: ['send'] });
  });
});

describe('the authorizer context, both ways', () => {
  it('carries a key, its scopes and its rate limit to the function and back', () => {
    const context = toAuthorizerContext(principal(['send', 'admin'], 2.5));
    expect(context).toEqual({ keyId: 'k1', scopes: 'send admin', rateLimit: '2.5', denied: '' });
    expect(principalFromAuthorizer(context)).toEqual({
      keyId: 'k1',
      scopes: new Set(['send', 'admin']),
      rateLimit: 2.5,
    });
    expect(toAuthorizerContext(principal(['send'])).rateLimit).toBe('');
  });

  it.each([
    ['', undefined],
    ['0', undefined],
    ['-3', undefined],
    ['abc', undefined],
    ['Infinity', undefined],
    ['7', 7],
  ])('reads the rate limit %j as %s', (rateLimit, expected) => {
    const p = principalFromAuthorizer({ keyId: 'k1', scopes: 'send', rateLimit, denied: '' });
    expect(p.rateLimit).toBe(expected);
  });

  it('throws the 401 with the reason the authorizer gave, or a general one without a key', () => {
    expect(() => principalFromAuthorizer(deniedContext('the API key was revoked'))).toThrow(
      new UnauthorizedError('the API key was revoked'),
    );
    expect(() => principalFromAuthorizer({ keyId: '', denied: '' })).toThrow(
      new UnauthorizedError('the API key is not valid'),
    );
    expect(() => principalFromAuthorizer({})).toThrow(UnauthorizedError);
    expect(deniedContext('why')).toEqual({ keyId: '', scopes: '', rateLimit: '', denied: 'why' });
  });

  it('drops scopes it does not know', () => {
    expect(principalFromAuthorizer({ keyId: 'k1', scopes: 'send root  admin' }).scopes).toEqual(
      new Set(['send', 'admin']),
    );
  });
});

describe('bearerToken', () => {
  it('takes the token without the spaces or tabs around it, and nothing after it', () => {
    expect(bearerToken({ headers: { authorization: 'Bearer \tabc \t' } })).toBe('abc');
    expect(bearerToken({ headers: { authorization: 'xBearer abc' } })).toBeUndefined();
    expect(bearerToken({ headers: { authorization: 'Bearer abc def' } })).toBeUndefined();
  });
});

describe('the bootstrap admin key', () => {
  it('is taken from 16 characters on, not shorter', async () => {
    const sixteen = 'a'.repeat(16);
    const fifteen = 'b'.repeat(15);
    await expect(
      createAuthenticator(sixteen)({ headers: { authorization: `Bearer ${sixteen}` } }),
    ).resolves.toMatchObject({ scopes: expect.any(Set) });
    await expect(
      createAuthenticator(fifteen)({ headers: { authorization: `Bearer ${fifteen}` } }),
    ).rejects.toThrow(UnauthorizedError);
  });
});
