/**
 * GET/PUT /v1/customers/{customerId}/preferences, GET /v1/customers/{customerId} (what Governor holds
 * about the customer, for support) and DELETE /v1/customers/{customerId}.
 */
import { customerLookupQuery, lookUpCustomer } from '#shared/app/customer-lookup.ts';
import { eraseCustomer, getPreferences, putPreferences } from '#shared/app/preferences.ts';
import { getRoot } from '#shared/composition.ts';
import { idSchema, preferencesSchema } from '#shared/domain/schemas.ts';
import { httpFunction, parseWith, type RouteHandler } from '../http.ts';

const root = getRoot();
// The keyed hashes' secret, read once at cold start (a clear failure there if it is missing).
await root.hashes.ready();

const customerIdOf = (pathParameters: Record<string, string | undefined> | undefined) =>
  parseWith(idSchema, pathParameters?.customerId, 'the customerId in the path');

export const readPreferences: RouteHandler = async ({ event }) => ({
  status: 200,
  body: await getPreferences(root, customerIdOf(event.pathParameters)),
});

export const writePreferences: RouteHandler = async ({ event, body, principal }) => {
  const customerId = customerIdOf(event.pathParameters);
  const preferences = parseWith(preferencesSchema, body, 'the preferences');
  const source = `api:${principal.keyId}`;
  return { status: 200, body: await putPreferences(root, customerId, preferences, source, principal.keyId) };
};

export const readCustomer: RouteHandler = async ({ event }) => {
  const customerId = customerIdOf(event.pathParameters);
  const query = parseWith(customerLookupQuery, event.queryStringParameters ?? {}, 'the query');
  return { status: 200, body: await lookUpCustomer(root, customerId, query) };
};

export const erase: RouteHandler = async ({ event, principal }) => {
  const customerId = customerIdOf(event.pathParameters);
  const deferredDropped = await eraseCustomer(root, customerId, principal.keyId);
  return { status: 200, body: { customerId, erased: true, deferredDropped } };
};

export const handler = httpFunction(root.authenticate, {
  'GET /v1/customers/{customerId}/preferences': { handle: readPreferences },
  'PUT /v1/customers/{customerId}/preferences': { handle: writePreferences },
  'GET /v1/customers/{customerId}': {
    query: Object.keys(customerLookupQuery.shape),
    handle: readCustomer,
  },
  'DELETE /v1/customers/{customerId}': { handle: erase },
});
