/** GET /v1/operations/queues: the delivery queue's and the DLQ's depths (scope reports:read or admin). */
import { getRoot } from '#shared/composition.ts';
import { httpFunction, type RouteHandler } from '../http.ts';

const root = getRoot();

export const queues: RouteHandler = async () => ({ status: 200, body: await root.queueInspector.depths() });

export const handler = httpFunction(root.authenticate, {
  'GET /v1/operations/queues': { handle: queues },
});
