/**
 * The HTTP contract and the policy model, as zod schemas. Every type the domain and the adapters use is
 * inferred from here; the OpenAPI document is generated from the same schemas.
 */
import * as z from 'zod';
import { parseDuration } from './duration.ts';
import { isValidTimeZone } from './time-zone.ts';

export const CHANNELS = ['email', 'sms', 'push', 'whatsapp'] as const;
export const channelSchema = z.enum(CHANNELS);
export type Channel = z.infer<typeof channelSchema>;

export const kindSchema = z.enum(['marketing', 'transactional']);
export type Kind = z.infer<typeof kindSchema>;

/** Opaque identifiers: 1 to 128 printable ASCII characters, no spaces. */
export const idSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be 1 to 128 printable ASCII characters without spaces');

export const timestampSchema = z.iso.datetime({ offset: true });

export const MAX_PAYLOAD_BYTES = 64 * 1024;

const payloadSchema = z
  .record(z.string(), z.unknown())
  .refine((payload) => Buffer.byteLength(JSON.stringify(payload), 'utf8') <= MAX_PAYLOAD_BYTES, {
    message: `must be at most ${MAX_PAYLOAD_BYTES} bytes of JSON`,
  });

export const messageSchema = z
  .strictObject({
    messageId: idSchema,
    customerId: idSchema,
    channel: channelSchema,
    kind: kindSchema.default('marketing'),
    category: idSchema.optional(),
    campaignId: idSchema.optional(),
    relevance: z.number().min(0).max(1).optional(),
    notBefore: timestampSchema.optional(),
    expiresAt: timestampSchema.optional(),
    alternateChannels: z.array(channelSchema).max(CHANNELS.length).optional(),
    payload: payloadSchema,
  })
  .refine((m) => !m.notBefore || !m.expiresAt || Date.parse(m.notBefore) <= Date.parse(m.expiresAt), {
    message: 'notBefore must not be after expiresAt',
    path: ['notBefore'],
  });
export type MessageInput = z.input<typeof messageSchema>;
export type Message = z.infer<typeof messageSchema>;

export const MAX_BATCH = 500;
export const batchSchema = z.strictObject({
  messages: z.array(z.unknown()).min(1).max(MAX_BATCH),
});

export const OUTCOMES = ['accepted', 'deferred', 'suppressed'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const REASONS = [
  'frequency_cap',
  'min_gap',
  'relevance_below_threshold',
  'opted_out',
  'topic_opted_out',
  'paused',
  'quiet_hours_expired',
  'expired',
  'hard_bounce',
  'complained',
  'erased',
  'fatigue',
  'cancelled',
  'preempted',
  'digest',
] as const;
export type Reason = (typeof REASONS)[number];

export const decisionSchema = z.object({
  messageId: idSchema,
  decision: z.enum(OUTCOMES),
  reason: z.enum(REASONS).optional(),
  rule: z.string().optional(),
  channel: channelSchema,
  releaseAt: timestampSchema.optional(),
  digestId: z
    .string()
    .optional()
    .meta({ description: 'the digest the message joined (reason `digest`): delivered with it as one send' }),
  policyVersion: z.int(),
  experiment: z
    .object({ id: z.string(), arm: z.string() })
    .optional()
    .meta({ description: 'the holdout experiment the decision was taken in, and the arm of the customer' }),
});
export type DecisionResponse = z.infer<typeof decisionSchema>;

// ---------------------------------------------------------------------------------------------- policy

const MAX_WINDOW_MS = 90 * 24 * 3600 * 1000;
export const durationSchema = z.string().superRefine((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 duration such as PT30M, P1D or P1W' });
  } else if (ms <= 0 || ms > MAX_WINDOW_MS) {
    ctx.addIssue({ code: 'custom', message: 'must be longer than zero and at most 90 days' });
  }
});

export const timeOfDaySchema = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour clock)');
export const timeZoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Paris');

export const capMatchSchema = z.strictObject({
  kind: kindSchema.optional(),
  channel: channelSchema.optional(),
  category: idSchema.optional(),
  campaignId: idSchema.optional(),
});
export type CapMatch = z.infer<typeof capMatchSchema>;

