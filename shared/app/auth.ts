/**
 * Who is calling: an API key in `Authorization: Bearer <key>`, resolved to a principal with scopes. The
 * bootstrap admin key (GOVERNOR_ADMIN_KEY) carries every scope. Keys are compared as SHA-256 digests in
 * constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
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

export interface Principal {
  keyId: string;
  scopes: ReadonlySet<Scope>;
}

export const ANONYMOUS: Principal = { keyId: 'anonymous', scopes: new Set() };

export type Authenticator = (event: APIGatewayProxyEventV2) => Promise<Principal>;

export const digest = (key: string) => createHash('sha256').update(key, 'utf8').digest();

export function bearerToken(event: APIGatewayProxyEventV2): string | undefined {
  const header = event.headers?.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

export function createAuthenticator(adminKey: string | undefined): Authenticator {
  const adminDigest = adminKey ? digest(adminKey) : undefined;
  const admin: Principal = { keyId: 'admin', scopes: new Set(SCOPES) };
  return async (event) => {
    const token = bearerToken(event);
    if (!token) throw new UnauthorizedError('send Authorization: Bearer <api key>');
    if (adminDigest && timingSafeEqual(digest(token), adminDigest)) return admin;
    throw new UnauthorizedError('the API key is not valid');
  };
}
