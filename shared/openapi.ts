/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the same zod schemas that validate requests
 * and type the answers. Every route the API serves is here with every status it can answer, the headers
 * that matter (ETag, If-Match, Retry-After, WWW-Authenticate) and examples: each operation's request
 * examples are valid requests on a fresh install (the contract test sends them all through a validating
 * proxy), and its problem examples are built by the very code that answers them.
 */
import * as z from 'zod';
import { auditQuerySchema, MAX_AUDIT_DAYS } from './app/audit.ts';
import { keyInfoSchema, SCOPES } from './app/auth.ts';
import { campaignCancelAcceptedSchema, campaignCancelSchema } from './app/campaign-cancellation.ts';
import { cancellationSchema, messageQuery, messageStatusSchema } from './app/cancellation.ts';
import { customerLookupQuery, customerLookupSchema } from './app/customer-lookup.ts';
import { dryRunAcceptedSchema, dryRunRequestSchema, dryRunSchema, MAX_DRY_RUN_DAYS } from './app/dry-runs.ts';
import { EXPERIMENT_CI_METHOD, experimentQuery, experimentReportSchema } from './app/experiment-report.ts';
import { createKeySchema } from './app/keys.ts';
import {
  dayFiguresSchema,
  monthlySummarySchema,
  previousMonth,
  reconcileBody,
  reconcileResultSchema,
  summaryQuery,
  suppressedQuery,
  suppressedReportSchema,
} from './app/reports.ts';
import { DEFAULT_POLICY } from './domain/default-policy.ts';
import { previewSchema } from './domain/explain.ts';
import {
  AUDIT_ACTIONS,
  auditEntrySchema,
  decisionSchema,
  eventsSchema,
  MAX_BATCH,
  messageSchema,
  policyEditSchema,
  policySchema,
  preferencesSchema,
  queueDepthsSchema,
} from './domain/schemas.ts';
import {
  ConflictError,
  ForbiddenError,
  GovernorError,
  IdempotencyConflictError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  PreconditionRequiredError,
  TooManyRequestsError,
  UnauthorizedError,
  UnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
} from './errors.ts';

type Schema = Record<string, unknown>;

/** A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect), as a request (input) or an answer. */
const json = (schema: z.ZodType, io: 'input' | 'output' = 'input'): Schema => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as Schema;
  return rest;
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Each query parameter of a zod object schema, required unless optional or defaulted. */
const queryParameters = (schema: z.ZodObject, examples: Record<string, string> = {}) => {
  const properties = (json(schema).properties ?? {}) as Record<string, Schema>;
  const required = new Set((json(schema).required ?? []) as string[]);
  return Object.entries(properties).map(([name, { description, ...property }]) => ({
    name,
    in: 'query',
    required: required.has(name) && property.default === undefined,
    ...(description ? { description } : {}),
    schema: property,
    ...(examples[name] !== undefined ? { example: examples[name] } : {}),
  }));
};

// --------------------------------------------------------------------------------------- problems

const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', description: 'a URI reference naming the kind of problem' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string', description: 'what went wrong; a 5xx never echoes internals' },
    instance: { type: 'string', description: 'the path of the request' },
    errors: {
      type: 'array',
      description: 'for validation problems, each field in error',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};

/** The problem document the server answers for an error (the same fields, from the same classes). */
function problemOf(error: GovernorError, instance: string) {
  const known = error.status < 500;
  return {
    type: error.type,
    title: error.title,
    status: error.status,
    detail: known ? error.message : 'The request could not be completed; retry later.',
    instance,
    ...(error instanceof ValidationError ? { errors: error.errors } : {}),
  };
}

const header = (description: string, schema: Schema = { type: 'string' }, required = true) => ({
  description,
  required,
  schema,
});

/** A problem response, with an example built from the error class that answers it. */
function problem(description: string, error: GovernorError, path: string, headers?: Record<string, unknown>) {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: {
      'application/problem+json': {
        schema: ref('Problem'),
        example: problemOf(error, path),
      },
    },
  };
}

/** A retry of a messageId naming another channel, kind, category or campaign than its first message. */
const idempotencyConflict = (path: string) =>
  problem(
    'The messageId was first used for another message (another channel, kind, category or campaign)',
    new IdempotencyConflictError(
      'messageId m1 was already used for a message with another channel, kind, category or campaign: a ' +
        'retry must repeat the message, a new message needs a new messageId',
    ),
    path,
  );

/**
 * The problems every route can answer (authenticated routes add 401, 429 and, unless any valid key may
 * call them, 403).
 */
function problems(path: string, { authenticated = true, body = false, anyKey = false } = {}) {
  const out: Record<string, unknown> = {
    '400': problem(
      'Invalid request: a query parameter the route does not take, a malformed body or a field in error',
      body
        ? new ValidationError('the request is not valid', [{ path: 'channel', message: 'Invalid option' }])
        : new ValidationError('unknown query parameter x: this route takes none', [
            { path: 'query.x', message: 'unknown query parameter' },
          ]),
      path,
    ),
    '413': problem(
      'The body is over 1 MiB',
      new PayloadTooLargeError('the body is over 1048576 bytes'),
      path,
    ),
    '415': problem(
      body
        ? 'The body is not application/json'
        : 'A body was sent that is not application/json (this route takes none)',
      new UnsupportedMediaTypeError('content-type must be application/json, not "text/plain"'),
      path,
    ),
    '500': problem('Internal error', new GovernorError('internal'), path),
  };
  if (authenticated) {
    out['401'] = problem('No valid API key', new UnauthorizedError('a valid API key is required'), path, {
      'WWW-Authenticate': header('the accepted scheme', { type: 'string', const: 'Bearer' }),
    });
    if (!anyKey)
      out['403'] = problem(
        'The key lacks the scope',
        new ForbiddenError('this action needs the scope admin'),
        path,
      );
    out['429'] = problem(
      "Over the key's rate limit",
      new TooManyRequestsError('this key is over its rate limit; retry in 1 s', 1),
      path,
      { 'Retry-After': header('seconds to wait', { type: 'string', pattern: '^[0-9]+$' }) },
    );
    out['503'] = problem(
      'A dependency (DynamoDB, SQS) failed or timed out: retry',
      new UnavailableError('unavailable'),
      path,
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------- helpers

const ok = (schema: unknown, example?: unknown, description = 'OK', headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema, ...(example !== undefined ? { example } : {}) } },
});