export const capSchema = z
  .strictObject({
    id: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_.:-]+$/, 'must be letters, digits, _ . : or -'),
    limit: z.int().min(0).max(10_000).optional(),
    window: durationSchema.optional(),
    minGap: durationSchema.optional(),
    match: capMatchSchema.default({}),
  })
  .refine((cap) => (cap.limit === undefined) === (cap.window === undefined), {
    message: 'limit and window go together',
    path: ['limit'],
  })
  .refine((cap) => cap.limit !== undefined || cap.minGap !== undefined, {
    message: 'a cap needs limit and window, or minGap',
    path: ['limit'],
  });
export type Cap = z.infer<typeof capSchema>;

const unit = z.number().min(0).max(1);
const money = z.number().min(0).max(1_000_000);

export const quietHoursSchema = z.strictObject({ start: timeOfDaySchema, end: timeOfDaySchema });
export type QuietHours = z.infer<typeof quietHoursSchema>;

/**
 * Fatigue (fatigue.ts): from a customer's decayed opens and clicks per delivered message, caps are
 * scaled down and the relevance threshold raised for customers who stopped engaging.
 */
export const fatigueSchema = z
  .strictObject({
    threshold: unit.meta({
      description: 'opens and clicks per delivered (decayed) below which a customer is fatigued',
    }),
    minDelivered: z
      .number()
      .min(1)
      .max(1000)
      .default(5)
      .meta({ description: 'decayed deliveries before the score counts: below it the customer is neutral' }),
    capScale: unit
      .default(0.5)
      .meta({ description: "what a fatigued customer's marketing caps are multiplied by (at least 1 left)" }),
    relevanceBoost: unit
      .default(0.2)
      .meta({ description: "what is added to a fatigued customer's relevance threshold" }),
    unengagedRun: z
      .int()
      .min(1)
      .max(1000)
      .default(5)
      .meta({ description: 'N: after N deliveries with no open or click the customer backs off further' }),
    runCapScale: unit.default(0.25).meta({ description: 'the cap scale after such a run' }),
    runRelevanceBoost: unit.default(0.3).meta({ description: 'the relevance boost after such a run' }),
  })
  .meta({
    description: 'a click or an explicit preference change restores a customer; new customers are neutral',
  });
export type Fatigue = z.infer<typeof fatigueSchema>;

/**
 * Holdout experiments (experiments.ts): each customer is assigned, by a keyed hash of its id and the
 * experiment's salt, to one arm; an arm decides under the policy as it is (`current`), with no caps,
 * relevance threshold or fatigue (`control`: preferences, suppressions and quiet hours still hold), or
 * with another set of caps. Between `from` and `to` only; at most one experiment runs at any moment.
 */
const experimentIdSchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, _ . or -');

export const experimentArmSchema = z.strictObject({
  id: experimentIdSchema,
  share: z.number().gt(0).max(1).meta({ description: "the arm's share of customers; the shares sum to 1" }),
  policy: z
    .union([
      z.literal('current').meta({ description: 'the policy as it is' }),
      z.literal('control').meta({
        description:
          'no caps, no relevance threshold, no fatigue: preferences, suppressions, quiet hours only',
      }),
      z.strictObject({ caps: z.array(capSchema).max(50) }).meta({ description: 'these caps instead' }),
    ])
    .default('current'),
});
export type ExperimentArm = z.infer<typeof experimentArmSchema>;

export const experimentSchema = z
  .strictObject({
    id: experimentIdSchema,
    salt: z.string().min(1).max(64).meta({ description: 'with the customer id, what assigns the arm' }),
    arms: z.array(experimentArmSchema).min(2).max(8),
    from: timestampSchema.optional().meta({ description: 'when it starts (absent: now)' }),
    to: timestampSchema.optional().meta({ description: 'when it ends (absent: never)' }),
  })
  .refine((e) => Math.abs(e.arms.reduce((n, a) => n + a.share, 0) - 1) < 1e-9, {
    message: 'the shares of the arms must sum to 1',
    path: ['arms'],
  })
  .refine((e) => new Set(e.arms.map((a) => a.id)).size === e.arms.length, {
    message: 'arm ids must be unique',
    path: ['arms'],
  })
  .refine((e) => !e.from || !e.to || Date.parse(e.from) < Date.parse(e.to), {
    message: 'from must be before to',
    path: ['from'],
  });
