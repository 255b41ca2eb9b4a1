/**
 * Which message a digest takes, which digest it joins, when it opens one of its own or stays
 * suppressed, and what an item's delivery checks at the digest's release (shared/domain/digests.ts).
 */
import { describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock } from '#shared/adapters/dynamodb/entry-codec.ts';
import {
  compact,
  DEFAULT_RELEASE_MARGIN_MS,
  emptyBase,
  type LogEntry,
  replay,
} from '#shared/domain/customer-log.ts';
import { digestRuleFor, pastCaps } from '#shared/domain/digests.ts';
import { forCustomer } from '#shared/domain/experiments.ts';
import {
  aPolicy,
  aSend,
  aView,
  compiled,
  DAY,
  facts,
  HOUR,
  MINUTE,
  messageEntry,
  newsEntry,
  policies,
  releasedOf,
  releaseEntry,
  T0,
  verdictOf,
} from './builders.ts';

const news = newsEntry;
const newsRule = { id: 'news', match: { category: 'news' }, maxItems: 5, maxWait: 'PT1H' };
// One marketing message a minute, or one a day; capped news messages roll into a digest.
const perMinute = (more: Parameters<typeof aPolicy>[0] = {}, version = 1) =>
  aPolicy({ caps: [{ id: 'per-minute', limit: 1, window: 'PT1M' }], digests: [newsRule], ...more }, version);
const daily = (more: Parameters<typeof aPolicy>[0] = {}) =>
  aPolicy({ caps: [{ id: 'daily', limit: 1, window: 'P1D' }], digests: [newsRule], ...more });

const released = releasedOf;
/** The digest b opens under `daily`, a having taken the day's slot at T0: forced at its deadline. */
const DEADLINE = T0 + 1000 + HOUR;

describe('the digest rule a message matches', () => {
  const rules = compiled({
    digests: [
      { id: 'texts', match: { channel: 'sms' }, maxItems: 5, maxWait: 'PT1H' },
      { id: 'spring', match: { campaignId: 'spring' }, maxItems: 5, maxWait: 'PT1H' },
      { id: 'news', match: { category: 'news' }, maxItems: 5, maxWait: 'PT1H' },
    ],
  });
  const ruleOf = (overrides: Parameters<typeof facts>[0]) => digestRuleFor(rules, facts(overrides), T0)?.id;

  it('matches a rule by channel, the message’s own or an alternate it may take', () => {
    expect(ruleOf({ channel: 'sms' })).toBe('texts');
    expect(ruleOf({ channel: 'email', alternateChannels: ['sms'] })).toBe('texts');
    expect(ruleOf({ channel: 'email', alternateChannels: ['push'] })).toBeUndefined();
  });

  it('matches a rule by campaign only for that campaign’s messages', () => {
    expect(ruleOf({ campaignId: 'spring' })).toBe('spring');
    expect(ruleOf({ campaignId: 'autumn' })).toBeUndefined();
  });

  it('lets a rule without a campaign take messages of any campaign, the first rule that fits winning', () => {
    expect(ruleOf({ category: 'news', campaignId: 'autumn' })).toBe('news');
    expect(ruleOf({ category: 'news', campaignId: 'spring' })).toBe('spring');
  });

  it('matches no transactional message', () => {
    expect(ruleOf({ channel: 'sms', kind: 'transactional' })).toBeUndefined();
  });
});

