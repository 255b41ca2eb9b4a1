import { describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock } from '#shared/adapters/dynamodb/entry-codec.ts';
import {
  compact,
  DEFAULT_RELEASE_MARGIN_MS,
  emptyBase,
  type LogEntry,
  replay,
} from '#shared/domain/customer-log.ts';
import { messageStateOf } from '#shared/domain/message-status.ts';
import { policyDocumentSchema } from '#shared/domain/schemas.ts';
import {
  aPolicy,
  DAY,
  MINUTE,
  messageEntry,
  newsEntry,
  policies,
  preferencesEntry,
  releaseEntry,
  T0,
  verdictOf,
} from './builders.ts';

// One marketing message a minute; capped news messages roll into a digest of at most 5, within 1 hour.
const digestPolicy = (maxItems = 5, maxWait = 'PT1H') =>
  aPolicy({
    caps: [{ id: 'per-minute', limit: 1, window: 'PT1M' }],
    digests: [{ id: 'news', match: { category: 'news' }, maxItems, maxWait }],
  });
const lookup = policies(digestPolicy());
const news = newsEntry;

/** a is sent at T0; b…f (news, no expiry: a capped one would be dropped) come in the next seconds. */
const fiveCapped: LogEntry[] = [
  messageEntry(T0, { key: 'a' }),
  ...['b', 'c', 'd', 'e', 'f'].map((key, i) => news(T0 + (i + 1) * 1000, key)),
];

const digestRelease = (when: number, releaseAt = T0 + MINUTE, id = 'dg_b') =>
  releaseEntry(when, id, releaseAt);

