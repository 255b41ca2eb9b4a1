/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the same zod schemas that validate requests.
 */
import * as z from 'zod';
import { AUDIT_ACTIONS, auditEntrySchema, MAX_AUDIT_DAYS } from './app/audit.ts';
import { keyInfoSchema, SCOPES } from './app/auth.ts';
import { createKeySchema } from './app/keys.ts';
import { queueDepthsSchema } from './app/operations.ts';
import { GROUP_BY } from './app/reports.ts';
import {
  CHANNELS,
  decisionSchema,
  eventsSchema,
  messageSchema,
  policyDocumentSchema,
  preferencesSchema,
  REASONS,
} from './domain/schemas.ts';

const json = (schema: z.ZodType, io: 'input' | 'output' = 'input') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });

const problem = {
  description: 'RFC 9457 problem',
  content: {
    'application/problem+json': {
      schema: {
        type: 'object',
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          errors: {
            type: 'array',
            items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
          },
        },
      },
    },
  },
};

const body = (schema: unknown) => ({ required: true, content: { 'application/json': { schema } } });
const ok = (schema: unknown, description = 'OK') => ({
  description,
  content: { 'application/json': { schema } },
});
const errors = {
  '400': problem,
  '401': problem,
  '403': problem,
  '413': problem,
  '415': problem,
  '429': problem,
};
const customerId = { name: 'customerId', in: 'path', required: true, schema: { type: 'string' } };
const day = (name: string) => ({
  name,
  in: 'query',
  required: true,
  schema: { type: 'string', format: 'date' },
});
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

// What GET /v1/policy and the versions routes answer, and what the finance reports answer.
const storedPolicySchema = z.strictObject({
  ...policyDocumentSchema.shape,
  version: z.int().min(0),
  createdAt: z.iso.datetime(),
  author: z.string().describe('key id of the author; "default" for version 0'),
});
const versionSummarySchema = storedPolicySchema.pick({ version: true, createdAt: true, author: true });
const amount = z.number().describe('in the report currency, exact to the millionth');
const suppressedReportSchema = z.object({
  period: z.object({ from: z.iso.date(), to: z.iso.date() }),
  groupBy: z.array(z.enum(GROUP_BY)),
  currency: z
    .string()
    .describe('ISO 4217, or MIXED when the period mixes currencies (rows then carry theirs)'),
  rows: z.array(
    z.object({
      day: z.iso.date().optional(),
      reason: z.enum(REASONS).optional(),
      channel: z.enum(CHANNELS).optional(),
      campaignId: z.string().optional(),
      category: z.string().optional(),
      count: z.int(),
      avoidedCost: amount,
      currency: z.string().optional(),
    }),
  ),
  totals: z.object({ count: z.int(), avoidedCost: amount }),
  policyVersions: z.array(z.int()),
});
const figures = {
  requested: z.int(),
  accepted: z.int(),
  deferred: z.int(),
  suppressed: z.int(),
  suppressedByReason: z.partialRecord(z.enum(REASONS), z.int()),
  suppressionRate: z.number(),
  released: z.object({ accepted: z.int(), suppressed: z.int() }),
  erased: z.int(),
  avoidedCostByChannel: z.partialRecord(z.enum(CHANNELS), amount),
  avoidedCost: amount,
  currency: z.string(),
};
const monthFiguresSchema = z.object({ month: z.string(), ...figures });
const monthSummarySchema = monthFiguresSchema.extend({
  previousMonth: monthFiguresSchema,
  change: z.object({
    requested: z.number().nullable(),
    suppressed: z.number().nullable(),
    suppressionRate: z.number(),
    avoidedCost: z.number().nullable(),
  }),
});
const daySummarySchema = z.object({ day: z.iso.date(), ...figures });

