import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyedHash, MissingSecretError } from '#shared/app/keyed-hash.ts';
import { MESSAGE_KEY_LENGTH } from '#shared/domain/message-facts.ts';

const SECRET = 'unit-test-hash-secret-0123456789abcdef';

describe('keyed hashes', () => {
  it('are HMAC-SHA-256 under the secret of the purpose, a NUL and the id', () => {
    // Prepare
    const hashes = new KeyedHash(SECRET);
    const expected = createHmac('sha256', SECRET).update('audit\0c-42').digest('base64url');

    // Act
    const ref = hashes.of('audit', 'c-42');

    // Assess
    expect(ref).toBe(expected.slice(0, 22));
  });

  it('are the HMAC of every input, long, short or not ASCII, one after another', () => {
    // Prepare: a long id (beyond the room first set aside), then shorter ones, multi-byte characters
    const hashes = new KeyedHash(SECRET);
    const ids = ['x'.repeat(1000), 'c-1', 'é'.repeat(300), '', 'ü-🙂', 'y'.repeat(5000), 'c-1'];

    // Act
    const refs = ids.map((id) => hashes.of('message', id, 43));

    // Assess
    expect(refs).toEqual(
      ids.map((id) => createHmac('sha256', SECRET).update(`message\0${id}`).digest('base64url')),
    );
  });

  it('differ from one purpose to another and from one secret to another', () => {
    const a = new KeyedHash(SECRET);
    const b = new KeyedHash(`${SECRET}-other`);

    expect(a.of('audit', 'c-42')).not.toBe(a.of('erasure', 'c-42'));
    expect(a.of('audit', 'c-42')).not.toBe(b.of('audit', 'c-42'));
    expect(a.messageKey('m-1')).not.toBe(b.messageKey('m-1'));
  });

  it('make message keys of 66 bits, the same for the same messageId', () => {
    const hashes = new KeyedHash(SECRET);

    expect(hashes.messageKey('m-1')).toMatch(new RegExp(`^[A-Za-z0-9_-]{${MESSAGE_KEY_LENGTH}}$`));
    expect(MESSAGE_KEY_LENGTH * 6).toBe(66);
    expect(hashes.messageKey('m-1')).toBe(new KeyedHash(SECRET).messageKey('m-1'));
  });

  it('refuse to start without a secret of 32 characters, saying which variables to set', async () => {
    await expect(new KeyedHash(undefined).ready()).rejects.toThrow(
      /GOVERNOR_HASH_SECRET.*GOVERNOR_HASH_SECRET_ARN/,
    );
    expect(() => new KeyedHash('too-short')).toThrow(MissingSecretError);
    expect(() => new KeyedHash(undefined).of('audit', 'x')).toThrow(/not loaded/);
  });

  it('read a secret from its source once, when asked to get ready', async () => {
    // Prepare
    let reads = 0;
    const hashes = new KeyedHash(async () => {
      reads++;
      return SECRET;
    });

    // Act
    await Promise.all([hashes.ready(), hashes.ready()]);
    await hashes.ready();

    // Assess
    expect(reads).toBe(1);
    expect(hashes.of('audit', 'c-42')).toBe(new KeyedHash(SECRET).of('audit', 'c-42'));
  });
});
