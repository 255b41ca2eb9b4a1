/**
 * Deployment configuration, read from the environment once per process and checked at start: a missing
 * or malformed variable stops the function at cold start instead of failing requests one by one. The CDK
 * app and the local server set exactly these names.
 */
import * as z from 'zod';
import { CHANNELS, type Channel } from './domain/schemas.ts';

const optionalUrl = z.url().optional();

export const PROVIDERS = ['webhook', 'outbox', 'ses', 'sns', 'sms-voice'] as const;
export type ProviderName = (typeof PROVIDERS)[number];
/** The one channel a channel-specific provider delivers; the others deliver every channel. */
const ONLY_CHANNEL: Partial<Record<ProviderName, Channel>> = {
  ses: 'email',
  sns: 'sms',
  'sms-voice': 'sms',
};

/** Why `provider` cannot deliver `channel`, or undefined when it can. */
export function providerMisfit(provider: ProviderName, channel: Channel): string | undefined {
  const only = ONLY_CHANNEL[provider];
  return only === undefined || only === channel
    ? undefined
    : `${provider} cannot deliver ${channel}: ${provider} delivers ${only} only`;
}

/** The ses provider's sender: `news@mail.example.com` or `Brand <news@…>`. */
export const sesSenderSchema = z
  .string()
  .regex(/^(?:[^<>]*<)?[^@<>\s]+@[^@<>\s]+\.[^@<>\s]+>?$/, 'an address, or Name <address>');

/**
 * `email=ses,sms=sns`, or JSON `{"email":"ses"}` (what the CDK app sets), into a map; an object (a
 * cdk.json value) as it is. The environment here and the CDK context (infra/settings.ts) read it alike.
 */
export const pairs = (value: unknown) => {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (text.startsWith('{')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return value;
    }
  }
  return Object.fromEntries(
    text
      .split(',')
      .filter((pair) => pair.trim() !== '')
      .map((pair) => pair.split('=').map((part) => part.trim())),
  );
};

/** Sends per second per channel (`sms=50,email=500`). */
export const rateLimitsSchema = z.preprocess(
  pairs,
  z.partialRecord(z.enum(CHANNELS), z.coerce.number().positive().max(100_000)),
);
/** The sns (SMS) provider's sender id and origination number (E.164). */
export const snsSenderIdSchema = z.string().regex(/^[A-Za-z0-9]{1,11}$/);
export const originationNumberSchema = z.string().regex(/^\+[1-9]\d{1,14}$/);

/**
 * Delivery (dispatch and release functions). A channel's provider is GOVERNOR_PROVIDER_<CHANNEL>, else
 * its entry in GOVERNOR_PROVIDERS, else the webhook when one is configured, else the local outbox file.
 */