describe('which messages a digest takes', () => {
  it('digests a message refused for a minimum gap, as one refused for a cap', () => {
    // Prepare: ten minutes between two marketing messages
    const gap = aPolicy({ caps: [{ id: 'gap', minGap: 'PT10M' }], digests: [newsRule] });

    // Act
    const { results } = replay(
      emptyBase(),
      [messageEntry(T0, { key: 'a' }), news(T0 + 1000, 'b')],
      policies(gap),
    );

    // Assess
    expect(verdictOf(results, 'b')).toEqual({
      outcome: 'deferred',
      channel: 'email',
      releaseAt: T0 + 10 * MINUTE,
      reason: 'digest',
      rule: 'news',
      digestId: 'dg_b',
    });
  });

  it('defers, as without digests, a capped message whose expiry a later slot meets', () => {
    // Act
    const { results } = replay(
      emptyBase(),
      [messageEntry(T0, { key: 'a' }), news(T0 + 1000, 'b', { expiresAt: T0 + DAY })],
      policies(perMinute()),
    );

    // Assess
    expect(verdictOf(results, 'b')).toEqual({
      outcome: 'deferred',
      channel: 'email',
      releaseAt: T0 + MINUTE,
      reason: 'frequency_cap',
      rule: 'per-minute',
    });
  });

  it('joins only a digest of its own rule', () => {
    // Prepare: news and promotions each have their digest rule
    const two = perMinute({
      digests: [newsRule, { id: 'promo', match: { category: 'promo' }, maxItems: 5, maxWait: 'PT1H' }],
    });

    // Act
    const { results } = replay(
      emptyBase(),
      [
        messageEntry(T0, { key: 'a' }),
        news(T0 + 1000, 'b'),
        messageEntry(T0 + 2000, { key: 'p', category: 'promo' }),
      ],
      policies(two),
    );

    // Assess: p opens the promotions' digest, at the next minute b's digest leaves free
    expect(verdictOf(results, 'b')).toMatchObject({ rule: 'news', digestId: 'dg_b', releaseAt: T0 + MINUTE });
    expect(verdictOf(results, 'p')).toMatchObject({
      rule: 'promo',
      digestId: 'dg_p',
      releaseAt: T0 + 2 * MINUTE,
    });
  });

  it('joins no digest whose delivery time has come, even before its release has run', () => {
    // Act: c comes at the moment b's digest is due, before the release entry
    const { results } = replay(
      emptyBase(),
      [messageEntry(T0, { key: 'a' }), news(T0 + 1000, 'b'), news(T0 + MINUTE, 'c')],
      policies(perMinute()),
    );

    // Assess
    expect(verdictOf(results, 'c')).toMatchObject({ reason: 'digest', digestId: 'dg_c' });
  });

  it('joins a digest delivered at or after the message’s notBefore, and no earlier one', () => {
    // Act: c may go from the digest's delivery on; d only an hour after it
    const { results } = replay(
      emptyBase(),
      [
        messageEntry(T0, { key: 'a' }),
        news(T0 + 1000, 'b'),
        news(T0 + 2000, 'c', { notBefore: DEADLINE }),
        news(T0 + 3000, 'd', { notBefore: DEADLINE + HOUR }),
      ],
      policies(daily()),
    );

    // Assess: d's own digest, due within the hour, would come before its notBefore too
    expect(verdictOf(results, 'c')).toMatchObject({ digestId: 'dg_b', releaseAt: DEADLINE });
    expect(verdictOf(results, 'd')).toEqual({
      outcome: 'suppressed',
      channel: 'email',
      reason: 'frequency_cap',
      rule: 'daily',
    });
  });

  it('opens the digest of a channel’s rule on that channel, which the message may take as an alternate', () => {
    // Prepare: every channel capped at one a minute; the digest rule is e-mail's
    const mail = perMinute({
      digests: [{ id: 'mail', match: { channel: 'email' }, maxItems: 5, maxWait: 'PT1H' }],
    });

    // Act
    const { results } = replay(
      emptyBase(),
      [
        messageEntry(T0, { key: 'a' }),
        messageEntry(T0 + 1000, { key: 'b', channel: 'sms', alternateChannels: ['email'] }),
      ],
      policies(mail),
    );

    // Assess
    expect(verdictOf(results, 'b')).toMatchObject({ channel: 'email', rule: 'mail', digestId: 'dg_b' });
  });

  it('reserves a digest’s slot at its deadline as it opens it past the cap', () => {
    // Act
    const { state } = replay(
      emptyBase(),
      [messageEntry(T0, { key: 'a' }), news(T0 + 1000, 'b'), news(T0 + 2000, 'c')],
      policies(daily()),
    );

    // Assess: counted for what is decided next, before the digest's release
    expect(state.sends.map((s) => [s.key, s.at])).toEqual([
      ['a', T0],
      ['b', DEADLINE],
    ]);
  });

  it('leaves a capped message suppressed when its expiry, less the release margin, leaves no time for a digest', () => {
    // Act: b's deadline, its expiry less the margin and 1 ms, is the moment it comes
    const { results } = replay(
      emptyBase(),
      [
        messageEntry(T0, { key: 'a' }),
        news(T0 + 1000, 'b', { expiresAt: T0 + 1000 + DEFAULT_RELEASE_MARGIN_MS + 1 }),
      ],
      policies(perMinute()),
    );

    // Assess
    expect(verdictOf(results, 'b')).toMatchObject({ outcome: 'suppressed', reason: 'frequency_cap' });
  });
});

