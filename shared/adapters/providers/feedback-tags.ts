/**
 * How a message sent through a provider names itself, so that the provider's events about it (a
 * delivery, an open, a bounce) can be given back to its customer without a lookup table: the message
 * and customer ids ride with the message, as base64url (the characters SES message tags accept:
 * letters, digits, `_` and `-`; an id of 128 characters takes 172). Customer ids are opaque (Governor
 * stores no PII), so the tag carries nothing the event itself would not name; the provider's events
 * carry the address as well, which the events function reads past and never stores.
 */

/** The tag naming Governor's messageId. */
export const MESSAGE_TAG = 'governor-message';
/** The tag naming the customerId as Governor knows it. */
export const CUSTOMER_TAG = 'governor-customer';

const BASE64URL = /^[A-Za-z0-9_-]{1,256}$/;

export const encodeTag = (id: string): string => Buffer.from(id, 'utf8').toString('base64url');

/** The id a tag value names; undefined when it is not one encodeTag wrote. */
export function decodeTag(value: string | undefined): string | undefined {
  if (value === undefined || !BASE64URL.test(value)) return undefined;
  const id = Buffer.from(value, 'base64url').toString('utf8');
  return encodeTag(id) === value ? id : undefined;
}

export interface NamedMessage {
  messageId: string;
  customerId: string;
}

/** The name/value pairs that name a message. */
export function namingTags(message: NamedMessage): { name: string; value: string }[] {
  return [
    { name: MESSAGE_TAG, value: encodeTag(message.messageId) },
    { name: CUSTOMER_TAG, value: encodeTag(message.customerId) },
  ];
}

/** The message a provider event's tags name (`{name: value}` or `{name: [value]}`), if they name one. */
export function namedBy(tags: Readonly<Record<string, unknown>> | undefined): NamedMessage | undefined {
  if (!tags) return undefined;
  const first = (name: string) => {
    const v = tags[name];
    return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
  };
  const messageId = decodeTag(first(MESSAGE_TAG));
  const customerId = decodeTag(first(CUSTOMER_TAG));
  return messageId !== undefined && customerId !== undefined ? { messageId, customerId } : undefined;
}
