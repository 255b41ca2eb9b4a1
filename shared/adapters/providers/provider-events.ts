/**
 * The providers' own events, as they reach the events function's queue (SNS → SQS), turned into the
 * events `POST /v1/events` takes. Amazon SES event publishing (a configuration set's event destination):
 * Delivery → delivered, Open → opened, Click → clicked, a Permanent Bounce → bounced_hard, Complaint →
 * complained. AWS End User Messaging SMS (a configuration set's event destination): TEXT_DELIVERED →
 * delivered. The message and its customer are read from the tags the send put on the message
 * (feedback-tags.ts), never from the address or number the event also carries, which is read past.
 *
 * The event id is the provider's: SES's message id, the event type and its time (a bounce's or a
 * complaint's feedback id), the SMS's message id and event type; a redelivered record names the same
 * event, which the customer's log counts once.
 *
 * What cannot be named (another event type, a transient bounce, a message sent without the tags, a body
 * that is not JSON) is ignored, with the reason: the caller counts and logs it and never retries it.
 */
import { createHash } from 'node:crypto';
import { type CustomerEvent, eventSchema } from '../../domain/schemas.ts';
import { namedBy } from './feedback-tags.ts';

export type ProviderEventOutcome = { ok: true; event: CustomerEvent } | { ok: false; ignored: IgnoredReason };

export type IgnoredReason =
  /** Not JSON, or not an SES or SMS event. */
  | 'malformed'
  /** An event type Governor does not learn from (Send, Reject, DeliveryDelay, a transient bounce…). */
  | 'not_feedback'
  /** Its message carries no tags naming a Governor message (sent some other way). */
  | 'unnamed';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** The provider's event inside an SQS body: an SNS notification's Message, or the event itself (raw delivery). */
function unwrap(body: string): Json | undefined {
  const outer = parse(body);
  if (!isObject(outer)) return undefined;
  if (outer.Type === 'Notification' && typeof outer.Message === 'string') {
    const inner = parse(outer.Message);
    return isObject(inner) ? inner : undefined;
  }
  return outer;
}

/** Event ids fit the events API's (≤ 128 characters): a longer provider id is shortened by a digest. */
function eventIdOf(parts: string[]): string {
  const id = parts.join(':');
  return id.length <= 128 ? id : `sha256:${createHash('sha256').update(id).digest('base64url')}`;
}

const SES_TYPES: Readonly<Record<string, { type: CustomerEvent['type']; detail: string }>> = {
  Delivery: { type: 'delivered', detail: 'delivery' },
  Open: { type: 'opened', detail: 'open' },
  Click: { type: 'clicked', detail: 'click' },
  Bounce: { type: 'bounced_hard', detail: 'bounce' },
  Complaint: { type: 'complained', detail: 'complaint' },
};

function fromSes(ses: Json): ProviderEventOutcome {
  const mail = ses.mail;
  const eventType = text(ses.eventType);
  if (!isObject(mail) || !eventType) return { ok: false, ignored: 'malformed' };
  const known = SES_TYPES[eventType];
  if (!known) return { ok: false, ignored: 'not_feedback' };
  const detail = isObject(ses[known.detail]) ? (ses[known.detail] as Json) : {};
  // A transient or undetermined bounce says nothing lasting about the address; a "not-spam" report
  // withdraws a complaint rather than making one.
  if (eventType === 'Bounce' && detail.bounceType !== 'Permanent')
    return { ok: false, ignored: 'not_feedback' };
  if (eventType === 'Complaint' && detail.complaintFeedbackType === 'not-spam')
    return { ok: false, ignored: 'not_feedback' };
  const named = namedBy(isObject(mail.tags) ? mail.tags : undefined);
  if (!named) return { ok: false, ignored: 'unnamed' };
  const at = text(detail.timestamp) ?? text(mail.timestamp);
  const sesMessageId = text(mail.messageId);
  if (!at || !sesMessageId) return { ok: false, ignored: 'malformed' };
  const feedbackId = text(detail.feedbackId);
  return checked({
    eventId: eventIdOf(feedbackId ? ['ses', feedbackId] : ['ses', sesMessageId, eventType, at]),
    messageId: named.messageId,
    customerId: named.customerId,
    channel: 'email',
    type: known.type,
    at,
  });
}

/** The End User Messaging SMS events Governor learns from (and the only ones its configuration set publishes). */
export const SMS_FEEDBACK_EVENTS: readonly string[] = ['TEXT_DELIVERED'];

function fromSms(sms: Json): ProviderEventOutcome {
  const eventType = text(sms.eventType);
  if (!eventType) return { ok: false, ignored: 'malformed' };
  if (!SMS_FEEDBACK_EVENTS.includes(eventType)) return { ok: false, ignored: 'not_feedback' };
  const named = namedBy(isObject(sms.context) ? sms.context : undefined);
  if (!named) return { ok: false, ignored: 'unnamed' };
  const smsMessageId = text(sms.messageId);
  const timestamp = sms.eventTimestamp;
  if (!smsMessageId || typeof timestamp !== 'number' || !Number.isFinite(timestamp))
    return { ok: false, ignored: 'malformed' };
  return checked({
    eventId: eventIdOf(['sms', smsMessageId, eventType]),
    messageId: named.messageId,
    customerId: named.customerId,
    channel: 'sms',
    type: 'delivered',
    at: new Date(timestamp).toISOString(),
  });
}

/** The event as the events API would take it, or malformed (an id or a time the API would refuse). */
function checked(event: CustomerEvent): ProviderEventOutcome {
  const parsed = eventSchema.safeParse(event);
  return parsed.success ? { ok: true, event: parsed.data } : { ok: false, ignored: 'malformed' };
}

/** The event one SQS record's body names, or why it names none. */
export function providerEventOf(body: string): ProviderEventOutcome {
  const event = unwrap(body);
  if (!event) return { ok: false, ignored: 'malformed' };
  if ('mail' in event) return fromSes(event);
  if ('eventVersion' in event && 'messageId' in event) return fromSms(event);
  return { ok: false, ignored: 'malformed' };
}