describe('digests and the maximum of deferred messages', () => {
  it('opens no digest past the cap for a customer who holds the maximum of deferred messages', () => {
    // Prepare: the day's slot taken, then 50 news messages in five full digests of 10, each at its deadline
    const tens = daily({ digests: [{ ...newsRule, maxItems: 10 }] });
    const entries: LogEntry[] = [
      messageEntry(T0, { key: 'a' }),
      ...Array.from({ length: 50 }, (_, i) => news(T0 + (i + 1) * 1000, `n${i}`)),
      news(T0 + 51_000, 'last'),
    ];

    // Act
    const { results } = replay(emptyBase(), entries, policies(tens));

    // Assess
    expect(verdictOf(results, 'n49')).toMatchObject({ reason: 'digest', digestId: 'dg_n40' });
    expect(verdictOf(results, 'last')).toEqual({
      outcome: 'suppressed',
      channel: 'email',
      reason: 'frequency_cap',
      rule: 'daily',
    });
  });

  it('digests no message refused for the maximum of deferred messages, even into a digest with room', () => {
    // Prepare: 49 messages deferred minute after minute, then b's digest, the 50th message held
    const entries: LogEntry[] = [
      messageEntry(T0, { key: 'a' }),
      ...Array.from({ length: 49 }, (_, i) =>
        messageEntry(T0 + (i + 1) * 100, { key: `x${i}`, expiresAt: T0 + DAY }),
      ),
      news(T0 + 5000, 'b'),
      news(T0 + 6000, 'c', { expiresAt: T0 + DAY }),
    ];

    // Act
    const { results } = replay(emptyBase(), entries, policies(perMinute()));

    // Assess
    expect(verdictOf(results, 'b')).toMatchObject({ digestId: 'dg_b', releaseAt: T0 + 50 * MINUTE });
    expect(verdictOf(results, 'c')).toEqual({
      outcome: 'suppressed',
      channel: 'email',
      reason: 'frequency_cap',
      rule: 'maxDeferred',
    });
  });
});

