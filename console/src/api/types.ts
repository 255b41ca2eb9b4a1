/** Names for the API's shapes the pages use, all taken from the generated OpenAPI types. */
import type { BodyOf, JsonOf, QueryOf } from './client.ts';

export type KeyInfo = JsonOf<'/v1/me'>;
export type Scope = KeyInfo['scopes'][number];

/** A stored policy version, as GET /v1/policy and GET /v1/policy/versions/{version} answer it. */
export type StoredPolicy = JsonOf<'/v1/policy'>;
/** The document PUT /v1/policy takes: the console's draft. */
export type PolicyDocument = BodyOf<'/v1/policy', 'put'>;
export type Cap = NonNullable<PolicyDocument['caps']>[number];
export type CapMatch = NonNullable<Cap['match']>;
export type Relevance = NonNullable<PolicyDocument['relevance']>;
export type QuietHours = NonNullable<PolicyDocument['quietHours']>;
export type Fatigue = NonNullable<PolicyDocument['fatigue']>;
export type ChannelCosts = PolicyDocument['channelCosts'];
export type Channel = NonNullable<CapMatch['channel']>;
export type Kind = NonNullable<CapMatch['kind']>;
export type VersionSummary = JsonOf<'/v1/policy/versions'>['versions'][number];

export type SuppressedReport = JsonOf<'/v1/reports/suppressed'>;
export type SuppressedQuery = NonNullable<QueryOf<'/v1/reports/suppressed'>>;
export type SuppressedRow = SuppressedReport['rows'][number];
export type GroupBy = SuppressedReport['groupBy'][number];
export type Reason = NonNullable<SuppressedRow['reason']>;

type Summary = JsonOf<'/v1/reports/summary'>;
export type MonthSummary = Extract<Summary, { month: string }>;
export type DaySummary = Extract<Summary, { day: string }>;

/** What GET /v1/reports/experiments/{id} answers: a holdout experiment's arms. */
export type ExperimentReport = JsonOf<'/v1/reports/experiments/{id}'>;

export type QueueDepths = JsonOf<'/v1/operations/queues'>;
export type KeySummary = JsonOf<'/v1/keys'>;

export const CHANNELS: readonly Channel[] = ['email', 'sms', 'push', 'whatsapp'];

/** What GET /v1/customers/{customerId} answers: what Governor holds about one customer. */
export type CustomerLookup = JsonOf<'/v1/customers/{customerId}'>;
export type CustomerDecision = CustomerLookup['decisions'][number];
export type DeferredSummary = CustomerLookup['deferred'][number];
export type Preferences = CustomerLookup['preferences'];

/** What GET /v1/policy/dry-runs/{id} answers: a dry-run's status, progress and, once done, its result. */
export type DryRun = JsonOf<'/v1/policy/dry-runs/{id}'>;
