/**
 * The local stand-in for API Gateway (HTTP API, payload format 2.0): turns each request into the event
 * the deployed handler receives, invokes the handler with a Lambda-like context, and writes its
 * structured result back. Handlers are loaded on first use and cached, the way a Lambda cold start
 * happens once per instance.
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { GovernorError, MethodNotAllowedError, NotFoundError, PayloadTooLargeError } from '#shared/errors.ts';
import { problemHeaders, problemOf } from '#shared/problems.ts';
import type { Handler, Route } from './routes.ts';

export interface HttpServerOptions {
  routes: readonly Route[];
  /** Larger bodies are refused with 413 before the handler is called. API Gateway's own limit is 10 MB. */
  maxBodyBytes?: number;
  /** One line per request on stdout (`POST /v1/messages 200 3ms`). */
  logRequests?: boolean;
  /** How long close() lets in-flight requests finish before cutting their connections. */
  closeGraceMs?: number;
}

export interface HttpServer {
  listen(port: number, host?: string): Promise<{ url: string; port: number }>;
  /** Stops accepting connections, ends keep-alive ones, lets in-flight requests finish. Idempotent. */
  close(): Promise<void>;
}

/** The deployed API has a 30 s integration timeout; handlers see the same remaining time. */
const TIMEOUT_MS = 30_000;
const LOCAL_ACCOUNT_ID = '000000000000';
const LOCAL_API_ID = 'local';

interface CompiledRoute {
  route: Route;
  routeKey: string;
  segments: string[];
  /** Literal segments count: the more, the more specific (API Gateway prefers the most specific route). */
  literals: number;
}

