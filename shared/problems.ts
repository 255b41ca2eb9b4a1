/**
 * The one place where an error becomes an RFC 9457 problem: its body (for a whole response, or for one
 * item of a batch) and its headers. A GovernorError carries its status, type and title; anything else
 * is a 500. A 5xx never echoes internals: its detail is the caller's fixed sentence, not the message.
 */
import {
  type FieldError,
  GovernorError,
  TooManyRequestsError,
  UnauthorizedError,
  ValidationError,
} from './errors.ts';
import { SECURITY_HEADERS } from './security-headers.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
}

const INTERNAL_DETAIL = 'The request could not be completed; retry later.';

export interface ProblemOptions {
  /** The request path the problem is about (omitted for an item of a batch). */
  instance?: string | undefined;
  /** The detail of a 5xx, in place of the error's message. */
  internalDetail?: string | undefined;
}

export function problemOf(error: unknown, options: ProblemOptions = {}): Problem {
  const known = error instanceof GovernorError ? error : new GovernorError('internal');
  const problem: Problem = {
    type: known.type,
    title: known.title,
    status: known.status,
    detail: known.status < 500 ? known.message : (options.internalDetail ?? INTERNAL_DETAIL),
  };
  if (options.instance !== undefined) problem.instance = options.instance;
  if (error instanceof ValidationError) problem.errors = error.errors;
  return problem;
}

/** The headers of a problem response: the security headers, the media type, and what the error asks for. */
export function problemHeaders(error: unknown): Record<string, string> {
  const headers: Record<string, string> = { ...SECURITY_HEADERS, 'content-type': 'application/problem+json' };
  if (error instanceof TooManyRequestsError) headers['retry-after'] = String(error.retryAfterSeconds);
  // RFC 9110 §11.6.1: a 401 names the scheme that would be accepted.
  if (error instanceof UnauthorizedError) headers['www-authenticate'] = 'Bearer';
  return headers;
}