describe("a digest's items at its release", () => {
  it('delivers an item whose expiry is still ahead, and lets one that expires at that very moment leave', () => {
    // Prepare: c expires when the release runs (late); d later (too soon for the next free slot)
    const expiresAt = T0 + MINUTE + DEFAULT_RELEASE_MARGIN_MS + 1000;
    const entries = [
      messageEntry(T0, { key: 'a' }),
      news(T0 + 1000, 'b'),
      news(T0 + 2000, 'c', { expiresAt }),
      news(T0 + 3000, 'd', { expiresAt: T0 + 2 * MINUTE + DEFAULT_RELEASE_MARGIN_MS }),
      releaseEntry(expiresAt, 'dg_b', T0 + MINUTE),
    ];

    // Act
    const { results } = replay(emptyBase(), entries, policies(perMinute()));

    // Assess
    expect(released(results)?.digest?.items).toEqual([
      { key: 'b', verdict: { outcome: 'accepted', channel: 'email' } },
      {
        key: 'c',
        verdict: { outcome: 'suppressed', channel: 'email', reason: 'expired', rule: 'expiresAt' },
      },
      { key: 'd', verdict: { outcome: 'accepted', channel: 'email' } },
    ]);
  });

  it('defers a digest whose delivery falls in quiet hours in force then to their end, its items with it', () => {
    // Prepare: v2, in force at the release, is quiet from 10:00 to 10:30 UTC (T0 is 10:00)
    const quiet = perMinute({ quietHours: { start: '10:00', end: '10:30', defaultTimezone: 'UTC' } }, 2);
    const entries = [
      messageEntry(T0 - 30_000, { key: 'a' }),
      news(T0 - 29_000, 'b'),
      news(T0 - 28_000, 'c'),
      releaseEntry(T0 + 30_000, 'dg_b', T0 + 30_000, 2),
    ];

    // Act
    const { results } = replay(emptyBase(), entries, policies(perMinute(), quiet));

    // Assess: due at 10:00:30, when v2 is quiet
    expect(verdictOf(results, 'c')).toMatchObject({ digestId: 'dg_b', releaseAt: T0 + 30_000 });
    const again = { outcome: 'deferred', channel: 'email', releaseAt: T0 + 30 * MINUTE, reason: 'digest' };
    expect(released(results)?.decided.verdict).toMatchObject(again);
    expect(released(results)?.digest?.items).toEqual([
      { key: 'b', verdict: expect.objectContaining(again) },
      { key: 'c', verdict: expect.objectContaining(again) },
    ]);
  });

  it('delivers the digest and each of its items at its release past a cap that then allows nothing', () => {
    // Prepare: v2, in force at the release, allows no marketing message at all
    const none = perMinute({ caps: [{ id: 'none', limit: 0, window: 'P1D' }] }, 2);
    const entries = [
      messageEntry(T0, { key: 'a' }),
      news(T0 + 1000, 'b'),
      news(T0 + 2000, 'c'),
      releaseEntry(T0 + MINUTE, 'dg_b', T0 + MINUTE, 2),
    ];

    // Act
    const { results } = replay(emptyBase(), entries, policies(perMinute(), none));

    // Assess: a cap refuses no item alone; the digest passes it
    expect(released(results)?.decided.verdict).toEqual({ outcome: 'accepted', channel: 'email' });
    expect(released(results)?.digest?.items).toEqual([
      { key: 'b', verdict: { outcome: 'accepted', channel: 'email' } },
      { key: 'c', verdict: { outcome: 'accepted', channel: 'email' } },
    ]);
  });

  it('releases a plain deferral beside a digest alone, through compaction and the stored item', () => {
    // Prepare: x deferred to the next minute, b's digest to the one after; a writer reads the log stored
    const first = replay(
      emptyBase(),
      [
        messageEntry(T0, { key: 'a' }),
        messageEntry(T0 + 500, { key: 'x', expiresAt: T0 + DAY }),
        news(T0 + 1000, 'b'),
      ],
      policies(perMinute()),
    );
    const compacted = compact(first.state, T0 + 7000, { horizonMs: DAY, idempotencyMs: DAY });
    const stored = decodeBlock(encodeBlock(compacted.base, compacted.entries) ?? '');

    // Act
    const { results } = replay(
      stored.base,
      [...stored.entries, releaseEntry(T0 + MINUTE, 'x', T0 + MINUTE)],
      policies(perMinute()),
    );

    // Assess
    expect(verdictOf(first.results, 'b')).toMatchObject({ digestId: 'dg_b', releaseAt: T0 + 2 * MINUTE });
    expect(results.at(-1)).toMatchObject({
      type: 'release',
      key: 'x',
      stale: false,
      decided: { verdict: { outcome: 'accepted', channel: 'email' } },
    });
  });
});

describe("a digest at its deadline, past the policy's caps", () => {
  it('passes the caps of the customer’s experiment arm too', () => {
    // Prepare: the customer is in the strict arm (one a week), and had its one this week
    const withArm = compiled({
      caps: [{ id: 'weekly', limit: 2, window: 'P7D' }],
      experiments: [
        {
          id: 'lift',
          salt: 's1',
          arms: [
            { id: 'governed', share: 0.5, policy: 'current' },
            { id: 'strict', share: 0.5, policy: { caps: [{ id: 'strict', limit: 1, window: 'P7D' }] } },
          ],
        },
      ],
    });
    const strict = forCustomer(withArm, () => 0.9);
    const oneSend = aView({ sends: [aSend(T0 - DAY)] });

    // Act
    const verdict = pastCaps(oneSend, facts(), strict, T0);

    // Assess
    expect(verdict).toEqual({ outcome: 'accepted', channel: 'email' });
  });
});
