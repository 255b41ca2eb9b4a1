/**
 * The routes of the HTTP API and the handler module behind each, derived from the deployment's list
 * (infra/routes.ts): the local server serves exactly the routes API Gateway does, with the same modules.
 * Each module is loaded lazily, so that it reads its configuration after the local stack has set it.
 */
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { PROJECT_ROOT } from '../infra/paths.ts';
import { httpFunctions, type RouteKey } from '../infra/routes.ts';

export type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** The same function for every route of one module (the server loads each module once). */
  load: () => Promise<Handler>;
}

const split = (key: RouteKey) => {
  const space = key.indexOf(' ');
  return { method: key.slice(0, space) as Route['method'], path: key.slice(space + 1) };
};

export const routes: Route[] = httpFunctions.flatMap((spec) => {
  const load = () =>
    import(join(PROJECT_ROOT, spec.entry)).then((m: { handler: unknown }) => m.handler as Handler);
  return spec.routes.map((key) => ({ ...split(key), load }));
});
