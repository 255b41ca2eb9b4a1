/**
 * What the decision knows of a message (shared/domain/message-facts.ts): its facts, its times as epoch
 * milliseconds, and its key in the customer's log: the message hasher's hash of its id, 11 characters.
 */
import { describe, expect, it } from 'vitest';
import { factsOf, type Hasher, MESSAGE_KEY_LENGTH, messageKey } from '#shared/domain/message-facts.ts';
import { messageSchema } from '#shared/domain/schemas.ts';

/** A hasher that shows what it was asked: the text and the length, so the key's origin can be read. */
const hasher: Hasher = (text, chars) => `${text}/${chars}`;

describe('messageKey', () => {
  it("is the hasher's hash of the messageId, 11 characters long", () => {
    expect(MESSAGE_KEY_LENGTH).toBe(11);
    expect(messageKey('bf-000123', hasher)).toBe('bf-000123/11');
  });
});

describe('factsOf', () => {
  it('reads every fact of a message, its times in epoch milliseconds', () => {
    const message = messageSchema.parse({
      messageId: 'bf-000123',
      customerId: 'c-1',
      channel: 'sms',
      kind: 'marketing',
      category: 'promotions',
      campaignId: 'black-friday',
      relevance: 0.72,
      notBefore: '2026-11-27T08:00:00Z',
      expiresAt: '2026-11-29T08:00:00Z',
      alternateChannels: ['push', 'email'],
      payload: {},
    });

    expect(factsOf(message, hasher)).toStrictEqual({
      key: 'bf-000123/11',
      channel: 'sms',
      kind: 'marketing',
      category: 'promotions',
      campaignId: 'black-friday',
      relevance: 0.72,
      notBefore: Date.UTC(2026, 10, 27, 8),
      expiresAt: Date.UTC(2026, 10, 29, 8),
      alternateChannels: ['push', 'email'],
    });
  });

  it('leaves the times a message does not give undefined, never the epoch', () => {
    const message = messageSchema.parse({ messageId: 'm', customerId: 'c', channel: 'email', payload: {} });

    const facts = factsOf(message, hasher);

    expect(facts.notBefore).toBeUndefined();
    expect(facts.expiresAt).toBeUndefined();
    expect(facts).toMatchObject({ key: 'm/11', channel: 'email', kind: message.kind });
  });
});