const deliverySettings = {
  GOVERNOR_PROVIDERS: z.preprocess(pairs, z.partialRecord(z.enum(CHANNELS), z.enum(PROVIDERS))).default({}),
  GOVERNOR_PROVIDER_EMAIL: z.enum(PROVIDERS).optional(),
  GOVERNOR_PROVIDER_SMS: z.enum(PROVIDERS).optional(),
  GOVERNOR_PROVIDER_PUSH: z.enum(PROVIDERS).optional(),
  GOVERNOR_PROVIDER_WHATSAPP: z.enum(PROVIDERS).optional(),
  /**
   * Where the webhook provider POSTs, and the key of its Standard Webhooks signature: `whsec_<base64>`
   * (the specification's form), or any other string of 16+ characters, used as it is.
   */
  GOVERNOR_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  GOVERNOR_WEBHOOK_SECRET: z.string().min(16).optional(),
  /** On AWS: a Secrets Manager secret `{"url", "secret"}` instead of the two variables above. */
  GOVERNOR_WEBHOOK_SECRET_ARN: z.string().startsWith('arn:').optional(),
  GOVERNOR_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** The local data folder (`npm start`); the outbox file lives there unless GOVERNOR_OUTBOX_FILE says. */
  GOVERNOR_DATA_DIR: z.string().min(1).default('.governor'),
  GOVERNOR_OUTBOX_FILE: z.string().min(1).optional(),
  /** The ses provider's verified sender (`Name <news@example.com>`) and optional configuration set. */
  GOVERNOR_SES_FROM: sesSenderSchema.optional(),
  GOVERNOR_SES_CONFIGURATION_SET: z.string().min(1).optional(),
  /** The sns (SMS) provider's sender id and origination number, where the destination country needs them. */
  GOVERNOR_SNS_SENDER_ID: snsSenderIdSchema.optional(),
  GOVERNOR_SNS_ORIGINATION_NUMBER: originationNumberSchema.optional(),
  /**
   * The sms-voice (End User Messaging SMS) provider's configuration set, whose event destination
   * publishes the delivery events back, and its origination identity (phone number, sender id or pool:
   * id or ARN); without one the service picks one of the account's.
   */
  GOVERNOR_SMS_CONFIGURATION_SET: z
    .string()
    .regex(/^[A-Za-z0-9_:/-]{1,256}$/)
    .optional(),
  GOVERNOR_SMS_ORIGINATION_IDENTITY: z
    .string()
    .regex(/^[A-Za-z0-9_:/+-]{1,256}$/)
    .optional(),
  /** Sends per second per channel and per dispatch process: `sms=50,email=500`. None by default. */
  GOVERNOR_RATE_LIMITS: rateLimitsSchema.default({}),
  /** The receive on which a transient failure dead-letters a delivery: the queue's maxReceiveCount. */
  GOVERNOR_DELIVERY_MAX_RECEIVES: z.coerce.number().int().min(1).max(1000).default(15),
  /** Retry backoff: full jitter under min(max, base × 2^(receive − 1)). */
  GOVERNOR_RETRY_BASE_MS: z.coerce.number().int().min(0).max(3_600_000).default(1000),
  GOVERNOR_RETRY_MAX_S: z.coerce.number().int().min(0).max(43_200).default(900),
  /**
   * Local mode only: a folder where every queued delivery is journaled before it is sent to the
   * in-memory SQS engine, so that a restart re-enqueues what a crash lost. Unset on AWS.
   */
  GOVERNOR_DELIVERY_JOURNAL: z.string().min(1).optional(),
  /**
   * Local mode: the folder of the decision archive (JSON-lines files by day and shard; `npm start` sets
   * `<data folder>/archive`). Without it (and without a stream on AWS) nothing is archived.
   */
  GOVERNOR_ARCHIVE_DIR: z.string().min(1).optional(),
  /**
   * When a decision's archive records leave. `before-answer` (the default, and what a Lambda function
   * needs, since it may be frozen once it has answered): the invocation waits for them, in parallel with
   * the delivery queue's write. `after-answer` (`npm start`: a process that keeps running): the answer
   * goes first and the records follow, drained when the process stops.
   */
  GOVERNOR_ARCHIVE_SETTLE: z.enum(['before-answer', 'after-answer']).default('before-answer'),
  /**
   * How long a decision's archive records may wait, after the answer, for the next decisions' records to
   * share their batch (one write for many single-message requests). 0 (default): none. `npm start` sets
   * 50; a Lambda function sends them before it answers anyway (`before-answer` drains what waits).
   */
  GOVERNOR_ARCHIVE_LINGER_MS: z.coerce.number().int().min(0).max(10_000).default(0),
  /**
   * On AWS: the Firehose delivery stream the functions archive to (the stack's `governor-archive`).
   * Ignored when GOVERNOR_ARCHIVE_DIR is set.
   */
  GOVERNOR_ARCHIVE_STREAM: z.string().min(1).optional(),
  /** On AWS: the archive's S3 bucket, which the dry-run workers read (ignored with GOVERNOR_ARCHIVE_DIR). */
  GOVERNOR_ARCHIVE_BUCKET: z.string().min(1).optional(),
  /** On AWS: the dry-run state machine's ARN (the Step Functions runner); locally worker threads. */
  GOVERNOR_DRY_RUN_STATE_MACHINE: z.string().min(1).optional(),
  /** Local mode: how often the release timer runs (the deployed schedule runs every minute). */
  GOVERNOR_RELEASE_INTERVAL_S: z.coerce.number().min(0.05).max(3600).default(5),
};

/** The provider a channel is delivered by. */
export function providerOf(config: Config, channel: Channel): ProviderName {
  const own = {
    email: config.GOVERNOR_PROVIDER_EMAIL,
    sms: config.GOVERNOR_PROVIDER_SMS,
    push: config.GOVERNOR_PROVIDER_PUSH,
    whatsapp: config.GOVERNOR_PROVIDER_WHATSAPP,
  }[channel];
  const webhook =
    config.GOVERNOR_WEBHOOK_URL !== undefined || config.GOVERNOR_WEBHOOK_SECRET_ARN !== undefined;
  return own ?? config.GOVERNOR_PROVIDERS[channel] ?? (webhook ? 'webhook' : 'outbox');
}

/** The outbox file: GOVERNOR_OUTBOX_FILE, else `outbox.jsonl` in the data folder. */
export const outboxFile = (config: Config) =>
  config.GOVERNOR_OUTBOX_FILE ?? `${config.GOVERNOR_DATA_DIR.replace(/\/+$/, '')}/outbox.jsonl`;

