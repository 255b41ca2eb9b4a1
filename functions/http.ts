/**
 * What every HTTP function shares: the middy stack (logging context, metrics, authentication, per-key
 * rate limit and scope, JSON body parsing with size and type checks, security headers) and the one place
 * where errors become RFC 9457 problem+json responses.
 *
 * Authentication: behind the deployed Lambda authorizer, the principal it vouched for is read from
 * `requestContext.authorizer.lambda`; without one (the local server), the function runs the very same
 * `authenticate` itself. The scope of each route and the rate limit are checked here in both cases.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import {
  ANONYMOUS,
  type Authenticator,
  allows,
  type Principal,
  principalFromAuthorizer,
} from '#shared/app/auth.ts';
import type { RateLimiter } from '#shared/app/rate-limit.ts';
import { getRoot } from '#shared/composition.ts';
import {
  type FieldError,
  ForbiddenError,
  GovernorError,
  MalformedBodyError,
  PayloadTooLargeError,
  TooManyRequestsError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '#shared/errors.ts';
import { logger } from '#shared/observability/index.ts';
import { problemHeaders, problemOf } from '#shared/problems.ts';
import { SECURITY_HEADERS } from '#shared/security-headers.ts';
import { ANY_KEY, httpFunctions, type RouteScope } from '../infra/routes.ts';

export const MAX_BODY_BYTES = 1024 * 1024;
/**
 * Deeper JSON is refused before parsing: the handlers' recursive steps (validation, JSON.stringify of a
 * payload, DynamoDB marshalling) would otherwise overflow the stack on `[[[[…]]]]` and answer 500.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether the JSON text nests arrays and objects deeper than `max` (strings are skipped). */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      // A backslash escapes the next character; a quote ends the string.
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export interface HttpRequest {
  event: APIGatewayProxyEventV2;
  principal: Principal;
  /** The parsed JSON body; undefined when there is none. */
  body: unknown;
}

export interface HttpResult {
  status: number;
  body?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

export type RouteHandler = (request: HttpRequest) => Promise<HttpResult>;

/** Turns a zod failure into a validation error listing each field. */
export function fieldErrors(error: z.ZodError, prefix: (string | number)[] = []): FieldError[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join('.') || '(body)',
    message: issue.message,
  }));
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what = 'the body'): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ValidationError(`${what} is not valid`, fieldErrors(parsed.error));
  return parsed.data;
}

export function problem(error: unknown, instance: string): APIGatewayProxyStructuredResultV2 {
  const body = problemOf(error, { instance });
  return { statusCode: body.status, headers: problemHeaders(error), body: JSON.stringify(body) };
}