export function openApiDocument() {
  const decision = json(decisionSchema, 'output');
  return {
    openapi: '3.1.0',
    info: {
      title: 'Governor',
      version: '1',
      description: 'Marketing-pressure governor: accept, defer or suppress each message.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths: {
      '/v1/messages': {
        post: {
          summary: 'Decide one message',
          requestBody: body(json(messageSchema)),
          responses: { '200': ok(decision), ...errors },
        },
      },
      '/v1/messages/batch': {
        post: {
          summary: 'Decide up to 500 messages; results in order, a bad item is a per-item error',
          requestBody: body({
            type: 'object',
            properties: { messages: { type: 'array', maxItems: 500, items: json(messageSchema) } },
          }),
          responses: {
            '200': ok({ type: 'object', properties: { results: { type: 'array', items: decision } } }),
            ...errors,
          },
        },
      },
      '/v1/decisions/preview': {
        post: {
          summary: 'The decision without consuming anything',
          requestBody: body(json(messageSchema)),
          responses: { '200': ok(decision), ...errors },
        },
      },
      '/v1/policy': {
        get: {
          summary: 'The policy in force (ETag: its version)',
          responses: { '200': ok(json(storedPolicySchema, 'output')), ...errors },
        },
        put: {
          summary: 'Replace the policy (If-Match required)',
          parameters: [{ name: 'If-Match', in: 'header', required: true, schema: { type: 'string' } }],
          requestBody: body(json(policyDocumentSchema)),
          responses: {
            '200': ok(json(storedPolicySchema, 'output')),
            '412': problem,
            '428': problem,
            ...errors,
          },
        },
      },
      '/v1/policy/versions': {
        get: {
          summary: 'Policy history, newest first',
          responses: {
            '200': ok(json(z.object({ versions: z.array(versionSummarySchema) }), 'output')),
            ...errors,
          },
        },
      },
      '/v1/policy/versions/{version}': {
        get: {
          summary: "One version's whole document (to compare, or to restore: PUT it with the current ETag)",
          parameters: [
            { name: 'version', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } },
          ],
          responses: { '200': ok(json(storedPolicySchema, 'output')), '404': problem, ...errors },
        },
      },
      '/v1/customers/{customerId}/preferences': {
        get: {
          summary: "A customer's preferences",
          parameters: [customerId],
          responses: { '200': ok(json(preferencesSchema, 'output')), ...errors },
        },
        put: {
          summary: "Replace a customer's preferences",
          parameters: [customerId],
          requestBody: body(json(preferencesSchema)),
          responses: { '200': ok(json(preferencesSchema, 'output')), ...errors },
        },
      },
      '/v1/customers/{customerId}': {
        delete: {
          summary: 'Erase everything held about a customer',
          parameters: [customerId],
          responses: { '200': ok({ type: 'object' }), ...errors },
        },
      },
      '/v1/events': {
        post: {
          summary: 'Provider and platform feedback',
          requestBody: body(json(eventsSchema)),
          responses: { '202': ok({ type: 'object' }), ...errors },
        },
      },
      '/v1/keys': {
        post: {
          summary: 'Create an API key (scope admin). The key is in this answer only: store it now.',
          requestBody: body(json(createKeySchema)),
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
              'Created',
            ),
            ...errors,
          },
        },
        get: {
          summary: 'The API keys, revoked ones included, never their secret (scope admin)',
          responses: {
            '200': ok({ type: 'object', properties: { keys: { type: 'array', items: keySummary } } }),
            ...errors,
          },
        },
      },
      '/v1/keys/{id}': {
        delete: {
          summary: 'Revoke a key; effective within GOVERNOR_KEY_CACHE_TTL_MS (scope admin)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '204': { description: 'Revoked' }, '404': problem, ...errors },
        },
      },
      '/v1/audit': {
        get: {
          summary: `Audit trail (${AUDIT_ACTIONS.join(', ')}) of at most ${MAX_AUDIT_DAYS} days, oldest first (scope admin)`,
          parameters: [
            day('from'),
            day('to'),
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            },
            {
              name: 'cursor',
              in: 'query',
              schema: { type: 'string' },
              description: 'nextCursor of the page before',
            },
          ],
          responses: {
            '200': ok({
              type: 'object',
              properties: {
                entries: { type: 'array', items: json(auditEntrySchema, 'output') },
                nextCursor: { type: 'string' },
              },
            }),
            ...errors,
          },
        },
      },
      '/v1/reports/suppressed': {
        get: {
          summary:
            'Suppressed messages and their avoided cost over [from, to] (UTC days), grouped (scope reports:read)',
          parameters: [
            day('from'),
            day('to'),
            {
              name: 'groupBy',
              in: 'query',
              schema: { type: 'string', default: 'day,reason,channel' },
              description: `comma-separated: ${GROUP_BY.join(', ')}`,
            },
            { name: 'format', in: 'query', schema: { type: 'string', enum: ['json', 'csv'] } },
          ],
          responses: {
            '200': {
              description: 'OK',
              content: {
                'application/json': { schema: json(suppressedReportSchema, 'output') },
                'text/csv': { schema: { type: 'string' } },
              },
            },
            ...errors,
          },
        },
      },
      '/v1/reports/summary': {
        get: {
          summary: "A month's figures with the month before, or one UTC day's (scope reports:read)",
          parameters: [
            { name: 'month', in: 'query', schema: { type: 'string', pattern: '^\\d{4}-(0[1-9]|1[0-2])$' } },
            { name: 'day', in: 'query', schema: { type: 'string', format: 'date' } },
          ],
          responses: {
            '200': ok({ oneOf: [json(monthSummarySchema, 'output'), json(daySummarySchema, 'output')] }),
            ...errors,
          },
        },
      },
      '/v1/me': {
        get: {
          summary: "The presented key's id, scopes and rate limit (any valid key)",
          responses: { '200': ok(json(keyInfoSchema, 'output')), ...errors },
        },
      },
      '/v1/operations/queues': {
        get: {
          summary: 'Approximate depths of the delivery queue and its dead-letter queue (scope reports:read)',
          responses: { '200': ok(json(queueDepthsSchema, 'output')), ...errors },
        },
      },
      '/health': { get: { summary: 'Liveness', security: [], responses: { '200': ok({ type: 'object' }) } } },
      '/openapi.json': {
        get: { summary: 'This document', security: [], responses: { '200': ok({ type: 'object' }) } },
      },
    },
  };
}
