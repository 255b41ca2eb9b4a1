/** POST /v1/decisions/preview: the decision a message would get now, consuming nothing. */
import { previewMessage } from '#shared/app/send.ts';
import { getRoot } from '#shared/composition.ts';
import { messageSchema } from '#shared/domain/schemas.ts';
import { httpFunction, parseWith, type RouteHandler } from '../http.ts';

const root = getRoot();
// The keyed hashes' secret, read once at cold start (a clear failure there if it is missing).
await root.hashes.ready();

export const preview: RouteHandler = async ({ body }) => ({
  status: 200,
  body: await previewMessage(root, parseWith(messageSchema, body, 'the message')),
});

export const handler = httpFunction(root.authenticate, {
  'POST /v1/decisions/preview': { handle: preview },
});
