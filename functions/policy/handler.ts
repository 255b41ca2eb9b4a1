/**
 * GET/PUT /v1/policy, GET /v1/policy/versions and GET /v1/policy/versions/{version}: the marketers'
 * policy, versioned, with ETags.
 */
import * as z from 'zod';
import { currentPolicy, policyVersion, policyVersions, replacePolicy } from '#shared/app/policy.ts';
import { getRoot } from '#shared/composition.ts';
import { policyEditSchema } from '#shared/domain/schemas.ts';
import { NotFoundError, PreconditionFailedError, PreconditionRequiredError } from '#shared/errors.ts';
import { httpFunction, parseWith, type RouteHandler } from '../http.ts';

const root = getRoot();
const deps = { policies: root.policyStore, clock: root.clock, audit: root.audit };

const etag = (version: number) => `"${version}"`;

/** `If-Match: "3"` (or W/"3", or *) → 3 or '*'. */
export function expectedVersion(ifMatch: string | undefined): number | '*' {
  if (ifMatch === undefined || ifMatch.trim() === '') {
    throw new PreconditionRequiredError(
      'send If-Match with the ETag of the policy you read (or * to overwrite)',
    );
  }
  if (ifMatch.trim() === '*') return '*';
  const match = /^(?:W\/)?"(\d{1,10})"$/.exec(ifMatch.trim());
  if (!match) throw new PreconditionFailedError(`If-Match ${ifMatch} does not name a policy version`);
  return Number(match[1]);
}

export const getPolicy: RouteHandler = async () => {
  const policy = await currentPolicy(deps);
  return { status: 200, body: policy, headers: { etag: etag(policy.version) } };
};

/** What GET returned may be sent back as it is: its read-only version, createdAt and author are ignored. */
export const putPolicy: RouteHandler = async ({ event, body, principal }) => {
  const {
    version: _version,
    createdAt: _createdAt,
    author: _author,
    ...document
  } = parseWith(policyEditSchema, body, 'the policy');
  const expected = expectedVersion(event.headers?.['if-match']);
  const policy = await replacePolicy(deps, document, expected, principal.keyId);
  return { status: 200, body: policy, headers: { etag: etag(policy.version) } };
};

export const listVersions: RouteHandler = async () => ({
  status: 200,
  body: { versions: await policyVersions(deps) },
});

const versionInPath = z
  .string()
  .regex(/^\d{1,10}$/, 'must be a version number')
  .transform(Number);

/** One version's whole document; its ETag is its version, as the current policy's is. */
export const getVersion: RouteHandler = async ({ event }) => {
  const version = parseWith(versionInPath, event.pathParameters?.version, 'the version in the path');
  const policy = await policyVersion(deps, version);
  if (!policy) throw new NotFoundError(`there is no policy version ${version}`);
  return { status: 200, body: policy, headers: { etag: etag(policy.version) } };
};

export const handler = httpFunction(root.authenticate, {
  'GET /v1/policy': { handle: getPolicy },
  'PUT /v1/policy': { handle: putPolicy },
  'GET /v1/policy/versions': { handle: listVersions },
  'GET /v1/policy/versions/{version}': { handle: getVersion },
});
