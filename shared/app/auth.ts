/**
 * Who is calling: an API key in `Authorization: Bearer <key>`, resolved to a principal with scopes and a
 * rate limit. Either the bootstrap admin key (GOVERNOR_ADMIN_KEY, every scope, no rate limit) or a stored
 * key (shared/app/keys.ts). Keys are compared as SHA-256 digests in constant time.
 *
 * The same `authenticate` runs in the deployed Lambda authorizer and, locally (no authorizer), inside
 * every HTTP function: the authorizer hands its verdict to the functions as its context, which
 * `principalFromAuthorizer` reads back.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { UnauthorizedError } from '../errors.ts';

export const SCOPES = [
  'send',
  'policy:read',
  'policy:write',
  'preferences:read',
  'preferences:write',
  'events:write',
  'reports:read',
  'admin',
] as const;
export type Scope = (typeof SCOPES)[number];

const KNOWN_SCOPES: ReadonlySet<string> = new Set(SCOPES);
export const isScope = (value: string): value is Scope => KNOWN_SCOPES.has(value);

export interface Principal {
  keyId: string;
  scopes: ReadonlySet<Scope>;
  /** Requests per second this key may make (burst: twice that); undefined: not limited. */
  rateLimit?: number | undefined;
}

export const ANONYMOUS: Principal = { keyId: 'anonymous', scopes: new Set() };
export const BOOTSTRAP_ADMIN_ID = 'admin';

/** What authentication reads of a request: its headers (an HTTP API event or an authorizer event). */
export interface Credentials {
  headers?: Record<string, string | undefined> | undefined;
}

export type Authenticator = (request: Credentials) => Promise<Principal>;

/** Resolves a presented key to its principal; undefined when it is unknown, revoked or malformed. */
export interface KeyResolver {
  resolve(token: string): Promise<Principal | undefined>;
}

export const digest = (key: string) => createHash('sha256').update(key, 'utf8').digest();

/** Whether two SHA-256 digests are equal, in time independent of where they differ. */
export const sameDigest = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

export function bearerToken(request: Credentials): string | undefined {
  const header = request.headers?.authorization;
  const match = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  return match?.[1];
}

/** The bootstrap admin key, or how to fetch it (from a secret, once, at first use). */
export type AdminKeySource = string | undefined | (() => Promise<string | undefined>);

/** Keys shorter than this are not accepted as the bootstrap admin key (nor is an empty secret). */
const MIN_ADMIN_KEY_LENGTH = 16;

export function createAuthenticator(adminKey: AdminKeySource, keys?: KeyResolver): Authenticator {
  const admin: Principal = { keyId: BOOTSTRAP_ADMIN_ID, scopes: new Set(SCOPES) };
  const digestOf = (key: string | undefined) =>
    key !== undefined && key.length >= MIN_ADMIN_KEY_LENGTH ? digest(key) : undefined;
  let adminDigest: Promise<Buffer | undefined> | undefined =
    typeof adminKey === 'function' ? undefined : Promise.resolve(digestOf(adminKey));
  const loadAdminDigest = () => {
    // A failed fetch is not remembered: the next request tries again.
    adminDigest ??= (adminKey as () => Promise<string | undefined>)().then(digestOf, (error: unknown) => {
      adminDigest = undefined;
      throw error;
    });
    return adminDigest;
  };
  return async (request) => {
    const token = bearerToken(request);
    if (!token) throw new UnauthorizedError('send Authorization: Bearer <api key>');
    const expected = await loadAdminDigest();
    if (expected && sameDigest(digest(token), expected)) return admin;
    const principal = await keys?.resolve(token);
    if (principal) return principal;
    // One answer for unknown, revoked and malformed keys: nothing to learn from the difference.
    throw new UnauthorizedError('the API key is not valid');
  };
}

/**
 * What the Lambda authorizer passes to the functions (`requestContext.authorizer.lambda`): flat strings,
 * which every authorizer response format carries. `denied` is set when the key is not valid: the
 * function then answers the contract's 401 problem+json itself (see functions/authorizer/handler.ts).
 */
export interface AuthorizerContext {
  [key: string]: string;
  keyId: string;
  /** Space-separated scopes. */
  scopes: string;
  /** Requests per second, or '' when not limited. */
  rateLimit: string;
  /** Why the key was refused; '' when it was accepted. */
  denied: string;
}

export function toAuthorizerContext(principal: Principal): AuthorizerContext {
  return {
    keyId: principal.keyId,
    scopes: [...principal.scopes].join(' '),
    rateLimit: principal.rateLimit === undefined ? '' : String(principal.rateLimit),
    denied: '',
  };
}

export function deniedContext(reason: string): AuthorizerContext {
  return { keyId: '', scopes: '', rateLimit: '', denied: reason };
}

/** The principal the authorizer vouched for; throws the 401 when it refused the key. */
export function principalFromAuthorizer(context: Record<string, unknown>): Principal {
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const denied = text(context.denied);
  const keyId = text(context.keyId);
  if (denied !== '' || keyId === '') throw new UnauthorizedError(denied || 'the API key is not valid');
  const rate = Number(text(context.rateLimit));
  return {
    keyId,
    scopes: new Set(text(context.scopes).split(' ').filter(isScope)),
    rateLimit: text(context.rateLimit) !== '' && Number.isFinite(rate) && rate > 0 ? rate : undefined,
  };
}

/** Whether the principal may use a route that requires `scope` (admin may do everything). */
export const allows = (principal: Principal, scope: Scope) =>
  principal.scopes.has(scope) || principal.scopes.has('admin');

/** `GET /v1/me`: what the presented key may do, so that a client (the console) offers only that. */
export const keyInfoSchema = z.object({
  keyId: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  rateLimit: z.number().positive().optional().describe('requests per second; absent: not limited'),
});
export type KeyInfo = z.infer<typeof keyInfoSchema>;

export const keyInfo = (principal: Principal): KeyInfo => ({
  keyId: principal.keyId,
  scopes: SCOPES.filter((scope) => principal.scopes.has(scope)),
  ...(principal.rateLimit === undefined ? {} : { rateLimit: principal.rateLimit }),
});