export type Experiment = z.infer<typeof experimentSchema>;

/**
 * Digests (digests.ts): a marketing message that a cap or gap would suppress and that matches a rule
 * joins the customer's pending digest for it instead, delivered as one send with the items' payloads.
 * Each item is held as a deferred message is (its own held item, 64 KiB of payload at most); the
 * delivery carries them together in one queue message (256 KiB), which MAX_DIGEST_ITEMS items of the
 * usual few hundred bytes fit many times over (see the README for the limit on large payloads).
 */
export const MAX_DIGEST_ITEMS = 20;
const digestIdSchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, _ . or -');
export const digestRuleSchema = z.strictObject({
  id: digestIdSchema,
  match: z
    .strictObject({
      channel: channelSchema.optional(),
      category: idSchema.optional(),
      campaignId: idSchema.optional(),
    })
    .default({})
    .meta({ description: 'the marketing messages it collects (absent fields match any)' }),
  maxItems: z.int().min(2).max(MAX_DIGEST_ITEMS).meta({ description: 'items a digest holds at most' }),
  maxWait: durationSchema.meta({
    description: 'how long after its first item a digest is delivered at the latest',
  }),
});
export type DigestRule = z.infer<typeof digestRuleSchema>;

/** Whether two experiments run at some common moment. */
const overlap = (a: Experiment, b: Experiment) =>
  (a.from === undefined || b.to === undefined || Date.parse(a.from) < Date.parse(b.to)) &&
  (b.from === undefined || a.to === undefined || Date.parse(b.from) < Date.parse(a.to));

export const policyDocumentSchema = z
  .strictObject({
    caps: z.array(capSchema).max(50).default([]),
    relevance: z
      .strictObject({
        default: unit,
        byChannel: z.partialRecord(channelSchema, unit).optional(),
        byCategory: z.record(idSchema, unit).optional(),
        pressureSlope: unit.default(0),
      })
      .default({ default: 0, pressureSlope: 0 }),
    quietHours: quietHoursSchema.extend({ defaultTimezone: timeZoneSchema.default('UTC') }).optional(),
    channelCosts: z.strictObject({
      email: money,
      sms: money,
      push: money,
      whatsapp: money,
      currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR'),
    }),
    fatigue: fatigueSchema.optional(),
    experiments: z.array(experimentSchema).max(10).optional(),
    digests: z
      .array(digestRuleSchema)
      .max(20)
      .optional()
      .meta({ description: 'digests instead of drops: the first rule that matches a message is its' }),
  })
  .refine((p) => new Set(p.caps.map((c) => c.id)).size === p.caps.length, {
    message: 'cap ids must be unique',
    path: ['caps'],
  })
  .refine((p) => new Set((p.experiments ?? []).map((e) => e.id)).size === (p.experiments ?? []).length, {
    message: 'experiment ids must be unique',
    path: ['experiments'],
  })
  .refine((p) => new Set((p.digests ?? []).map((d) => d.id)).size === (p.digests ?? []).length, {
    message: 'digest ids must be unique',
    path: ['digests'],
  })
  .refine((p) => (p.experiments ?? []).every((e, i, all) => all.slice(i + 1).every((f) => !overlap(e, f))), {
    message: 'experiments must not run at the same time (from and to apart)',
    path: ['experiments'],
  });
export type PolicyDocumentInput = z.input<typeof policyDocumentSchema>;
export type PolicyDocument = z.infer<typeof policyDocumentSchema>;

const versionFields = {
  version: z.int().min(0).meta({ description: 'the version number; 0 is the default policy' }),
  createdAt: timestampSchema.meta({ description: 'when this version was stored' }),
  author: z.string().min(1).max(128).meta({ description: 'the key id that stored it' }),
};

