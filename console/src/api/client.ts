/**
 * The console's client of the Governor API: same origin, the user's key as a Bearer token, every path,
 * query, body and answer typed from the generated OpenAPI types (openapi.gen.ts), so that the console
 * can only send what the served document declares. Problems (RFC 9457) become an ApiError carrying the
 * problem, its field errors included.
 */
import type { paths } from './openapi.gen.ts';

type Method = 'get' | 'put' | 'post' | 'delete';
type Path = keyof paths;
/** The paths that have an operation for `M`. */
export type PathsWith<M extends Method> = {
  [P in Path]: paths[P][M] extends { responses: unknown } ? P : never;
}[Path];
type Operation<P extends Path, M extends Method> = NonNullable<paths[P][M]>;

type JsonContent<R> = R extends { content: { 'application/json': infer T } } ? T : undefined;
/** The JSON of an operation's success answer (200, else 201, else 202, else nothing). */
export type Answer<O> = O extends { responses: infer R }
  ? R extends { 200: infer S }
    ? JsonContent<S>
    : R extends { 201: infer S }
      ? JsonContent<S>
      : R extends { 202: infer S }
        ? JsonContent<S>
        : undefined
  : never;
type Query<O> = O extends { parameters: { query?: infer Q } } ? ([Q] extends [never] ? never : Q) : never;
type PathParameters<O> = O extends { parameters: { path: infer Q } } ? Q : never;
type Body<O> = O extends { requestBody: { content: { 'application/json': infer B } } } ? B : never;

export type JsonOf<P extends Path, M extends Method = 'get'> = Answer<Operation<P, M>>;
export type QueryOf<P extends Path, M extends Method = 'get'> = Query<Operation<P, M>>;
export type BodyOf<P extends Path, M extends Method> = Body<Operation<P, M>>;

export interface FieldProblem {
  path: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: FieldProblem[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? `the API answered ${status}`);
    this.name = 'ApiError';
  }
}

export interface RequestOptions<O> {
  query?: Query<O>;
  path?: PathParameters<O>;
  body?: Body<O>;
  headers?: Record<string, string>;
}

export interface Answered<T> {
  data: T;
  headers: Headers;
}

export interface ApiClient {
  call<M extends Method, P extends PathsWith<M>>(
    method: M,
    path: P,
    options?: RequestOptions<Operation<P, M>>,
  ): Promise<Answered<Answer<Operation<P, M>>>>;
  /** The same request answered as text (the reports' CSV). */
  text<P extends PathsWith<'get'>>(path: P, options?: RequestOptions<Operation<P, 'get'>>): Promise<string>;
}

/** The API's base: the folder above the console's page (`…/console` → `…/`). */
export function apiBase(location: { href: string }): URL {
  return new URL('.', location.href);
}

function urlOf(base: URL, template: string, path: object | undefined, query: object | undefined): URL {
  const filled = template.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(String((path as Record<string, unknown> | undefined)?.[name] ?? '')),
  );
  const url = new URL(filled.slice(1), base);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  return url;
}

async function problemOf(response: Response): Promise<Problem> {
  const text = await response.text();
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) return parsed as Problem;
  } catch {
    // Not JSON: a proxy's or gateway's own page.
  }
  return { status: response.status, title: response.statusText || `HTTP ${response.status}` };
}

/**
 * A client for the key `key`. `onUnauthorized` is told when the API refuses the key (revoked meanwhile),
 * before the ApiError is thrown.
 */
export function createApiClient(
  key: string,
  base: URL,
  onUnauthorized: () => void = () => {},
  fetcher: typeof fetch = (input, init) => fetch(input, init),
): ApiClient {
  async function send(
    method: string,
    template: string,
    options: { query?: object; path?: object; body?: unknown; headers?: Record<string, string> },
    accept: string,
  ): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${key}`, accept, ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetcher(urlOf(base, template, options.path, options.query), {
      method: method.toUpperCase(),
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      credentials: 'omit',
    });
    if (!response.ok) {
      if (response.status === 401) onUnauthorized();
      throw new ApiError(response.status, await problemOf(response));
    }
    return response;
  }

  return {
    async call(method, path, options = {}) {
      const response = await send(method, path, options, 'application/json');
      const text = await response.text();
      return { data: (text === '' ? undefined : JSON.parse(text)) as never, headers: response.headers };
    },
    async text(path, options = {}) {
      return (await send('get', path, options, 'text/csv')).text();
    },
  };
}
