/**
 * Typed errors. Each carries the HTTP status and RFC 9457 problem type it maps to; the mapping to a
 * response (or a batch item's error) happens in exactly one place (shared/problems.ts).
 */
export interface FieldError {
  path: string;
  message: string;
}

export class GovernorError extends Error {
  readonly status: number = 500;
  readonly type: string = 'about:blank';
  readonly title: string = 'Internal error';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ValidationError extends GovernorError {
  override readonly status = 400;
  override readonly type = '/problems/validation';
  override readonly title = 'The request is not valid';
  constructor(
    message: string,
    readonly errors: FieldError[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class MalformedBodyError extends GovernorError {
  override readonly status = 400;
  override readonly type = '/problems/malformed-body';
  override readonly title = 'The body is not valid JSON';
}

export class PayloadTooLargeError extends GovernorError {
  override readonly status = 413;
  override readonly type = '/problems/too-large';
  override readonly title = 'The body is too large';
}

export class UnsupportedMediaTypeError extends GovernorError {
  override readonly status = 415;
  override readonly type = '/problems/unsupported-media-type';
  override readonly title = 'Send application/json';
}

export class UnauthorizedError extends GovernorError {
  override readonly status = 401;
  override readonly type = '/problems/unauthorized';
  override readonly title = 'A valid API key is required';
}

export class ForbiddenError extends GovernorError {
  override readonly status = 403;
  override readonly type = '/problems/forbidden';
  override readonly title = 'This key lacks the scope for this action';
}

export class NotFoundError extends GovernorError {
  override readonly status = 404;
  override readonly type = '/problems/not-found';
  override readonly title = 'Not found';
}

export class MethodNotAllowedError extends GovernorError {
  override readonly status = 405;
  override readonly type = '/problems/method-not-allowed';
  override readonly title = 'Method not allowed';
}

export class PreconditionFailedError extends GovernorError {
  override readonly status = 412;
  override readonly type = '/problems/precondition-failed';
  override readonly title = 'The policy changed since you read it';
}

export class PreconditionRequiredError extends GovernorError {
  override readonly status = 428;
  override readonly type = '/problems/precondition-required';
  override readonly title = 'If-Match is required';
}

export class ConflictError extends GovernorError {
  override readonly status = 409;
  override readonly type = '/problems/conflict';
  override readonly title = 'Conflict';
}

/**
 * A messageId already decided for a message with other facts (channel, kind, category, campaign): the
 * IETF Idempotency-Key draft's conflict. A retry must repeat the message; a new message needs a new id.
 */
export class IdempotencyConflictError extends GovernorError {
  override readonly status = 409;
  override readonly type = '/problems/idempotency-conflict';
  override readonly title = 'This messageId was used for another message';
}

export class TooManyRequestsError extends GovernorError {
  override readonly status = 429;
  override readonly type = '/problems/rate-limited';
  override readonly title = 'Too many requests';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** A dependency (DynamoDB, SQS) failed or timed out: the caller should retry. */
export class UnavailableError extends GovernorError {
  override readonly status = 503;
  override readonly type = '/problems/unavailable';
  override readonly title = 'Temporarily unavailable, retry';
}
