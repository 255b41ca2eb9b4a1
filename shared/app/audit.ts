/**
 * The audit trail: who (the key id) did what, and when — policy changes, preference changes with their
 * consent source, erasures, key creation and revocation. Entries never hold payloads, and name a
 * customer only by a one-way reference (`customerRef`), so that an erased customer leaves no id behind;
 * they expire after AUDIT_RETENTION_DAYS.
 */
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import type { AuditAction, AuditEntry, Preferences } from '../domain/schemas.ts';
import { ValidationError } from '../errors.ts';
import type { AuditPosition, AuditStore, Clock } from '../ports.ts';
import type { KeyedHash } from './keyed-hash.ts';

export const AUDIT_RETENTION_DAYS = 400;
/** At most this many days per `GET /v1/audit` call. */
export const MAX_AUDIT_DAYS = 31;

/** What the application services record through. */
export interface AuditRecorder {
  record(
    actor: string,
    action: AuditAction,
    target: string,
    details?: Record<string, unknown>,
  ): Promise<AuditEntry>;
}

/**
 * The customer as the audit trail names it: a keyed hash of the opaque id (HMAC-SHA-256 under the
 * deployment's secret, purpose `audit`), 132 bits. Without the secret the trail names nobody, not even
 * to whoever holds a list of customer ids; with it, an operator can find a customer's entries.
 */
export const customerRef = (hashes: KeyedHash, customerId: string) =>
  `customer:${hashes.of('audit', customerId)}`;

export class AuditLog implements AuditRecorder {
  constructor(
    private readonly store: AuditStore,
    private readonly clock: Clock,
  ) {}

  async record(
    actor: string,
    action: AuditAction,
    target: string,
    details?: Record<string, unknown>,
  ): Promise<AuditEntry> {
    const now = this.clock.now();
    const entry: AuditEntry = {
      id: randomBytes(6).toString('hex'),
      at: new Date(now).toISOString(),
      actor,
      action,
      target,
      ...(details ? { details } : {}),
    };
    await this.store.put(entry, Math.floor(now / 1000) + AUDIT_RETENTION_DAYS * 86_400);
    return entry;
  }

  async list(query: AuditQuery): Promise<{ entries: AuditEntry[]; nextCursor?: string }> {
    const page = await this.store.list(query.from, query.to, query.limit, query.cursor);
    return { entries: page.entries, ...(page.next ? { nextCursor: encodeCursor(page.next) } : {}) };
  }
}

// ------------------------------------------------------------------------------------------ the query

const cursorSchema = z.strictObject({ day: z.iso.date(), after: z.string().max(200) });

function encodeCursor(position: AuditPosition): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): AuditPosition | undefined {
  try {
    const parsed = cursorSchema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const DAY_MS = 86_400_000;

export const auditQuerySchema = z
  .strictObject({
    from: z.iso.date(),
    to: z.iso.date(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z
      .string()
      .max(400)
      .optional()
      .transform((cursor, ctx) => {
        if (cursor === undefined) return undefined;
        const position = decodeCursor(cursor);
        if (!position) ctx.addIssue({ code: 'custom', message: 'is not a cursor this API returned' });
        return position;
      }),
  })
  .refine((q) => q.from <= q.to, { message: 'from must not be after to', path: ['from'] })
  .refine((q) => (Date.parse(q.to) - Date.parse(q.from)) / DAY_MS < MAX_AUDIT_DAYS, {
    message: `the period is at most ${MAX_AUDIT_DAYS} days`,
    path: ['to'],
  })
  .refine((q) => !q.cursor || (q.cursor.day >= q.from && q.cursor.day <= q.to), {
    message: 'the cursor belongs to another period',
    path: ['cursor'],
  });
export type AuditQuery = z.infer<typeof auditQuerySchema>;

export function parseAuditQuery(query: unknown): AuditQuery {
  const parsed = auditQuerySchema.safeParse(query ?? {});
  if (!parsed.success) {
    throw new ValidationError(
      'the query is not valid',
      parsed.error.issues.map((issue) => ({
        path: issue.path.map(String).join('.') || '(query)',
        message: issue.message,
      })),
    );
  }
  return parsed.data;
}

// ------------------------------------------------------------------------------- preference changes

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * What a preference change changed, for the audit trail: each channel consent that changed with its
 * new value, source and time (null: removed), each topic that changed, and the names of the other
 * fields that changed (not their values: the trail needs the fact, not more data about the customer).
 */
export function preferencesChange(before: Preferences, after: Preferences): Record<string, unknown> {
  const channels = new Map<string, unknown>();
  for (const channel of new Set([...Object.keys(before.channels), ...Object.keys(after.channels)])) {
    const was = Object.hasOwn(before.channels, channel) ? before.channels[channel as 'email'] : undefined;
    const now = Object.hasOwn(after.channels, channel) ? after.channels[channel as 'email'] : undefined;
    if (!same(was, now)) channels.set(channel, now ?? null);
  }
  const topics = new Map<string, boolean | null>();
  for (const topic of new Set([...Object.keys(before.topics), ...Object.keys(after.topics)])) {
    const was = Object.hasOwn(before.topics, topic) ? before.topics[topic] : undefined;
    const now = Object.hasOwn(after.topics, topic) ? after.topics[topic] : undefined;
    if (was !== now) topics.set(topic, now ?? null);
  }
  const fields = (
    ['preferredChannels', 'maxPerWeek', 'quietHours', 'timezone', 'pausedUntil'] as const
  ).filter((field) => !same(before[field], after[field]));
  return {
    ...(channels.size > 0 ? { channels: Object.fromEntries(channels) } : {}),
    ...(topics.size > 0 ? { topics: Object.fromEntries(topics) } : {}),
    ...(fields.length > 0 ? { fields } : {}),
  };
}