/** A JSON request body and its named examples (each one a valid request on a fresh install). */
const body = (schema: unknown, examples: Record<string, { summary: string; value: unknown }>) => ({
  required: true,
  content: { 'application/json': { schema, examples } },
});

const etag = { ETag: header('the policy version, quoted: send it back in If-Match', { type: 'string' }) };

const keySummary = {
  type: 'object',
  required: ['id', 'name', 'scopes', 'createdAt', 'createdBy'],
  properties: {
    id: { type: 'string', pattern: '^[0-9a-f]{16}$' },
    name: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string', enum: [...SCOPES] } },
    rateLimit: { type: 'integer', description: 'requests per second; burst twice that' },
    createdAt: { type: 'string', format: 'date-time' },
    createdBy: { type: 'string', description: 'key id of the creator' },
    revokedAt: { type: 'string', format: 'date-time' },
    revokedBy: { type: 'string' },
  },
};

const itemErrorSchema = {
  type: 'object',
  description: 'one message of a batch that could not be decided; the others are',
  required: ['status', 'error'],
  properties: {
    messageId: { type: 'string' },
    status: { type: 'integer' },
    error: ref('Problem'),
  },
};

// --------------------------------------------------------------------------------------- document

const day = (t: number) => new Date(t).toISOString().slice(0, 10);

/** A month's figures, for the summary's example. */
const monthExample = (
  month: string,
  requested: number,
  accepted: number,
  deferred: number,
  suppressed: number,
) => ({
  month,
  requested,
  accepted,
  deferred,
  suppressed,
  suppressedByReason: { frequency_cap: suppressed / 2, relevance_below_threshold: suppressed / 2 },
  suppressionRate: suppressed / requested,
  released: { accepted: deferred - 60, suppressed: 50, digested: 10 },
  digested: 10,
  erased: 0,
  avoidedCostByChannel: { email: suppressed * 0.001 },
  avoidedCost: suppressed * 0.001,
  currency: 'EUR',
});

/** A finished dry-run, as GET answers it. */
function dryRunExample(now: number) {
  const from = `${day(now)}T00:00:00.000Z`;
  const to = new Date(Date.parse(from) + 86_400_000).toISOString();
  const side = (accepted: number, suppressed: number, cap: number) => ({
    accepted,
    deferred: 5,
    suppressed,
    byReason: { frequency_cap: cap, opted_out: 20 },
    byChannel: { email: { accepted, deferred: 5, suppressed } },
    byCampaign: { spring: { accepted, deferred: 5, suppressed } },
    avoidedCost: Math.round(suppressed * 0.001 * 1e6) / 1e6,
    currency: 'EUR',
    meanRelevanceDelivered: 0.9,
    perCustomerPerWeek: { p50: accepted > 50 ? 21 : 7, p90: accepted > 50 ? 21 : 7, p99: 21, max: 21 },
  });
  return {
    id: 'o3C1mBq0yZr5TgXa',
    status: 'done',
    progress: { events: 225, totalEvents: 225 },
    result: {
      from,
      to,
      events: 225,
      current: side(135, 65, 45),
      draft: side(45, 155, 135),
      mostAffected: [
        {
          pseudonym: 'Qm9uam91ci1sZS1tb25kZQ',
          before: { accepted: 3, deferred: 0, suppressed: 1 },
          after: { accepted: 1, deferred: 0, suppressed: 3 },
        },
      ],
    },
  };
}

/**
 * The document. Its examples are dated from `now` (today's reports, a message expiring in two days), so
 * that they stay valid requests whatever the day the document is read.
 */
