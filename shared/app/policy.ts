/**
 * Marketers' policy: read the version in force, replace it with optimistic concurrency (If-Match on the
 * version), list the history. Every change is a new immutable version naming its author and time.
 */
import { DEFAULT_POLICY } from '../domain/default-policy.ts';
import type { Policy, PolicyDocument } from '../domain/schemas.ts';
import { PreconditionFailedError } from '../errors.ts';
import type { Clock, PolicyStore, PolicyVersionSummary } from '../ports.ts';
import type { AuditRecorder } from './audit.ts';

export interface PolicyDeps {
  policies: PolicyStore;
  clock: Clock;
}

export async function currentPolicy(deps: PolicyDeps): Promise<Policy> {
  return (await deps.policies.current()) ?? DEFAULT_POLICY;
}

/** Replaces the policy; the new version is recorded in the audit trail under its author's key id. */
export async function replacePolicy(
  deps: PolicyDeps & { audit: AuditRecorder },
  document: PolicyDocument,
  expected: number | '*',
  author: string,
): Promise<Policy> {
  const stored = await deps.policies.put(document, expected, author, deps.clock.now());
  if (!stored) {
    const current = await currentPolicy(deps);
    throw new PreconditionFailedError(`the current policy is version ${current.version}, not ${expected}`);
  }
  await deps.audit.record(author, 'policy.replaced', `policy:${stored.version}`, {
    version: stored.version,
    ifMatch: expected === '*' ? '*' : expected,
  });
  return stored;
}

export async function policyVersions(deps: PolicyDeps): Promise<PolicyVersionSummary[]> {
  const stored = await deps.policies.versions();
  return [...stored, { version: 0, createdAt: DEFAULT_POLICY.createdAt, author: DEFAULT_POLICY.author }];
}

export async function policyVersion(deps: PolicyDeps, version: number): Promise<Policy | undefined> {
  if (version === 0) return DEFAULT_POLICY;
  return deps.policies.get(version);
}