/** A stored, immutable version of the policy: the document, its version, time and author key. */
export const policySchema = policyDocumentSchema.extend(versionFields);
export type Policy = z.infer<typeof policySchema>;

/**
 * What `PUT /v1/policy` takes: the document, and, so that what `GET` returned can be sent back as it is,
 * `version`, `createdAt` and `author`, which must be well-formed and are then ignored (the server numbers,
 * dates and signs every version itself). They are not marked `readOnly` in the OpenAPI document: a
 * validating client would then refuse to send them back.
 */
const ignored = 'ignored: the server numbers, dates and signs each version (accepted for a round trip)';
export const policyEditSchema = policyDocumentSchema.extend({
  version: versionFields.version.optional().meta({ description: ignored }),
  createdAt: versionFields.createdAt.optional().meta({ description: ignored }),
  author: versionFields.author.optional().meta({ description: ignored }),
});

// ----------------------------------------------------------------------------------------- preferences

export const channelConsentSchema = z.strictObject({
  optIn: z.boolean(),
  source: z.string().min(1).max(64).optional(),
  at: timestampSchema.optional(),
});

export const preferencesSchema = z.strictObject({
  channels: z.partialRecord(channelSchema, channelConsentSchema).default({}),
  topics: z
    .record(idSchema, z.boolean())
    .refine((t) => Object.keys(t).length <= 100, 'at most 100 topics')
    .default({}),
  preferredChannels: z.array(channelSchema).max(CHANNELS.length).optional(),
  maxPerWeek: z.int().min(0).max(1000).optional(),
  quietHours: quietHoursSchema.optional(),
  timezone: timeZoneSchema.optional(),
  pausedUntil: timestampSchema.optional(),
});
export type PreferencesInput = z.input<typeof preferencesSchema>;
export type Preferences = z.infer<typeof preferencesSchema>;

// ---------------------------------------------------------------------------------------------- events

export const EVENT_TYPES = [
  'delivered',
  'opened',
  'clicked',
  'unsubscribed',
  'complained',
  'bounced_hard',
] as const;
export const eventSchema = z.strictObject({
  eventId: idSchema.optional().meta({
    description: 'the event id, for idempotency; absent: messageId + type (or channel + type + at)',
  }),
  messageId: idSchema.optional(),
  customerId: idSchema,
  channel: channelSchema,
  type: z.enum(EVENT_TYPES),
  at: timestampSchema,
});
export type CustomerEvent = z.infer<typeof eventSchema>;
export const eventsSchema = z.array(eventSchema).min(1).max(500);

// ------------------------------------------------------------------------- what else the API answers

/** The audit trail's actions. */
export const AUDIT_ACTIONS = [
  'policy.replaced',
  'preferences.changed',
  'customer.erased',
  'key.created',
  'key.revoked',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const auditEntrySchema = z.object({
  id: z.string(),
  at: z.iso.datetime(),
  /** The key id of the caller (`admin` for the bootstrap key). */
  actor: z.string(),
  action: z.enum(AUDIT_ACTIONS),
  /** What was acted on: `policy:<version>`, `key:<id>`, `customer:<customerRef>`. */
  target: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/**
 * The delivery pipeline as an operator (and the console's overview) sees it: how many messages wait in
 * the delivery queue, are being delivered or wait out a retry delay, and how many were dead-lettered.
 * SQS's approximate counts: exact once the queue is idle, a few seconds behind under load.
 */
const queueCount = z.int().min(0);

export const queueDepthsSchema = z.object({
  delivery: z.object({
    visible: queueCount.describe('waiting to be delivered'),
    inFlight: queueCount.describe('received by dispatch, being delivered'),
    delayed: queueCount.describe('waiting out a retry delay'),
  }),
  deadLetter: z.object({ visible: queueCount.describe('dead-lettered deliveries waiting for an operator') }),
});
export type QueueDepths = z.infer<typeof queueDepthsSchema>;