export function openApiDocument(now: number) {
  const today = day(now);
  const month = today.slice(0, 7);
  const inTwoDays = new Date(now + 2 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const aMessage = {
    messageId: 'bf-2026-000123',
    customerId: 'c-8f2a',
    channel: 'email',
    category: 'promotions',
    campaignId: 'black-friday',
    relevance: 0.72,
    expiresAt: inTwoDays,
    alternateChannels: ['push'],
    payload: { template: 'bf-hero', locale: 'fr-FR' },
  };
  const aPolicy = {
    caps: [
      { id: 'marketing-weekly', limit: 3, window: 'P7D' },
      { id: 'marketing-daily', limit: 1, window: 'P1D' },
      { id: 'sms-weekly', limit: 1, window: 'P7D', match: { channel: 'sms' } },
      { id: 'min-gap', minGap: 'PT4H' },
    ],
    relevance: { default: 0.3, byChannel: { sms: 0.5 }, pressureSlope: 0.4 },
    quietHours: { start: '21:00', end: '08:00', defaultTimezone: 'Europe/Paris' },
    channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
  };
  const accepted = {
    messageId: 'bf-2026-000123',
    decision: 'accepted',
    channel: 'email',
    policyVersion: 0,
  };
  const messageIdParameter = {
    name: 'messageId',
    in: 'path',
    required: true,
    schema: { type: 'string', minLength: 1, maxLength: 128 },
    example: 'bf-2026-000123',
  };
  const campaignIdParameter = {
    name: 'campaignId',
    in: 'path',
    required: true,
    schema: { type: 'string', minLength: 1, maxLength: 128 },
    example: 'spring-sale',
  };
  const customerId = {
    name: 'customerId',
    in: 'path',
    required: true,
    schema: { type: 'string', minLength: 1, maxLength: 128 },
    example: 'c-8f2a',
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Governor',
      version: '1',
      summary: 'Accept, defer or suppress each marketing message before it is sent.',
      description:
        'Campaign platforms call the send API instead of their providers; marketers keep the policy ' +
        '(caps, thresholds, quiet hours, costs), the preference centre the customers’ choices, finance ' +
        'reads what was not sent and what it saved. Errors are RFC 9457 problem+json. Every route but ' +
        '/health and /openapi.json needs `Authorization: Bearer <api key>` with the scope it names; ' +
        'a query parameter a route does not declare is refused (400).',
      license: { name: 'Proprietary' },
    },
    servers: [{ url: '/', description: 'the host that serves this document' }],
    tags: [
      { name: 'send', description: 'campaign platforms (scope send)' },
      { name: 'policy', description: 'marketers (policy:read, policy:write)' },
      { name: 'preferences', description: "the brand's preference centre (preferences:read/write)" },
      { name: 'events', description: 'providers and platforms (events:write)' },
      { name: 'reports', description: 'finance (reports:read; reconcile: admin)' },
      { name: 'admin', description: 'keys and audit (admin)' },
      { name: 'service', description: 'no key needed' },
    ],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API key' } },
      schemas: {
        Problem: problemSchema,
        Message: json(messageSchema),
        Decision: json(decisionSchema, 'output'),
        Preview: json(previewSchema, 'output'),
        Policy: json(policySchema, 'output'),
        PolicyEdit: json(policyEditSchema),
        Preferences: json(preferencesSchema, 'output'),
        PreferencesInput: json(preferencesSchema),
        SuppressedReport: json(suppressedReportSchema, 'output'),
        MonthlySummary: json(monthlySummarySchema, 'output'),
        DayFigures: json(dayFiguresSchema, 'output'),
        ExperimentReport: json(experimentReportSchema, 'output'),
        KeySummary: keySummary,
        ItemError: itemErrorSchema,
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/messages': {
        post: {
          operationId: 'sendMessage',
          tags: ['send'],
          summary: 'Decide one message: accepted (queued), deferred (held until releaseAt) or suppressed',
          description:
            'The same messageId always gets the same answer and is counted and delivered once. A marketing ' +
            'message a cap or gap would suppress and that matches a rule of the policy’s `digests` is ' +
            '`deferred` with reason `digest` and the `digestId` it joined: the digest is delivered at ' +
            'releaseAt as one send whose payload is `{digestId, items: [the items’ payloads, in order]}`.',
          requestBody: body(ref('Message'), {
            promotion: { summary: 'A promotional e-mail, push as a fallback', value: aMessage },
            later: {
              summary: 'A push not to go before an hour from now (deferred: it can be cancelled)',
              value: {
                messageId: 'bf-2026-000124',
                customerId: 'c-8f2a',
                channel: 'push',
                campaignId: 'black-friday',
                notBefore: new Date(now + 3_600_000).toISOString(),
                expiresAt: inTwoDays,
                payload: { template: 'bf-reminder' },
              },
            },
            transactional: {
              summary: 'A transactional SMS (no caps, relevance or quiet hours)',
              value: {
                messageId: 'otp-000042',
                customerId: 'c-8f2a',
                channel: 'sms',
                kind: 'transactional',
                payload: { text: 'Your code: 123456' },
              },
            },
          }),
          responses: {
            '200': ok(ref('Decision'), accepted),
            '409': idempotencyConflict('/v1/messages'),
            ...problems('/v1/messages', { body: true }),
          },
        },
      },
      '/v1/messages/batch': {
        post: {
          operationId: 'sendBatch',
          tags: ['send'],
          summary: `Decide up to ${MAX_BATCH} messages; results in order, an invalid message is an error for that item only`,
          requestBody: body(
            {
              type: 'object',
              required: ['messages'],
              additionalProperties: false,
              properties: {
                messages: {
                  type: 'array',
                  minItems: 1,
                  maxItems: MAX_BATCH,
                  description:
                    'Each item a message as POST /v1/messages takes it (see Message). An item that is not ' +
                    'one is answered with an error in its place, not refused with the batch.',
                  items: {},
                },
              },
            },
            {
              mixed: {
                summary: 'One valid message and one with an unknown channel',
                value: {
                  messages: [
                    { messageId: 'm1', customerId: 'c1', channel: 'sms', payload: {} },
                    { messageId: 'm2', customerId: 'c2', channel: 'fax', payload: {} },
                  ],
                },
              },
            },
          ),
          responses: {
            '200': ok(
              {
                type: 'object',
                required: ['results'],
                properties: {
                  results: { type: 'array', items: { anyOf: [ref('Decision'), ref('ItemError')] } },
                },
              },
              {
                results: [
                  { messageId: 'm1', decision: 'accepted', channel: 'sms', policyVersion: 0 },
                  {
                    messageId: 'm2',
                    status: 400,
                    error: problemOf(
                      new ValidationError('message 1 is not valid', [
                        {
                          path: 'channel',
                          message: 'Invalid option: expected one of "email"|"sms"|"push"|"whatsapp"',
                        },
                      ]),
                      '/v1/messages/batch',
                    ),
                  },
                ],
              },
            ),
            ...problems('/v1/messages/batch', { body: true }),
          },
        },
      },
      '/v1/messages/{messageId}': {
        get: {
          operationId: 'getMessage',
          tags: ['send'],
          summary:
            'What became of a message: deferred (until releaseAt), queued, delivered or suppressed (why)',
          description:
            'Read from the customer’s log, deferred messages and delivery ledger. A deferred message may ' +
            'later be released (queued, or suppressed as its release decides), `cancelled`, or bumped by ' +
            'a more relevant message that took its slot: deferred again to its next slot, or suppressed ' +
            '`preempted`. A digest’s item is `deferred` with reason `digest` and its `digestId`, then ' +
            '`queued` or `delivered` with the digest (or suppressed, when it left it at delivery).',
          parameters: [messageIdParameter, ...queryParameters(messageQuery, { customerId: 'c-8f2a' })],
          responses: {
            '200': ok(json(messageStatusSchema, 'output'), {
              messageId: 'bf-2026-000123',
              customerId: 'c-8f2a',
              status: 'deferred',
              channel: 'email',
              releaseAt: new Date(now + 3_600_000).toISOString(),
              rule: 'marketing-daily',
              policyVersion: 0,
            }),
            '404': problem(
              'No such message for this customer (never sent, or forgotten)',
              new NotFoundError('no message bf-2026-000123 is known for this customer'),
              '/v1/messages/bf-2026-000123',
            ),
            ...problems('/v1/messages/{messageId}'),
          },
        },
        delete: {
          operationId: 'cancelMessage',
          tags: ['send'],
          summary: 'Cancel a message Governor still holds (deferred): its payload is deleted (idempotent)',
          parameters: [
            { ...messageIdParameter, example: 'bf-2026-000124' },
            ...queryParameters(messageQuery, { customerId: 'c-8f2a' }),
          ],
          responses: {
            '200': ok(json(cancellationSchema, 'output'), {
              messageId: 'bf-2026-000124',
              decision: 'suppressed',
              reason: 'cancelled',
              channel: 'email',
              policyVersion: 0,
            }),
            '404': problem(
              'No such message for this customer',
              new NotFoundError('no message bf-2026-000123 is known for this customer'),
              '/v1/messages/bf-2026-000123',
            ),
            '409': problem(
              'The message is no longer held: queued, delivered or suppressed already',
              new ConflictError(
                'message bf-2026-000123 is no longer held (queued): only a deferred message can be cancelled',
              ),
              '/v1/messages/bf-2026-000123',
            ),
            ...problems('/v1/messages/{messageId}'),
          },
        },
      },
      '/v1/campaigns/{campaignId}/cancel': {
        post: {
          operationId: 'cancelCampaign',
          tags: ['send'],
          summary:
            'Cancel every message Governor still holds for a campaign (deferred): a job, carried out by the release runs',
          description:
            'Reads only the campaign’s held messages (an index), never the whole table. Each is cancelled ' +
            'as `DELETE /v1/messages/{messageId}` does (payload deleted, counted suppressed `cancelled`); ' +
            'a message already released or queued is left as it is. Takes no body.',
          parameters: [campaignIdParameter],
          responses: {
            '202': {
              description: 'Started: follow Location for its status and, once done, the count',
              headers: {
                Location: header('the job: /v1/campaigns/{campaignId}/cancellations/{id}'),
              },
              content: {
                'application/json': {
                  schema: json(campaignCancelAcceptedSchema, 'output'),
                  example: { id: 'Vq1v3Hc0kRkq2m1A', campaignId: 'spring-sale', status: 'queued' },
                },
              },
            },
            ...problems('/v1/campaigns/{campaignId}/cancel'),
          },
        },
      },
      '/v1/campaigns/{campaignId}/cancellations/{id}': {
        get: {
          operationId: 'getCampaignCancellation',
          tags: ['send'],
          summary:
            "A campaign cancellation's status and the messages it withdrew (so far, or in all once done)",
          parameters: [
            campaignIdParameter,
            {
              name: 'id',
              in: 'path',
              required: true,
              schema: { type: 'string' },
              example: 'Vq1v3Hc0kRkq2m1A',
            },
          ],
          responses: {
            '200': ok(json(campaignCancelSchema, 'output'), {
              id: 'Vq1v3Hc0kRkq2m1A',
              campaignId: 'spring-sale',
              status: 'done',
              cancelled: 1000,
              createdAt: new Date(now).toISOString(),
              finishedAt: new Date(now + 4000).toISOString(),
            }),
            '404': problem(
              'No such cancellation of this campaign',
              new NotFoundError('no cancellation Vq1v3Hc0kRkq2m1A of campaign spring-sale'),
              '/v1/campaigns/spring-sale/cancellations/Vq1v3Hc0kRkq2m1A',
            ),
            ...problems('/v1/campaigns/{campaignId}/cancellations/{id}'),
          },
        },
      },
      '/v1/decisions/preview': {
        post: {
          operationId: 'previewDecision',
          tags: ['send'],
          summary: 'The decision a message would get now, and why; consumes nothing',
          description:
            'explanation: the relevance threshold applied (base, and what pressure added), the ' +
            "customer's pressure, and how full each applicable cap is (used/limit in its window, when " +
            'a slot frees). A message already decided gets its decision, without explanation.',
          requestBody: body(ref('Message'), {
            lowRelevance: {
              summary: 'An e-mail of relevance 0.4',
              value: { messageId: 'm3', customerId: 'c1', channel: 'email', relevance: 0.4, payload: {} },
            },
          }),
          responses: {
            '200': {
              description: 'The decision, and why',
              content: {
                'application/json': {
                  schema: ref('Preview'),
                  examples: {
                    fresh: {
                      summary: 'A customer with no recent send: the base threshold, every cap free',
                      value: {
                        messageId: 'm3',
                        decision: 'accepted',
                        channel: 'email',
                        policyVersion: 0,
                        explanation: {
                          channel: 'email',
                          pressure: 0,
                          threshold: { base: 0.3, fromPressure: 0, required: 0.3, relevance: 0.4 },
                          caps: [
                            { id: 'marketing-weekly', used: 0, limit: 3, window: 'P7D' },
                            { id: 'marketing-daily', used: 0, limit: 1, window: 'P1D' },
                          ],
                          gaps: [{ id: 'min-gap', minGap: 'PT4H' }],
                        },
                      },
                    },
                    busy: {
                      summary: 'One e-mail 30 hours ago: pressure 1/3 raises the threshold past 0.4',
                      value: {
                        messageId: 'm3',
                        decision: 'suppressed',
                        reason: 'relevance_below_threshold',
                        rule: 'relevance',
                        channel: 'email',
                        policyVersion: 0,
                        explanation: {
                          channel: 'email',
                          pressure: 1 / 3,
                          threshold: {
                            base: 0.3,
                            fromPressure: 0.4 / 3,
                            required: 0.3 + 0.4 / 3,
                            relevance: 0.4,
                          },
                          caps: [
                            {
                              id: 'marketing-weekly',
                              used: 1,
                              limit: 3,
                              window: 'P7D',
                              freesAt: new Date(now + 138 * 3_600_000).toISOString(),
                            },
                            { id: 'marketing-daily', used: 0, limit: 1, window: 'P1D' },
                          ],
                          gaps: [{ id: 'min-gap', minGap: 'PT4H' }],
                        },
                      },
                    },
                  },
                },
              },
            },
            '409': idempotencyConflict('/v1/decisions/preview'),
            ...problems('/v1/decisions/preview', { body: true }),
          },
        },
      },
      '/v1/policy': {
        get: {
          operationId: 'getPolicy',
          tags: ['policy'],
          summary: 'The policy in force, with its version (ETag)',
          responses: {
            '200': ok(ref('Policy'), DEFAULT_POLICY, 'The policy in force', etag),
            ...problems('/v1/policy'),
          },
        },
        put: {
          operationId: 'putPolicy',
          tags: ['policy'],
          summary: 'Replace the policy: a new immutable version',
          description:
            'Send If-Match with the ETag you read (412 when the policy changed since, 428 without it; * ' +
            'overwrites whatever is current). What GET returned may be sent back as it is: version, ' +
            'createdAt and author are read-only and ignored. To restore a version, GET ' +
            '/v1/policy/versions/{version} and PUT it with the current ETag.',
          parameters: [
            {
              name: 'If-Match',
              in: 'header',
              required: false,
              description: 'the ETag of the policy you read, or *; without it the answer is 428',
              schema: { type: 'string' },
              example: '"0"',
            },
          ],
          requestBody: body(ref('PolicyEdit'), {
            caps: { summary: 'Weekly, daily and SMS caps, a minimum gap, quiet hours', value: aPolicy },
          }),
          responses: {
            '200': ok(
              ref('Policy'),
              { ...aPolicy, version: 1, createdAt: new Date(now).toISOString(), author: 'admin' },
              'The new version',
              etag,
            ),
            '412': problem(
              'The policy changed since you read it',
              new PreconditionFailedError('the current policy is version 2, not 1'),
              '/v1/policy',
            ),
            '428': problem(
              'If-Match is missing',
              new PreconditionRequiredError(
                'send If-Match with the ETag of the policy you read (or * to overwrite)',
              ),
              '/v1/policy',
            ),
            ...problems('/v1/policy', { body: true }),
          },
        },
      },
      '/v1/policy/versions': {
        get: {
          operationId: 'listPolicyVersions',
          tags: ['policy'],
          summary: 'Every version, newest first, with its author key and time',
          responses: {
            '200': ok(
              {
                type: 'object',
                required: ['versions'],
                properties: {
                  versions: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['version', 'createdAt', 'author'],
                      properties: {
                        version: { type: 'integer', minimum: 0 },
                        createdAt: { type: 'string', format: 'date-time' },
                        author: { type: 'string' },
                      },
                    },
                  },
                },
              },
              {
                versions: [
                  { version: 0, createdAt: DEFAULT_POLICY.createdAt, author: DEFAULT_POLICY.author },
                ],
              },
            ),
            ...problems('/v1/policy/versions'),
          },
        },
      },
      '/v1/policy/versions/{version}': {
        get: {
          operationId: 'getPolicyVersion',
          tags: ['policy'],
          summary: "A version's whole document (0: the default policy of a fresh install)",
          parameters: [
            {
              name: 'version',
              in: 'path',
              required: true,
              schema: { type: 'string', pattern: '^[0-9]{1,10}$' },
              example: '0',
            },
          ],
          responses: {
            '200': ok(ref('Policy'), DEFAULT_POLICY, 'The version', etag),
            '404': problem(
              'No such version',
              new NotFoundError('there is no policy version 7'),
              '/v1/policy/versions/7',
            ),
            ...problems('/v1/policy/versions/{version}'),
          },
        },
      },
      '/v1/policy/dry-runs': {
        post: {
          operationId: 'startDryRun',
          tags: ['policy'],
          summary: `What a draft policy would have done: the archived traffic of a period (at most ${MAX_DRY_RUN_DAYS} days) replayed by the real engine under the versions in force (current) and under the draft`,
          requestBody: body(json(dryRunRequestSchema), {
            oneCap: {
              summary: 'One marketing message a week, over today',
              value: {
                policy: { ...aPolicy, caps: [{ id: 'weekly', limit: 1, window: 'P7D' }] },
                from: today,
                to: today,
              },
            },
          }),
          responses: {
            '202': {
              description: 'Started: follow Location for its progress and result',
              headers: { Location: header('the dry-run: /v1/policy/dry-runs/{id}') },
              content: {
                'application/json': {
                  schema: json(dryRunAcceptedSchema, 'output'),
                  example: { id: 'o3C1mBq0yZr5TgXa', status: 'queued' },
                },
              },
            },
            ...problems('/v1/policy/dry-runs', { body: true }),
          },
        },
      },
      '/v1/policy/dry-runs/{id}': {
        get: {
          operationId: 'getDryRun',
          tags: ['policy'],
          summary: "A dry-run's status, progress (archived records replayed) and, once done, its result",
          parameters: [
            {
              name: 'id',
              in: 'path',
              required: true,
              schema: { type: 'string' },
              example: 'o3C1mBq0yZr5TgXa',
            },
          ],
          responses: {
            '200': ok(json(dryRunSchema, 'output'), dryRunExample(now)),
            '404': problem(
              'No such dry-run',
              new NotFoundError('no dry-run o3C1mBq0yZr5TgXa'),
              '/v1/policy/dry-runs/o3C1mBq0yZr5TgXa',
            ),
            ...problems('/v1/policy/dry-runs/{id}'),
          },
        },
      },
      '/v1/customers/{customerId}/preferences': {
        get: {
          operationId: 'getPreferences',
          tags: ['preferences'],
          summary: "A customer's preferences (empty for a customer Governor does not know)",
          parameters: [customerId],
          responses: {
            '200': ok(ref('Preferences'), { channels: {}, topics: {} }),
            ...problems('/v1/customers/{customerId}/preferences'),
          },
        },
        put: {
          operationId: 'putPreferences',
          tags: ['preferences'],
          summary: "Replace a customer's preferences; each consent keeps its source and time",
          parameters: [customerId],
          requestBody: body(ref('PreferencesInput'), {
            preferenceCentre: {
              summary: 'No SMS, no promotions, two a week at most, push first',
              value: {
                channels: { sms: { optIn: false, source: 'preference-centre' } },
                topics: { promotions: false },
                preferredChannels: ['push', 'email'],
                maxPerWeek: 2,
                timezone: 'America/Montreal',
                quietHours: { start: '22:00', end: '07:30' },
              },
            },
          }),
          responses: {
            '200': ok(ref('Preferences'), {
              channels: {
                sms: { optIn: false, source: 'preference-centre', at: new Date(now).toISOString() },
              },
              topics: { promotions: false },
              preferredChannels: ['push', 'email'],
              maxPerWeek: 2,
              timezone: 'America/Montreal',
              quietHours: { start: '22:00', end: '07:30' },
            }),
            ...problems('/v1/customers/{customerId}/preferences', { body: true }),
          },
        },
      },
      '/v1/customers/{customerId}': {
        get: {
          operationId: 'lookUpCustomer',
          tags: ['preferences'],
          summary:
            'What Governor holds about a customer, for support: preferences and consents, hard ' +
            'suppressions, deferred messages and the decisions its log still remembers (scope preferences:read)',
          description:
            'The log keeps a keyed hash of each messageId, not the id: pass messageId to find what became ' +
            'of one message. A customer Governor does not know (or erased) answers known: false and nothing else.',
          parameters: [customerId, ...queryParameters(customerLookupQuery, { messageId: 'bf-2026-000123' })],
          responses: {
            '200': ok(json(customerLookupSchema, 'output'), {
              customerId: 'c-8f2a',
              known: true,
              preferences: {
                channels: {
                  sms: { optIn: false, source: 'preference-centre', at: new Date(now).toISOString() },
                },
                topics: { promotions: false },
              },
              suppressions: [{ channel: 'email', reason: 'hard_bounce' }],
              deferred: [
                {
                  messageId: 'bf-2026-000124',
                  channel: 'push',
                  kind: 'marketing',
                  campaignId: 'black-friday',
                  releaseAt: new Date(now + 3_600_000).toISOString(),
                  policyVersion: 0,
                  rule: 'quietHours',
                },
              ],
              decisions: [
                {
                  at: new Date(now).toISOString(),
                  outcome: 'suppressed',
                  reason: 'frequency_cap',
                  rule: 'marketing-weekly',
                  channel: 'email',
                  requestedChannel: 'email',
                  kind: 'marketing',
                  campaignId: 'black-friday',
                  messageId: 'bf-2026-000123',
                  policyVersion: 0,
                  pending: false,
                },
              ],
              message: { messageId: 'bf-2026-000123', found: true },
            }),
            ...problems('/v1/customers/{customerId}'),
          },
        },
        delete: {
          operationId: 'eraseCustomer',
          tags: ['preferences'],
          summary: 'Erase everything held about a customer (idempotent)',
          parameters: [customerId],
          responses: {
            '200': ok(
              {
                type: 'object',
                required: ['customerId', 'erased', 'deferredDropped'],
                properties: {
                  customerId: { type: 'string' },
                  erased: { type: 'boolean', const: true },
                  deferredDropped: {
                    type: 'integer',
                    minimum: 0,
                    description: 'deferred messages dropped (counted as suppressed, erased)',
                  },
                },
              },
              { customerId: 'c-8f2a', erased: true, deferredDropped: 0 },
            ),
            ...problems('/v1/customers/{customerId}'),
          },
        },
      },
      '/v1/events': {
        post: {
          operationId: 'postEvents',
          tags: ['events'],
          summary: 'Provider and platform feedback: unsubscribes, complaints, hard bounces, engagement',
          requestBody: body(json(eventsSchema), {
            bounce: {
              summary: 'A hard bounce on e-mail',
              value: [
                {
                  customerId: 'c-8f2a',
                  channel: 'email',
                  type: 'bounced_hard',
                  at: new Date(now).toISOString(),
                },
              ],
            },
          }),
          responses: {
            '202': ok(
              {
                type: 'object',
                required: ['received', 'applied'],
                properties: { received: { type: 'integer' }, applied: { type: 'integer' } },
              },
              { received: 1, applied: 1 },
              'Accepted',
            ),
            ...problems('/v1/events', { body: true }),
          },
        },
      },
      '/v1/reports/suppressed': {
        get: {
          operationId: 'suppressedReport',
          tags: ['reports'],
          summary:
            'Suppressed messages and the send cost avoided, grouped; JSON, or CSV (Accept: text/csv or format=csv)',
          parameters: queryParameters(suppressedQuery, {
            from: `${month}-01`,
            to: today,
            groupBy: 'day,reason,channel,campaign,category',
          }),
          responses: {
            '200': {
              description: 'The report',
              content: {
                'application/json': {
                  schema: ref('SuppressedReport'),
                  example: {
                    period: { from: `${month}-01`, to: today },
                    groupBy: ['reason', 'channel'],
                    currency: 'EUR',
                    rows: [{ reason: 'frequency_cap', channel: 'sms', count: 1204, avoidedCost: 60.2 }],
                    totals: { count: 1204, avoidedCost: 60.2 },
                    policyVersions: [0],
                  },
                },
                'text/csv': {
                  schema: { type: 'string' },
                  example: 'reason,channel,count,avoidedCost,currency\r\nfrequency_cap,sms,1204,60.2,EUR\r\n',
                },
              },
            },
            ...problems('/v1/reports/suppressed'),
          },
        },
      },
      '/v1/reports/summary': {
        get: {
          operationId: 'summary',
          tags: ['reports'],
          summary:
            "A month's figures against the month before (month=YYYY-MM), or one UTC day's (day=YYYY-MM-DD)",
          parameters: queryParameters(summaryQuery, { month }),
          responses: {
            '200': ok(
              { oneOf: [ref('MonthlySummary'), ref('DayFigures')] },
              {
                ...monthExample(month, 5000, 3400, 400, 1200),
                previousMonth: monthExample(previousMonth(month), 4000, 2600, 400, 1000),
                change: { requested: 0.25, suppressed: 0.2, suppressionRate: -0.01, avoidedCost: 0.2 },
              },
            ),
            ...problems('/v1/reports/summary'),
          },
        },
      },
      '/v1/reports/experiments/{id}': {
        get: {
          operationId: 'experimentReport',
          tags: ['reports'],
          summary:
            "A holdout experiment's arms over a period: customers, deliveries per customer, opens, clicks, unsubscribes and complaints per 1,000 customers, avoided cost, and 95% intervals of the differences",
          parameters: [
            {
              name: 'id',
              in: 'path',
              required: true,
              schema: { type: 'string', minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_.-]+$' },
              example: 'holdout-2026',
            },
            ...queryParameters(experimentQuery, { from: `${month}-01`, to: today }),
          ],
          responses: {
            '200': ok(ref('ExperimentReport'), {
              experiment: 'holdout-2026',
              period: { from: `${month}-01`, to: today },
              currency: 'EUR',
              arms: [
                {
                  arm: 'control',
                  customers: 1000,
                  decisions: 9000,
                  delivered: 9000,
                  suppressed: 0,
                  opens: 1800,
                  clicks: 200,
                  unsubscribes: 30,
                  complaints: 4,
                  deliveredPerCustomer: 9,
                  opensPer1000: 1800,
                  clicksPer1000: 200,
                  unsubscribesPer1000: 30,
                  complaintsPer1000: 4,
                  avoidedCost: 0,
                },
                {
                  arm: 'governed',
                  customers: 9000,
                  decisions: 81000,
                  delivered: 45000,
                  suppressed: 36000,
                  opens: 14400,
                  clicks: 1710,
                  unsubscribes: 90,
                  complaints: 9,
                  deliveredPerCustomer: 5,
                  opensPer1000: 1600,
                  clicksPer1000: 190,
                  unsubscribesPer1000: 10,
                  complaintsPer1000: 1,
                  avoidedCost: 36,
                },
              ],
              differences: [
                {
                  arm: 'governed',
                  versus: 'control',
                  metric: 'unsubscribesPer1000',
                  difference: -20,
                  low: -30.9,
                  high: -9.1,
                },
              ],
              method: EXPERIMENT_CI_METHOD,
            }),
            ...problems('/v1/reports/experiments/{id}'),
          },
        },
      },
      '/v1/reports/reconcile': {
        post: {
          operationId: 'reconcileCounts',
          tags: ['reports'],
          summary:
            "Recount days still inside the idempotency window from the customers' logs and correct the counts (admin; a table scan)",
          requestBody: body(json(reconcileBody), {
            today: { summary: 'Today', value: { days: [today] } },
          }),
          responses: {
            '200': ok(json(reconcileResultSchema, 'output'), {
              days: [today],
              customers: 1204,
              inLogs: 5000,
              counted: 4500,
              corrected: 500,
            }),
            ...problems('/v1/reports/reconcile', { body: true }),
          },
        },
      },
      '/v1/keys': {
        post: {
          operationId: 'createKey',
          tags: ['admin'],
          summary: 'Create an API key. The key is in this answer only: store it now.',
          requestBody: body(json(createKeySchema), {
            campaigns: {
              summary: 'A key for a campaign platform',
              value: { name: 'crm-campaigns', scopes: ['send'], rateLimit: 200 },
            },
          }),
          responses: {
            '201': ok(
              {
                ...keySummary,
                required: [...keySummary.required, 'key'],
                properties: {
                  ...keySummary.properties,
                  key: { type: 'string', pattern: '^gov_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$' },
                },
              },
              {
                id: '9f2c4e1a0b3d5c7e',
                name: 'crm-campaigns',
                scopes: ['send'],
                rateLimit: 200,
                createdAt: new Date(now).toISOString(),
                createdBy: 'admin',
                key: `gov_9f2c4e1a0b3d5c7e_${'x'.repeat(43)}`,
              },
              'Created',
            ),
            '409': problem(
              'No key id could be allocated (retry)',
              new ConflictError('could not allocate a key id'),
              '/v1/keys',
            ),
            ...problems('/v1/keys', { body: true }),
          },
        },
        get: {
          operationId: 'listKeys',
          tags: ['admin'],
          summary: 'The API keys, revoked ones included, never their secret',
          responses: {
            '200': ok(
              {
                type: 'object',
                required: ['keys'],
                properties: { keys: { type: 'array', items: ref('KeySummary') } },
              },
              {
                keys: [
                  {
                    id: '9f2c4e1a0b3d5c7e',
                    name: 'crm-campaigns',
                    scopes: ['send'],
                    rateLimit: 200,
                    createdAt: new Date(now).toISOString(),
                    createdBy: 'admin',
                  },
                ],
              },
            ),
            ...problems('/v1/keys'),
          },
        },
      },
      '/v1/keys/{id}': {
        delete: {
          operationId: 'revokeKey',
          tags: ['admin'],
          summary: 'Revoke a key; effective within GOVERNOR_KEY_CACHE_TTL_MS',
          parameters: [
            {
              name: 'id',
              in: 'path',
              required: true,
              schema: { type: 'string', pattern: '^[0-9a-f]{16}$' },
              example: '9f2c4e1a0b3d5c7e',
            },
          ],
          responses: {
            '204': { description: 'Revoked' },
            '404': problem(
              'No such key',
              new NotFoundError('there is no key 9f2c4e1a0b3d5c7e'),
              '/v1/keys/{id}',
            ),
            ...problems('/v1/keys/{id}'),
          },
        },
      },
      '/v1/audit': {
        get: {
          operationId: 'readAudit',
          tags: ['admin'],
          summary: `Audit trail (${AUDIT_ACTIONS.join(', ')}) of at most ${MAX_AUDIT_DAYS} days, oldest first, paged`,
          parameters: queryParameters(auditQuerySchema, { from: today, to: today }),
          responses: {
            '200': ok(
              {
                type: 'object',
                required: ['entries'],
                properties: {
                  entries: { type: 'array', items: json(auditEntrySchema, 'output') },
                  nextCursor: { type: 'string', description: 'pass it as cursor for the next page' },
                },
              },
              {
                entries: [
                  {
                    id: `${new Date(now).toISOString()}#3f9a`,
                    at: new Date(now).toISOString(),
                    actor: 'admin',
                    action: 'policy.replaced',
                    target: 'policy:1',
                    details: { version: 1, ifMatch: 0 },
                  },
                ],
              },
            ),
            ...problems('/v1/audit'),
          },
        },
      },
      '/v1/me': {
        get: {
          operationId: 'whoAmI',
          tags: ['service'],
          summary: "The presented key's id, scopes and rate limit (any valid key)",
          responses: {
            '200': ok(json(keyInfoSchema, 'output'), {
              keyId: '9f2c4e1a0b3d5c7e',
              scopes: ['reports:read'],
              rateLimit: 100,
            }),
            ...problems('/v1/me', { anyKey: true }),
          },
        },
      },
      '/v1/operations/queues': {
        get: {
          operationId: 'queueDepths',
          tags: ['reports'],
          summary: 'Approximate depths of the delivery queue and its dead-letter queue (scope reports:read)',
          responses: {
            '200': ok(json(queueDepthsSchema, 'output'), {
              delivery: { visible: 0, inFlight: 0, delayed: 0 },
              deadLetter: { visible: 0 },
            }),
            ...problems('/v1/operations/queues'),
          },
        },
      },
      '/console': {
        get: {
          operationId: 'console',
          tags: ['service'],
          summary:
            'The console: a web app for marketers, finance and support that calls this API with your key (its script, style and image files, under /console/, are not API operations)',
          security: [],
          responses: {
            '200': {
              description: 'The console page',
              content: { 'text/html': { schema: { type: 'string' } } },
            },
            ...problems('/console', { authenticated: false }),
          },
        },
      },
      '/health': {
        get: {
          operationId: 'health',
          tags: ['service'],
          summary: 'Liveness',
          security: [],
          responses: {
            '200': ok(
              {
                type: 'object',
                required: ['status'],
                properties: { status: { type: 'string', const: 'ok' } },
              },
              { status: 'ok' },
            ),
            ...problems('/health', { authenticated: false }),
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openApiDocument',
          tags: ['service'],
          summary: 'This document',
          security: [],
          responses: {
            '200': ok(
              { type: 'object', required: ['openapi', 'paths'] },
              { openapi: '3.1.0', info: { title: 'Governor', version: '1' }, paths: {} },
            ),
            ...problems('/openapi.json', { authenticated: false }),
          },
        },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof openApiDocument>;