describe('digests instead of drops', () => {
  it('defers capped messages of a digest rule into one digest delivered when the cap frees a slot', () => {
    const { state, results } = replay(emptyBase(), fiveCapped, lookup);

    for (const key of ['b', 'c', 'd', 'e', 'f'])
      expect(verdictOf(results, key)).toEqual({
        outcome: 'deferred',
        channel: 'email',
        releaseAt: T0 + MINUTE,
        reason: 'digest',
        rule: 'news',
        digestId: 'dg_b',
      });
    // One slot for the five: one send reserved at the digest's time, under its first item's key.
    expect(state.sends.filter((s) => s.at === T0 + MINUTE)).toEqual([
      expect.objectContaining({ key: 'b', channel: 'email', category: 'news' }),
    ]);
    expect(messageStateOf(state, 'd')).toMatchObject({
      status: 'deferred',
      releaseAt: T0 + MINUTE,
      rule: 'news',
      digestId: 'dg_b',
    });
  });

  it('leaves a capped message that matches no rule suppressed, and never digests consent or relevance refusals', () => {
    const strict = aPolicy({
      caps: [{ id: 'per-minute', limit: 1, window: 'PT1M' }],
      relevance: { default: 0.5 },
      digests: [{ id: 'news', match: { category: 'news' }, maxItems: 5, maxWait: 'PT1H' }],
    });
    const { results } = replay(
      emptyBase(),
      [
        messageEntry(T0, { key: 'a', relevance: 0.9 }),
        messageEntry(T0 + 1000, { key: 'promo', category: 'promo', relevance: 0.9 }),
        news(T0 + 2000, 'dull', { relevance: 0.1 }),
        preferencesEntry(T0 + 3000, { topics: { news: false } }),
        news(T0 + 4000, 'unwanted', { relevance: 0.9 }),
        messageEntry(T0 + 5000, { key: 'tx', kind: 'transactional', category: 'news' }),
      ],
      policies(strict),
    );
    expect(verdictOf(results, 'promo')).toMatchObject({ outcome: 'suppressed', reason: 'frequency_cap' });
    expect(verdictOf(results, 'dull')).toMatchObject({
      outcome: 'suppressed',
      reason: 'relevance_below_threshold',
    });
    expect(verdictOf(results, 'unwanted')).toMatchObject({
      outcome: 'suppressed',
      reason: 'topic_opted_out',
    });
    expect(verdictOf(results, 'tx')).toMatchObject({ outcome: 'accepted' });
  });

  it('gives every writer and every retry the same digest, through compaction and the stored item', () => {
    const first = replay(emptyBase(), fiveCapped, lookup);
    // A retry of c, appended later by another writer, gets c's first decision.
    const retried = replay(emptyBase(), [...fiveCapped, news(T0 + 9000, 'c')], lookup);
    const retry = retried.results.at(-1);
    expect(retry?.type === 'message' && retry.duplicate && retry.decided.verdict).toEqual(
      verdictOf(first.results, 'c'),
    );
    // A writer that reads the compacted, stored log decides the next news item into the same digest.
    const compacted = compact(first.state, T0 + 7000, { horizonMs: DAY, idempotencyMs: DAY });
    const stored = decodeBlock(encodeBlock(compacted.base, compacted.entries) ?? '');
    const again = replay(stored.base, [...stored.entries, news(T0 + 8000, 'g')], policies(digestPolicy(6)));
    expect(verdictOf(again.results, 'g')).toMatchObject({ reason: 'digest', digestId: 'dg_b' });
    for (const key of ['b', 'c', 'd', 'e', 'f'])
      expect(messageStateOf(again.state, key)).toEqual(messageStateOf(first.state, key));
  });

  it('opens a new digest at the next slot once one is full, and at its deadline past maxWait', () => {
    const twoAtMost = policies(digestPolicy(2, 'PT2M30S'));
    const { results } = replay(
      emptyBase(),
      [
        messageEntry(T0, { key: 'a' }),
        ...['b', 'c', 'd', 'e', 'f', 'g'].map((k, i) => news(T0 + (i + 1) * 1000, k)),
      ],
      twoAtMost,
    );
    expect(verdictOf(results, 'c')).toMatchObject({ digestId: 'dg_b', releaseAt: T0 + MINUTE });
    expect(verdictOf(results, 'd')).toMatchObject({ digestId: 'dg_d', releaseAt: T0 + 2 * MINUTE });
    expect(verdictOf(results, 'e')).toMatchObject({ digestId: 'dg_d' });
    // The next free slot (T0 + 3 min) is more than 2 min 30 s after f: its digest goes at the deadline.
    const deadline = T0 + 5000 + 2 * MINUTE + 30_000;
    expect(verdictOf(results, 'f')).toMatchObject({ digestId: 'dg_f', releaseAt: deadline });
    expect(verdictOf(results, 'g')).toMatchObject({ digestId: 'dg_f', releaseAt: deadline });
  });

  it('takes no item whose expiry comes before the digest is delivered (less the release margin)', () => {
    const soon = T0 + MINUTE + DEFAULT_RELEASE_MARGIN_MS; // at the margin: too late
    const { results } = replay(
      emptyBase(),
      [...fiveCapped.slice(0, 2), news(T0 + 3000, 'short', { expiresAt: soon })],
      lookup,
    );
    // It opens its own, due before its expiry less the margin.
    expect(verdictOf(results, 'short')).toMatchObject({ digestId: 'dg_short', releaseAt: T0 + MINUTE - 1 });
  });

  it('delivers the digest as one send at its release, its items in order, and counts it in the window', () => {
    const { state, results } = replay(
      emptyBase(),
      [...fiveCapped, digestRelease(T0 + MINUTE + 5000), news(T0 + MINUTE + 6000, 'late')],
      lookup,
    );
    const released = results.find((r) => r.type === 'release');
    expect(released).toMatchObject({ type: 'release', key: 'dg_b', stale: false });
    expect(released?.type === 'release' && !released.stale && released.digest).toEqual({
      id: 'dg_b',
      items: ['b', 'c', 'd', 'e', 'f'].map((key) => ({
        key,
        verdict: { outcome: 'accepted', channel: 'email' },
      })),
    });
    expect(messageStateOf(state, 'e')).toMatchObject({ status: 'queued' });
    // The digest was the minute's one send: the next news message opens the next digest.
    expect(verdictOf(results, 'late')).toMatchObject({ reason: 'digest', releaseAt: T0 + 2 * MINUTE });
    expect(state.sends.filter((s) => s.at === T0 + MINUTE)).toHaveLength(1);
    // A second release of the same digest (another run) decides nothing.
    const twice = replay(
      emptyBase(),
      [...fiveCapped, digestRelease(T0 + MINUTE), digestRelease(T0 + MINUTE)],
      lookup,
    );
    expect(twice.results.at(-1)).toMatchObject({ type: 'release', stale: true });
  });

  it('releases an item only with its digest, never alone', () => {
    const { results } = replay(
      emptyBase(),
      [...fiveCapped, releaseEntry(T0 + MINUTE, 'c', T0 + MINUTE)],
      lookup,
    );
    expect(results.at(-1)).toMatchObject({ type: 'release', key: 'c', stale: true });
  });

  it('applies the consent in force at delivery: opted-out items leave, none left suppresses the digest', () => {
    const anyEmail = aPolicy({
      caps: [{ id: 'per-minute', limit: 1, window: 'PT1M' }],
      digests: [{ id: 'mail', match: { channel: 'email' }, maxItems: 5, maxWait: 'PT1H' }],
    });
    const topicOut = replay(
      emptyBase(),
      [
        messageEntry(T0, { key: 'a' }),
        news(T0 + 1000, 'b'),
        messageEntry(T0 + 2000, { key: 'c', category: 'promo' }),
        preferencesEntry(T0 + 30_000, { topics: { promo: false } }),
        releaseEntry(T0 + MINUTE, 'dg_b', T0 + MINUTE),
      ],
      policies(anyEmail),
    );
    const delivered = topicOut.results.at(-1);
    expect(delivered).toMatchObject({ decided: { verdict: { outcome: 'accepted' } } });
    expect(delivered?.type === 'release' && !delivered.stale && delivered.digest?.items).toEqual([
      { key: 'b', verdict: { outcome: 'accepted', channel: 'email' } },
      { key: 'c', verdict: expect.objectContaining({ outcome: 'suppressed', reason: 'topic_opted_out' }) },
    ]);
    const optedOut = replay(
      emptyBase(),
      [
        ...fiveCapped,
        preferencesEntry(T0 + 30_000, { channels: { email: { optIn: false } } }),
        digestRelease(T0 + MINUTE),
      ],
      lookup,
    );
    const release = optedOut.results.at(-1);
    expect(release).toMatchObject({ decided: { verdict: { outcome: 'suppressed', reason: 'opted_out' } } });
    expect(messageStateOf(optedOut.state, 'b')).toMatchObject({ status: 'suppressed', reason: 'opted_out' });
    // The slot it reserved is free again.
    expect(optedOut.state.sends.filter((s) => s.at === T0 + MINUTE)).toEqual([]);
  });

  it('lets items that expired by the release leave the digest, and delivers the others', () => {
    const expiresAt = T0 + MINUTE + DEFAULT_RELEASE_MARGIN_MS + 1000;
    const { results, state } = replay(
      emptyBase(),
      [
        messageEntry(T0, { key: 'a' }),
        news(T0 + 1000, 'b'),
        news(T0 + 2000, 'brief', { expiresAt }),
        // The release runs late, after brief expired.
        digestRelease(expiresAt + 1000),
      ],
      lookup,
    );
    const release = results.at(-1);
    expect(release?.type === 'release' && !release.stale && release.digest?.items).toEqual([
      { key: 'b', verdict: { outcome: 'accepted', channel: 'email' } },
      { key: 'brief', verdict: expect.objectContaining({ outcome: 'suppressed', reason: 'expired' }) },
    ]);
    expect(messageStateOf(state, 'brief')).toMatchObject({ status: 'suppressed', reason: 'expired' });
  });

  it('never lets a more relevant message bump a digest item or its slot', () => {
    const { state, results } = replay(
      emptyBase(),
      [
        messageEntry(T0, { key: 'a', relevance: 0.5 }),
        news(T0 + 1000, 'b', { relevance: 0.1 }),
        messageEntry(T0 + 2000, { key: 'high', relevance: 0.9, expiresAt: T0 + DAY }),
      ],
      lookup,
    );
    expect(verdictOf(results, 'high')).toMatchObject({ outcome: 'deferred', releaseAt: T0 + 2 * MINUTE });
    expect(messageStateOf(state, 'b')).toMatchObject({ status: 'deferred', digestId: 'dg_b' });
  });

  it('withdraws a cancelled item from its digest, and frees the slot when the last one goes', () => {
    const cancel = (when: number, key: string): LogEntry => ({ type: 'cancel', at: when, key });
    const one = replay(
      emptyBase(),
      [...fiveCapped, cancel(T0 + 10_000, 'b'), digestRelease(T0 + MINUTE)],
      lookup,
    );
    const release = one.results.at(-1);
    expect(release?.type === 'release' && !release.stale && release.digest?.items.map((i) => i.key)).toEqual([
      'c',
      'd',
      'e',
      'f',
    ]);
    expect(messageStateOf(one.state, 'b')).toMatchObject({ status: 'suppressed', reason: 'cancelled' });
    // The first item gone, the digest's slot (counted under its key) stays while the others wait.
    const withoutFirst = replay(emptyBase(), [...fiveCapped, cancel(T0 + 10_000, 'b')], lookup).state;
    expect(withoutFirst.sends.filter((s) => s.at === T0 + MINUTE)).toHaveLength(1);
    const all = replay(
      emptyBase(),
      [
        messageEntry(T0, { key: 'a' }),
        news(T0 + 1000, 'b'),
        cancel(T0 + 2000, 'b'),
        messageEntry(T0 + MINUTE - 1, { key: 'x' }),
      ],
      lookup,
    );
    expect(all.state.sends.filter((s) => s.at === T0 + MINUTE)).toEqual([]);
  });
});

