/**
 * What an operator decides per deployment, read from CDK context (`cdk.json` "context", or
 * `cdk deploy -c key=value`) and checked once with zod: a typo stops the synth, not the first request.
 */
import type { Node } from 'constructs';
import * as z from 'zod';
import {
  originationNumberSchema,
  pairs,
  providerMisfit,
  rateLimitsSchema,
  sesSenderSchema,
  snsSenderIdSchema,
} from '#shared/config.ts';
import { CHANNELS } from '#shared/domain/schemas.ts';

/**
 * How each channel is delivered on AWS (GOVERNOR_PROVIDERS): the webhook, SES (email only), SNS or End
 * User Messaging SMS (`sms-voice`, SMS only). shared/config.ts also knows `outbox`, a local file, which
 * has no place on Lambda.
 */
export const PROVIDERS = ['webhook', 'ses', 'sns', 'sms-voice'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** `a,b` on the command line, `["a","b"]` in cdk.json. */
const list = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean)
      : value,
  z.array(z.string().min(1)),
);

const providerMap = z.preprocess(pairs, z.partialRecord(z.enum(CHANNELS), z.enum(PROVIDERS)));

const origin = z.string().regex(/^(\*|https?:\/\/[^/\s]+)$/, 'an origin: https://host[:port], or *');

export const settingsSchema = z.strictObject({
  /** Browser origins allowed to call the API (CORS). None by default: campaign platforms call server-side. */
  allowedOrigins: list.pipe(z.array(origin)).default([]),
  /** The provider of each channel; a channel left out is delivered to the webhook. */
  providers: providerMap.default({}),
  /** The webhook provider's endpoint, stored in the webhook secret when the secret is created. */
  webhookUrl: z.url({ protocol: /^https$/ }).optional(),
  /**
   * The ses provider's sender (GOVERNOR_SES_FROM), `news@mail.example.com` or `Brand <news@…>`; its
   * address or its domain must be a verified SES identity. Required when email uses ses.
   */
  sesFrom: sesSenderSchema.optional(),
  /** GOVERNOR_SES_CONFIGURATION_SET: the SES configuration set (event publishing) of every email. */
  sesConfigurationSet: z.string().min(1).optional(),
  /** GOVERNOR_SNS_SENDER_ID and GOVERNOR_SNS_ORIGINATION_NUMBER, where the destination country needs them. */
  snsSenderId: snsSenderIdSchema.optional(),
  snsOriginationNumber: originationNumberSchema.optional(),
  /**
   * The sms-voice provider's End User Messaging SMS configuration set (GOVERNOR_SMS_CONFIGURATION_SET),
   * created by the stack with its event destination; `governor-sms` by default.
   */
  smsConfigurationSet: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  /**
   * GOVERNOR_SMS_ORIGINATION_IDENTITY: the ARN of the phone number, sender id or pool the sms-voice
   * provider sends from (an ARN, so that the dispatch function may use that identity and no other).
   */
  smsOriginationIdentity: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:sms-voice:[a-z0-9-]+:\d{12}:(phone-number|sender-id|pool)\/\S+$/,
      'an sms-voice ARN',
    )
    .optional(),
  /** GOVERNOR_RATE_LIMITS: sends per second per channel and dispatch instance, `sms=50,email=500`. */
  deliveryRateLimits: rateLimitsSchema.default({}),
  /** Where alarm notifications go (an SNS email subscription); none when unset. */
  alarmEmail: z.email().optional(),
  /** GOVERNOR_POLICY_TTL_MS and GOVERNOR_IDEMPOTENCY_HOURS (shared/config.ts); same defaults. */
  policyTtlMs: z.coerce.number().int().min(0).max(300_000).default(1000),
  idempotencyHours: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(72),
  /** GOVERNOR_KEY_CACHE_TTL_MS and GOVERNOR_DEFAULT_RATE_LIMIT (shared/config.ts). */
  keyCacheTtlMs: z.coerce.number().int().min(0).max(300_000).default(30_000),
  defaultRateLimit: z.coerce.number().int().min(1).max(100_000).default(100),
  /** The HTTP API's steady rate and burst (requests per second) before it answers 429. */
  apiRateLimit: z.coerce.number().int().min(1).default(2000),
  apiBurstLimit: z.coerce.number().int().min(1).default(4000),
  /** At most this many dispatch functions run at once: the providers' rate is the limit, not Lambda's. */
  dispatchMaxConcurrency: z.coerce.number().int().min(2).max(1000).default(20),
  /** GOVERNOR_ARCHIVE_DAYS: days the decision archive's objects are kept in S3 before they expire. */
  archiveDays: z.coerce.number().int().min(1).max(3650).default(90),
  /** The send API's p99 latency (ms) above which the latency alarm fires. */
  sendP99Ms: z.coerce.number().int().min(50).default(1000),
});

export type GovernorSettings = z.infer<typeof settingsSchema>;
export type GovernorSettingsInput = z.input<typeof settingsSchema>;

const KEYS = Object.keys(settingsSchema.shape) as (keyof GovernorSettings)[];

/** The settings of an app, from the context keys above. */
export function settingsFrom(node: Node): GovernorSettings {
  const raw: Record<string, unknown> = {};
  for (const key of KEYS) {
    const value: unknown = node.tryGetContext(key);
    if (value !== undefined) raw[key] = value;
  }
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    throw new Error(`invalid governor context: ${problems}`);
  }
  const settings = parsed.data;
  const { providers } = settings;
  for (const channel of CHANNELS) {
    const provider = providers[channel];
    const misfit = provider && providerMisfit(provider, channel);
    if (misfit) throw new Error(`invalid governor context: providers: ${misfit}`);
  }
  if (providers.email === 'ses' && !settings.sesFrom) {
    throw new Error('invalid governor context: sesFrom is required when email uses the ses provider');
  }
  return settings;
}
