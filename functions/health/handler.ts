/** GET /health and GET /openapi.json: no key needed. */
import { getRoot } from '#shared/composition.ts';
import { openApiDocument } from '#shared/openapi.ts';
import { httpFunction, type RouteHandler } from '../http.ts';

const root = getRoot();
// Built once per cold start; its examples are dated from then (see openApiDocument).
const document = openApiDocument(root.clock.now());

export const health: RouteHandler = async () => ({ status: 200, body: { status: 'ok' } });
export const openapi: RouteHandler = async () => ({ status: 200, body: document });

export const handler = httpFunction(root.authenticate, {
  'GET /health': { handle: health },
  'GET /openapi.json': { handle: openapi },
});