describe('the digests policy section', () => {
  const doc = (digests: unknown) => ({
    channelCosts: { email: 0, sms: 0, push: 0, whatsapp: 0, currency: 'EUR' },
    digests,
  });
  it('accepts rules with unique ids, 2 to 20 items and an ISO duration', () => {
    expect(
      policyDocumentSchema.safeParse(
        doc([{ id: 'news', match: { channel: 'email' }, maxItems: 20, maxWait: 'PT6H' }]),
      ).success,
    ).toBe(true);
  });
  it.each([
    [
      'a duplicate id',
      [
        { id: 'n', maxItems: 2, maxWait: 'PT1H' },
        { id: 'n', maxItems: 3, maxWait: 'PT1H' },
      ],
    ],
    ['one item', [{ id: 'n', maxItems: 1, maxWait: 'PT1H' }]],
    ['too many items', [{ id: 'n', maxItems: 21, maxWait: 'PT1H' }]],
    ['a malformed wait', [{ id: 'n', maxItems: 2, maxWait: '1 hour' }]],
    ['an unknown match field', [{ id: 'n', match: { kind: 'marketing' }, maxItems: 2, maxWait: 'PT1H' }]],
  ])('refuses %s', (_, digests) => {
    expect(policyDocumentSchema.safeParse(doc(digests)).success).toBe(false);
  });
  it('bounds maxWait like the other durations', () => {
    expect(
      policyDocumentSchema.safeParse(doc([{ id: 'n', maxItems: 2, maxWait: `PT${91 * 24}H` }])).success,
    ).toBe(false);
  });
});