function decodeBody(event: APIGatewayProxyEventV2): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.byteLength > MAX_BODY_BYTES)
    throw new PayloadTooLargeError(`the body is over ${MAX_BODY_BYTES} bytes`);
  const type = (event.headers?.['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new UnsupportedMediaTypeError(`content-type must be application/json, not "${type || 'none'}"`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch (cause) {
    throw new MalformedBodyError('the body is not valid UTF-8', { cause });
  }
  if (nestsDeeperThan(text, MAX_JSON_DEPTH))
    throw new MalformedBodyError(`the body nests deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new MalformedBodyError(`the body is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

function respond(result: HttpResult): APIGatewayProxyStructuredResultV2 {
  const headers = { ...SECURITY_HEADERS, ...result.headers };
  if (result.text !== undefined) return { statusCode: result.status, headers, body: result.text };
  if (result.body === undefined) return { statusCode: result.status, headers };
  return {
    statusCode: result.status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(result.body),
  };
}

/** The authorizer's verdict on this request, when an authorizer ran. */
function authorizerContext(event: APIGatewayProxyEventV2): Record<string, unknown> | undefined {
  const { authorizer } = event.requestContext as { authorizer?: { lambda?: unknown } };
  const context = authorizer?.lambda;
  return typeof context === 'object' && context !== null ? (context as Record<string, unknown>) : undefined;
}

async function identify(event: APIGatewayProxyEventV2, authenticate: Authenticator): Promise<Principal> {
  const context = authorizerContext(event);
  return context ? principalFromAuthorizer(context) : authenticate(event);
}

const problemJson = (): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> => ({
  onError: async (request) => {
    const status = request.error instanceof GovernorError ? request.error.status : 500;
    // Opaque ids only: never the body, the query or the key (a 429 is in the API's access log).
    if (status >= 500)
      logger.error('request failed', { error: request.error as Error, route: request.event.routeKey });
    request.response = problem(request.error, request.event.rawPath ?? '');
  },
});

/**
 * Refuses the query parameters a route does not declare: a parameter a route silently ignored would let a
 * caller believe it was honoured (`GET /v1/policy?version=0` answering the current version).
 */
export function refuseUnknownQuery(event: APIGatewayProxyEventV2, declared: readonly string[] = []): void {
  const unknown = Object.keys(event.queryStringParameters ?? {}).filter((name) => !declared.includes(name));
  if (unknown.length === 0) return;
  const takes = declared.length === 0 ? 'this route takes none' : `this route takes ${declared.join(', ')}`;
  throw new ValidationError(
    `unknown query parameter${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: ${takes}`,
    unknown.map((name) => ({ path: `query.${name}`, message: 'unknown query parameter' })),
  );
}

/** One route of a function: the query parameters it takes, its code. */
export interface RouteSpec {
  /**
   * Only for a route the deployment does not serve (a test's probe): a deployed route needs the scope
   * infra/routes.ts gives it, and declares none here.
   */
  scope?: RouteScope;
  /** The query parameters the route reads; any other is refused with a 400. None by default. */
  query?: readonly string[];
  handle: RouteHandler;
}

export interface HttpFunctionOptions {
  /** Default: the root's, which shares each key's count with every other instance. */
  rateLimiter?: RateLimiter;
  /** Awaited before every answer. Default: the root's (the archive's records, on Lambda). */
  settle?: () => Promise<void>;
}

/** The scope of every route the deployment serves. */
const DEPLOYED_SCOPES = new Map<string, RouteScope>(
  httpFunctions.flatMap((spec) => Object.entries(spec.scopes) as [string, RouteScope][]),
);

/** Each route's scope: infra/routes.ts's for a deployed route, else the one it declares. */
function scopesOf(routes: Record<string, RouteSpec>): Map<string, RouteScope> {
  const scopes = new Map<string, RouteScope>();
  for (const [key, route] of Object.entries(routes)) {
    const deployed = DEPLOYED_SCOPES.has(key);
    if (deployed && route.scope !== undefined)
      throw new Error(`${key}: a deployed route's scope is the one infra/routes.ts gives it`);
    const scope = deployed ? DEPLOYED_SCOPES.get(key) : route.scope;
    if (scope === undefined) throw new Error(`${key}: no scope (infra/routes.ts gives each route one)`);
    scopes.set(key, scope);
  }
  return scopes;
}

/**
 * A Lambda handler for a set of routes (keyed by API Gateway route key, e.g. `POST /v1/messages`), each
 * requiring the scope infra/routes.ts gives it (null: public; ANY_KEY: any valid key). Returns the
 * wrapped handler; route functions stay plain and testable. In order: 401 without a valid key, 429 over
 * the key's rate, 403 without the scope, then the query parameters (only those the route declares) and
 * the body.
 */
export function httpFunction(
  authenticate: Authenticator,
  routes: Record<string, RouteSpec>,
  { rateLimiter = getRoot().rateLimiter, settle = getRoot().settle }: HttpFunctionOptions = {},
) {
  const scopes = scopesOf(routes);
  const base = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const route = Object.hasOwn(routes, event.routeKey) ? routes[event.routeKey] : undefined;
    const scope = scopes.get(event.routeKey);
    if (!route || scope === undefined) throw new GovernorError(`no route ${event.routeKey} in this function`);
    let principal = ANONYMOUS;
    if (scope !== null) {
      principal = await identify(event, authenticate);
      const wait = rateLimiter.take(principal.keyId, principal.rateLimit);
      if (wait > 0) {
        throw new TooManyRequestsError(`this key is over its rate limit; retry in ${wait} s`, wait);
      }
      if (scope !== ANY_KEY && !allows(principal, scope)) {
        throw new ForbiddenError(`this action needs the scope ${scope}`);
      }
    }
    refuseUnknownQuery(event, route.query);
    const body = decodeBody(event);
    try {
      return respond(await route.handle({ event, principal, body }));
    } finally {
      // What the handler left in flight (the archive's records) settles before the function answers
      // and may be frozen, its error included; a local process settles it when it stops instead.
      await settle();
    }
  };
  // Never the event in the logs (it holds bodies: payloads, preferences), whatever the environment says.
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>(base)
    .use(injectLambdaContext(logger, { logEvent: false }))
    .use(problemJson());
}