export const configSchema = z.object({
  GOVERNOR_TABLE_NAME: z.string().min(3).default('governor'),
  GOVERNOR_DELIVERY_QUEUE_URL: z.string().min(1).default('governor-delivery'),
  GOVERNOR_DLQ_URL: z.string().min(1).default('governor-delivery-dlq'),
  /** Local engines (dynalite, fauxqs); unset on AWS. */
  GOVERNOR_DYNAMODB_ENDPOINT: optionalUrl,
  GOVERNOR_SQS_ENDPOINT: optionalUrl,
  AWS_REGION: z.string().default('us-east-1'),
  /** The bootstrap admin key. Locally generated by `npm start` when unset. */
  GOVERNOR_ADMIN_KEY: z.string().min(16).optional(),
  /** On AWS: the Secrets Manager secret holding the bootstrap admin key, read once per process. */
  GOVERNOR_ADMIN_KEY_SECRET_ARN: z.string().startsWith('arn:').optional(),
  /**
   * The key of every keyed hash (idempotency keys, audit references, erasure records): 32+ characters.
   * Locally `npm start` generates one and keeps it in the data folder; on AWS the secret
   * GOVERNOR_HASH_SECRET_ARN names is read once per process. The functions that need it refuse to start
   * without either.
   */
  GOVERNOR_HASH_SECRET: z.string().min(32).optional(),
  GOVERNOR_HASH_SECRET_ARN: z.string().startsWith('arn:').optional(),
  /** How long a process trusts a resolved API key: a revocation takes effect everywhere within it. */
  GOVERNOR_KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(300_000).default(30_000),
  /** Requests per second of a key created without its own `rateLimit` (burst: twice that). */
  GOVERNOR_DEFAULT_RATE_LIMIT: z.coerce.number().int().min(1).max(100_000).default(100),
  /** How long a process trusts its cached copy of the current policy version. */
  GOVERNOR_POLICY_TTL_MS: z.coerce.number().int().min(0).max(300_000).default(1000),
  /**
   * How long decision counts may wait in memory before they are written (one write for all of them).
   * 0 writes them at the end of every request, as Lambda needs (a frozen function runs no timer).
   */
  GOVERNOR_COUNT_FLUSH_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** How long a decision is remembered so that a retry of the same messageId gets the same answer. */
  /**
   * The console's built files (`npm run build`), relative to the console's handler module unless
   * absolute; default the build folder of the repository. The CDK app bundles them beside the handler.
   */
  GOVERNOR_CONSOLE_DIR: z.string().min(1).default('../../console/dist'),
  GOVERNOR_IDEMPOTENCY_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(72),
  ...deliverySettings,
});
export type Config = z.infer<typeof configSchema>;

/** An invalid deployment setting: its message is one readable line per variable in error. */
export class ConfigError extends Error {
  constructor(readonly lines: string[]) {
    super(`invalid configuration:\n${lines.join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** What a zod issue on a variable says, in words an operator reads (`must be at most 300000`). */
function requirement(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_big':
      return issue.origin === 'string'
        ? `must be at most ${issue.maximum} characters`
        : `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}`;
    case 'too_small':
      return issue.origin === 'string'
        ? `must be at least ${issue.minimum} characters`
        : `must be ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}`;
    case 'invalid_type':
      return issue.expected === 'int' ? 'must be a whole number' : `must be a ${issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      if (issue.format === 'url') return 'must be a URL';
      if (issue.format === 'starts_with') return `must start with ${(issue as { prefix?: string }).prefix}`;
      if (issue.format === 'regex') return `must match ${(issue as { pattern?: string }).pattern}`;
      return `must be a valid ${issue.format}`;
    default:
      return issue.message;
  }
}

/** A secret's value is never echoed, only its length. */
const shown = (name: string, value: string | undefined) => {
  if (value === undefined) return 'unset';
  if (/(_KEY|_SECRET)$/.test(name)) return `a value of ${value.length} characters`;
  return JSON.stringify(value);
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const byVariable = new Map<string, string[]>();
  for (const issue of parsed.error.issues) {
    const [name = '(environment)', ...rest] = issue.path.map(String);
    const what = `${rest.length > 0 ? `${rest.join('.')}: ` : ''}${requirement(issue)}`;
    byVariable.set(name, [...(byVariable.get(name) ?? []), what]);
  }
  throw new ConfigError(
    [...byVariable].map(([name, what]) => `${name}: ${what.join('; ')} (got ${shown(name, env[name])})`),
  );
}
