/** POST /v1/events: delivery and consent feedback from providers and platforms. */
import { recordEvents } from '#shared/app/events.ts';
import { getRoot } from '#shared/composition.ts';
import { eventsSchema } from '#shared/domain/schemas.ts';
import { httpFunction, parseWith, type RouteHandler } from '../http.ts';

const root = getRoot();
// Archived changes name their customer by a keyed hash: the secret is loaded at cold start.
if (root.archive) await root.hashes.ready();

export const postEvents: RouteHandler = async ({ body }) => ({
  status: 202,
  body: await recordEvents(root, parseWith(eventsSchema, body, 'the events')),
});

export const handler = httpFunction(root.authenticate, {
  'POST /v1/events': { handle: postEvents },
});