export function createHttpServer({
  routes,
  maxBodyBytes = 1_048_576,
  logRequests = false,
  closeGraceMs = 10_000,
}: HttpServerOptions): HttpServer {
  const compiled: CompiledRoute[] = routes.map((route) => {
    const segments = route.path.split('/');
    return {
      route,
      routeKey: `${route.method} ${route.path}`,
      segments,
      literals: segments.filter((segment) => !isParameter(segment)).length,
    };
  });
  /** Keyed by loader: routes served by the same module share one cold start, as they share a Lambda. */
  const handlers = new Map<Route['load'], Promise<Handler>>();
  let closing: Promise<void> | undefined;

  function loadHandler(route: Route): Promise<Handler> {
    let handler = handlers.get(route.load);
    if (!handler) {
      handler = route.load();
      handlers.set(route.load, handler);
      // A failed import is retried on the next request rather than cached.
      handler.catch(() => handlers.delete(route.load));
    }
    return handler;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const url = req.url ?? '/';
    const queryStart = url.indexOf('?');
    const rawPath = queryStart === -1 ? url : url.slice(0, queryStart);
    const rawQueryString = queryStart === -1 ? '' : url.slice(queryStart + 1);
    const method = req.method ?? 'GET';

    const matches = compiled
      .map((candidate) => ({ candidate, parameters: matchPath(candidate.segments, rawPath) }))
      .filter((match) => match.parameters !== undefined);
    if (matches.length === 0) {
      return sendProblem(res, new NotFoundError(`No route for ${rawPath}`));
    }
    const match = matches
      .filter(({ candidate }) => candidate.route.method === method)
      .sort((a, b) => b.candidate.literals - a.candidate.literals)[0];
    if (!match) {
      const allowed = [...new Set(matches.map(({ candidate }) => candidate.route.method))];
      res.setHeader('allow', allowed.join(', '));
      return sendProblem(res, new MethodNotAllowedError(`${method} is not allowed on ${rawPath}`));
    }

    const declaredLength = Number(req.headers['content-length'] ?? 0);
    const body = declaredLength > maxBodyBytes ? undefined : await readBody(req, maxBodyBytes);
    if (body === undefined) {
      res.setHeader('connection', 'close');
      return sendProblem(res, new PayloadTooLargeError(`The body exceeds ${maxBodyBytes} bytes`));
    }

    const event = buildEvent(req, {
      routeKey: match.candidate.routeKey,
      rawPath,
      rawQueryString,
      pathParameters: match.parameters!,
      body,
    });
    try {
      const handler = await loadHandler(match.candidate.route);
      const result = await handler(event, createLambdaContext());
      return sendResult(res, normalizeResult(result));
    } catch (error) {
      logError('handler failed', error, {
        routeKey: event.routeKey,
        requestId: event.requestContext.requestId,
      });
      return sendProblem(
        res,
        new GovernorError('handler failed'),
        'The server could not handle the request.',
      );
    }
  }

  const server = createServer((req, res) => {
    const started = performance.now();
    if (closing) res.setHeader('connection', 'close');
    handle(req, res).then(
      (status) => {
        if (logRequests) {
          const ms = Math.round(performance.now() - started);
          process.stdout.write(`${req.method} ${req.url} ${status} ${ms}ms\n`);
        }
      },
      (error: unknown) => {
        // Only reading the request can fail here (the client went away): nobody is left to answer.
        if (!res.headersSent && !res.destroyed)
          sendProblem(res, new GovernorError('request failed'), 'Request failed');
        if (!(error instanceof Error && 'code' in error && error.code === 'ECONNRESET')) {
          logError('request failed', error, { method: req.method, url: req.url });
        }
      },
    );
  });

  return {
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve({ url: `http://${urlHost}:${address.port}`, port: address.port });
        });
      });
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        if (!server.listening) return resolve();
        // Keep-alive connections only end when idle: sweep them until the last in-flight request is
        // done, then cut whatever is left after the grace period.
        const sweeper = setInterval(() => server.closeIdleConnections(), 50);
        const deadline = setTimeout(() => server.closeAllConnections(), closeGraceMs);
        server.close((error) => {
          clearInterval(sweeper);
          clearTimeout(deadline);
          if (error) reject(error);
          else resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

/** A Lambda-like invocation context, for the HTTP server and the local workers (local/workers.ts). */
export function createLambdaContext(functionName = 'governor-local', timeoutMs = TIMEOUT_MS): Context {
  const deadline = Date.now() + timeoutMs;
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const unsupported = () => {
    throw new Error('callback-style completion is not supported: return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

interface EventParts {
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  pathParameters: Record<string, string>;
  body: Buffer;
}

function buildEvent(req: IncomingMessage, parts: EventParts): APIGatewayProxyEventV2 {
  const sourceIp = normalizeIp(req.socket.remoteAddress);
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (!values) continue;
    if (name === 'cookie') {
      cookies = values.flatMap((value) => value.split(/;\s*/)).filter((cookie) => cookie !== '');
      continue;
    }
    headers[name] = values.join(',');
  }
  // What API Gateway adds in front of the integration.
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']},${sourceIp}`
    : sourceIp;
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-forwarded-port'] ??= String(req.socket.localPort ?? '');

  const queryStringParameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(parts.rawQueryString)) {
    queryStringParameters[name] =
      queryStringParameters[name] === undefined ? value : `${queryStringParameters[name]},${value}`;
  }

  const now = new Date();
  const hasBody = parts.body.length > 0;
  const text = hasBody && isUtf8(parts.body);
  const domainName = (headers.host ?? 'localhost').replace(/:\d+$/, '');
  return {
    version: '2.0',
    routeKey: parts.routeKey,
    rawPath: parts.rawPath,
    rawQueryString: parts.rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(Object.keys(queryStringParameters).length > 0 ? { queryStringParameters } : {}),
    ...(Object.keys(parts.pathParameters).length > 0 ? { pathParameters: parts.pathParameters } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: LOCAL_API_ID,
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method: req.method ?? 'GET',
        path: parts.rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: parts.routeKey,
      stage: '$default',
      time: formatClfTime(now),
      timeEpoch: now.getTime(),
    },
    ...(hasBody ? { body: text ? parts.body.toString('utf8') : parts.body.toString('base64') } : {}),
    isBase64Encoded: hasBody && !text,
  };
}

function isParameter(segment: string): boolean {
  return segment.startsWith('{') && segment.endsWith('}');
}

/** Matches a raw path against a route template; returns the decoded path parameters, or undefined. */
function matchPath(template: string[], rawPath: string): Record<string, string> | undefined {
  const segments = rawPath.split('/');
  const parameters: Record<string, string> = {};
  for (let index = 0; index < template.length; index++) {
    const expected = template[index]!;
    const actual = segments[index];
    if (actual === undefined) return undefined;
    if (!isParameter(expected)) {
      if (safeDecode(actual) !== expected) return undefined;
      continue;
    }
    const name = expected.slice(1, -1);
    if (name.endsWith('+') && index === template.length - 1) {
      const rest = segments.slice(index).join('/');
      if (rest === '') return undefined;
      parameters[name.slice(0, -1)] = safeDecode(rest);
      return parameters;
    }
    if (actual === '') return undefined;
    parameters[name] = safeDecode(actual);
  }
  return segments.length === template.length ? parameters : undefined;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Reads the body; undefined when it exceeds the limit (reading stops there). */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** API Gateway's reading of a handler result that is not a structured response. */
function normalizeResult(result: unknown): APIGatewayProxyStructuredResultV2 {
  if (typeof result === 'object' && result !== null && 'statusCode' in result) {
    return result as APIGatewayProxyStructuredResultV2;
  }
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: typeof result === 'string' ? result : JSON.stringify(result ?? null),
  };
}

function sendResult(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): number {
  const status = result.statusCode ?? 200;
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    const lower = name.toLowerCase();
    // Framing is the server's business: the body below is sent whole.
    if (lower === 'content-length' || lower === 'transfer-encoding') continue;
    res.setHeader(lower, String(value));
  }
  if (result.cookies && result.cookies.length > 0) res.setHeader('set-cookie', result.cookies);
  const body = result.body ?? '';
  res.statusCode = status;
  res.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
  return status;
}

function sendProblem(res: ServerResponse, error: GovernorError, internalDetail?: string): number {
  const body = problemOf(error, { internalDetail });
  res.statusCode = body.status;
  for (const [name, value] of Object.entries(problemHeaders(error))) res.setHeader(name, value);
  res.end(JSON.stringify(body));
  return body.status;
}

function logError(message: string, error: unknown, context: Record<string, unknown>): void {
  const details =
    error instanceof Error
      ? { name: error.name, message: error.message, stack: error.stack }
      : { value: error };
  process.stderr.write(
    `${JSON.stringify({ level: 'ERROR', timestamp: new Date().toISOString(), message, ...context, error: details })}\n`,
  );
}

function normalizeIp(address: string | undefined): string {
  if (!address) return '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's `requestContext.time` format: `12/Mar/2020:19:03:58 +0000`. */
function formatClfTime(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}
