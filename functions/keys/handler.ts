/**
 * POST /v1/keys, GET /v1/keys, DELETE /v1/keys/{id}: API keys with scopes (scope admin); GET /v1/me: the
 * presented key's own id, scopes and rate limit (any valid key).
 */
import { keyInfo } from '#shared/app/auth.ts';
import { createKeySchema, keyIdSchema } from '#shared/app/keys.ts';
import { getRoot } from '#shared/composition.ts';
import { httpFunction, parseWith, type RouteHandler } from '../http.ts';

const root = getRoot();

/** The key is in this answer and nowhere else: only its SHA-256 is stored. */
export const createKey: RouteHandler = async ({ body, principal }) => ({
  status: 201,
  body: await root.keys.create(parseWith(createKeySchema, body, 'the key'), principal.keyId),
});

export const listKeys: RouteHandler = async () => ({ status: 200, body: { keys: await root.keys.list() } });

export const revokeKey: RouteHandler = async ({ event, principal }) => {
  await root.keys.revoke(
    parseWith(keyIdSchema, event.pathParameters?.id, 'the key id in the path'),
    principal.keyId,
  );
  return { status: 204 };
};

export const me: RouteHandler = async ({ principal }) => ({ status: 200, body: keyInfo(principal) });

export const handler = httpFunction(root.authenticate, {
  'POST /v1/keys': { handle: createKey },
  'GET /v1/keys': { handle: listKeys },
  'DELETE /v1/keys/{id}': { handle: revokeKey },
  'GET /v1/me': { handle: me },
});
