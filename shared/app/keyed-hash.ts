/**
 * Keyed hashes of identifiers: HMAC-SHA-256 under the deployment's secret (GOVERNOR_HASH_SECRET, or the
 * Secrets Manager secret GOVERNOR_HASH_SECRET_ARN names, read once at cold start), one purpose label per
 * use, `HMAC(secret, purpose + "\0" + id)`, so that a value derived for one use says nothing about
 * another. Without the secret nobody can compute them: a dictionary of customer ids does not reverse an
 * audit reference, and colliding message ids cannot be searched for offline.
 *
 * Message keys are 66 bits (11 base64url characters). A messageId is unique per customer (the key
 * lives in that customer's log only), so a collision needs two messages of one customer while both are
 * remembered. A log remembers at most M = 263 messages (the last 100, the 100 sends it keeps, the 63 raw
 * entries before a compaction; README: the idempotency guarantee), so a new message meets one of their
 * keys with probability at most M / 2^66 ≈ 3.6e-18. At 10 M customers and 1,400 decisions a second all
 * year (4.4e10 decisions), the expected number of collisions in a year is at most 4.4e10 × 3.6e-18 ≈
 * 1.6e-7 — one in six million years — and with the ordinary customer's thirty-odd remembered messages
 * eight times less. Without the secret, nobody can search for colliding ids (a 48-bit unkeyed prefix
 * falls to a birthday search in a minute).
 */
import { hash } from 'node:crypto';
import { type Hasher, messageKey } from '../domain/message-facts.ts';

/** What a keyed hash is for: each purpose gives unrelated values for the same input. */
export type HashPurpose =
  /** The idempotency key of a message in its customer's log. */
  | 'message'
  /** How the audit trail names a customer (kept 400 days). */
  | 'audit'
  /** The ids of the anonymous counts an erasure leaves (tally items). */
  | 'archive'
  /** The erasure marker dispatch reads before delivering. */
  | 'erasure'
  /** The decision archive's pseudonym of a customer (with the salt of its record). */
  | 'pseudonym'
  /** The decision archive's reference of a message (with the salt of its customer's record). */
  | 'archive-ref'
  /** An engagement event's id in its customer's log (idempotency of POST /v1/events). */
  | 'event'
  /** A customer's assignment to the arms of a holdout experiment (with the experiment's salt). */
  | 'experiment';

/** The secret itself, a function that fetches it (once), or nothing (refused at `ready`). */
export type SecretSource = string | (() => Promise<string | undefined>) | undefined;

export const MIN_SECRET_LENGTH = 32;

export class MissingSecretError extends Error {
  override readonly name = 'MissingSecretError';
}

/** SHA-256's block: HMAC pads its key to it. */
const BLOCK = 64;

/** SHA-256's digest. */
const DIGEST = 32;

/**
 * HMAC-SHA-256 as RFC 2104 defines it, H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)), with the padded keys
 * computed once: two one-shot hashes a call instead of an HMAC object (it runs three times for every
 * decision), over buffers that hold the padded keys already, so that a call allocates only its
 * digests (no concatenation): the message is written after the inner key, the inner digest after the
 * outer key. Synchronous, so one pair of buffers serves every call.
 */
class Hmac {
  /** K ⊕ ipad, then room for the message (grown for a longer one). */
  private inner: Buffer;
  /** K ⊕ opad, then the inner digest. */
  private readonly outer: Buffer;
  constructor(secret: Buffer) {
    const key = secret.length > BLOCK ? hash('sha256', secret, 'buffer') : secret;
    this.inner = Buffer.alloc(BLOCK + 256, 0x36);
    this.outer = Buffer.alloc(BLOCK + DIGEST, 0x5c);
    for (let i = 0; i < key.length; i++) {
      this.inner[i] = (this.inner[i] as number) ^ (key[i] as number);
      this.outer[i] = (this.outer[i] as number) ^ (key[i] as number);
    }
  }
  digest(text: string): string {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (BLOCK + bytes > this.inner.length) {
      const grown = Buffer.alloc(BLOCK + 2 * bytes);
      this.inner.copy(grown, 0, 0, BLOCK);
      this.inner = grown;
    }
    this.inner.write(text, BLOCK, 'utf8');
    const inner = hash('sha256', this.inner.subarray(0, BLOCK + bytes), 'buffer');
    inner.copy(this.outer, BLOCK);
    return hash('sha256', this.outer, 'base64url');
  }
}

export class KeyedHash {
  private secret: Hmac | undefined;
  private loading: Promise<this> | undefined;

  constructor(private readonly source: SecretSource) {
    if (typeof source === 'string') this.secret = new Hmac(KeyedHash.check(source));
  }

  private static check(secret: string | undefined): Buffer {
    if (secret === undefined || secret.length < MIN_SECRET_LENGTH) {
      throw new MissingSecretError(
        `the hash secret is ${secret === undefined ? 'not set' : 'too short'}: set GOVERNOR_HASH_SECRET ` +
          `(${MIN_SECRET_LENGTH}+ characters) or GOVERNOR_HASH_SECRET_ARN (a Secrets Manager secret); every ` +
          'idempotency key, audit reference and erasure record is keyed by it',
      );
    }
    return Buffer.from(secret, 'utf8');
  }

  /** Loads the secret (once); rejects with a clear message when there is none. */
  ready(): Promise<this> {
    if (this.secret) return Promise.resolve(this);
    this.loading ??= (async () => {
      const source = this.source;
      this.secret = new Hmac(KeyedHash.check(typeof source === 'function' ? await source() : source));
      return this;
    })();
    return this.loading;
  }

  /** HMAC-SHA-256(secret, purpose + "\0" + text), base64url, `chars` long (at most 43). */
  of(purpose: HashPurpose, text: string, chars = 22): string {
    if (!this.secret) throw new MissingSecretError('the hash secret is not loaded yet: await ready() first');
    return this.secret.digest(`${purpose}\0${text}`).slice(0, chars);
  }

  /** The keyed hash of one purpose, as the domain's mappings take it (domain/message-facts.ts). */
  hasher(purpose: HashPurpose): Hasher {
    return (text, chars) => this.of(purpose, text, chars);
  }

  /** A message's idempotency key in its customer's log (domain/message-facts.ts). */
  messageKey(messageId: string): string {
    return messageKey(messageId, this.messages);
  }

  private readonly messages = this.hasher('message');
}
