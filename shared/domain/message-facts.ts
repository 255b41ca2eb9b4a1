/**
 * What the decision knows of a message: its facts, named in its customer's log by a keyed hash of its
 * id. The hash needs the deployment's secret, which the domain never sees: the caller passes the keyed
 * hash in (shared/app/keyed-hash.ts gives one per purpose), so these mappings stay pure.
 */
import type { MessageFacts } from './decision.ts';
import type { Message } from './schemas.ts';

/** A keyed hash of `text` for one purpose, `chars` base64url characters long. */
export type Hasher = (text: string, chars: number) => string;

/** 11 base64url characters: 66 bits (the collision figures are in shared/app/keyed-hash.ts). */
export const MESSAGE_KEY_LENGTH = 11;

/** A message's idempotency key in its customer's log: the message hasher's hash of its id. */
export const messageKey = (messageId: string, hash: Hasher): string => hash(messageId, MESSAGE_KEY_LENGTH);

/** The facts the decision reads of a message, its times as epoch milliseconds. */
export function factsOf(message: Message, hash: Hasher): MessageFacts {
  return {
    key: messageKey(message.messageId, hash),
    channel: message.channel,
    kind: message.kind,
    category: message.category,
    campaignId: message.campaignId,
    relevance: message.relevance,
    notBefore: message.notBefore === undefined ? undefined : Date.parse(message.notBefore),
    expiresAt: message.expiresAt === undefined ? undefined : Date.parse(message.expiresAt),
    alternateChannels: message.alternateChannels,
  };
}
