/** GET /v1/audit?from=YYYY-MM-DD&to=YYYY-MM-DD: the audit trail of a period of at most 31 days. */
import { auditQuerySchema, parseAuditQuery } from '#shared/app/audit.ts';
import { getRoot } from '#shared/composition.ts';
import { httpFunction, type RouteHandler } from '../http.ts';

const root = getRoot();

export const readAudit: RouteHandler = async ({ event }) => ({
  status: 200,
  body: await root.audit.list(parseAuditQuery(event.queryStringParameters)),
});

export const handler = httpFunction(root.authenticate, {
  'GET /v1/audit': { query: Object.keys(auditQuerySchema.shape), handle: readAudit },
});
