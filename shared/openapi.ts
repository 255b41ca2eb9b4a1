/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the same zod schemas that validate requests.
 */
import * as z from 'zod';
import { AUDIT_ACTIONS, auditEntrySchema, MAX_AUDIT_DAYS } from './app/audit.ts';
import { SCOPES } from './app/auth.ts';
import { createKeySchema } from './app/keys.ts';
import {
  decisionSchema,
  eventsSchema,
  messageSchema,
  policyDocumentSchema,
  preferencesSchema,
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
          responses: { '200': ok(json(policyDocumentSchema, 'output')), ...errors },
        },
        put: {
          summary: 'Replace the policy (If-Match required)',
          parameters: [{ name: 'If-Match', in: 'header', required: true, schema: { type: 'string' } }],
          requestBody: body(json(policyDocumentSchema)),
          responses: {
            '200': ok(json(policyDocumentSchema, 'output')),
            '412': problem,
            '428': problem,
            ...errors,
          },
        },
      },
      '/v1/policy/versions': {
        get: { summary: 'Policy history', responses: { '200': ok({ type: 'object' }), ...errors } },
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
      '/health': { get: { summary: 'Liveness', security: [], responses: { '200': ok({ type: 'object' }) } } },
      '/openapi.json': {
        get: { summary: 'This document', security: [], responses: { '200': ok({ type: 'object' }) } },
      },
    },
  };
}
