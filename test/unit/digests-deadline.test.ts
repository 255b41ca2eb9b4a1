/**
 * A digest's deadline: delivered at the next moment the caps allow, but at the latest `maxWait` after
 * its first item and before its items' expiry (less the release margin), even when no slot frees by
 * then; counted as one send; consent, topic, pause and expiry still apply at its release.
 */
import { describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock } from '#shared/adapters/dynamodb/entry-codec.ts';
import { ARCHIVE_RECORD_VERSION, type ArchiveRecord } from '#shared/domain/archive.ts';
import {
  compact,
  DEFAULT_RELEASE_MARGIN_MS,
  emptyBase,
  type LogEntry,
  replay,
} from '#shared/domain/customer-log.ts';
import { replayShard } from '#shared/domain/dry-run.ts';
import { messageStateOf } from '#shared/domain/message-status.ts';
import {
  aPolicy,
  DAY,
  HOUR,
  MINUTE,
  messageEntry,
  newsEntry,
  policies,
  preferencesEntry,
  releasedOf,
  releaseEntry,
  T0,
  verdictOf,
} from './builders.ts';

// One marketing message a day; capped news messages roll into a digest of at most 5, within 1 hour.
const daily = (more: Parameters<typeof aPolicy>[0] = {}, version = 1) =>
  aPolicy(
    {
      caps: [{ id: 'daily', limit: 1, window: 'P1D' }],
      digests: [{ id: 'news', match: { category: 'news' }, maxItems: 5, maxWait: 'PT1H' }],
      ...more,
    },
    version,
  );
const lookup = policies(daily());
const news = newsEntry;

/** a is sent at T0 (the day's one send); b…f (news, no expiry) come in the next seconds. */
const FIVE = ['b', 'c', 'd', 'e', 'f'];
const fiveCapped: LogEntry[] = [
  messageEntry(T0, { key: 'a' }),
  ...FIVE.map((key, i) => news(T0 + (i + 1) * 1000, key)),
];
/** The digest b opens: due an hour after b, its first item. */
const DEADLINE = T0 + 1000 + HOUR;

const released = releasedOf;

describe("a digest's deadline", () => {
  it('delivers five capped messages under 1/P1D with a PT1H digest as one send at +1 h, counted once', () => {
    // Prepare: the day's slot is taken; no slot frees within the hour
    const entries = [...fiveCapped, releaseEntry(DEADLINE + 5000, 'dg_b', DEADLINE)];

    // Act
    const { state, results } = replay(emptyBase(), entries, lookup);

    // Assess: the five wait in one digest due at the deadline, and go out together then
    for (const key of FIVE)
      expect(verdictOf(results, key)).toEqual({
        outcome: 'deferred',
        channel: 'email',
        releaseAt: DEADLINE,
        reason: 'digest',
        rule: 'news',
        digestId: 'dg_b',
      });
    const release = released(results);
    expect(release?.decided.verdict).toEqual({ outcome: 'accepted', channel: 'email' });
    expect(release?.digest?.items).toEqual(
      FIVE.map((key) => ({ key, verdict: { outcome: 'accepted', channel: 'email' } })),
    );
    expect(messageStateOf(state, 'e')).toMatchObject({ status: 'queued' });
    // One send for the five: the day holds a's and the digest's, one past the cap.
    expect(state.sends.map((s) => [s.key, s.at])).toEqual([
      ['a', T0],
      ['b', DEADLINE],
    ]);
  });

  it('still sends the digest at the slot when the cap frees one before the deadline', () => {
    // Prepare: one message per 10 minutes
    const tenMinutes = daily({ caps: [{ id: 'ten', limit: 1, window: 'PT10M' }] });

    // Act
    const { results } = replay(emptyBase(), fiveCapped, policies(tenMinutes));

    // Assess
    for (const key of FIVE)
      expect(verdictOf(results, key)).toMatchObject({ releaseAt: T0 + 10 * MINUTE, digestId: 'dg_b' });
  });

  it('delivers the digest at its deadline when its release runs late, the caps still full', () => {
    // Act: the release runs half an hour after the deadline
    const { results } = replay(
      emptyBase(),
      [...fiveCapped, releaseEntry(DEADLINE + 30 * MINUTE, 'dg_b', DEADLINE)],
      lookup,
    );

    // Assess
    expect(released(results)?.decided.verdict).toEqual({ outcome: 'accepted', channel: 'email' });
  });

  it('gives two writers the same forced digest, one replaying the log whole, one its compacted, stored form', () => {
    // Prepare: a second writer reads the log compacted and stored before the release
    const release = releaseEntry(DEADLINE, 'dg_b', DEADLINE);
    const whole = replay(emptyBase(), [...fiveCapped, release], lookup);
    const first = replay(emptyBase(), fiveCapped, lookup);
    const compacted = compact(first.state, T0 + 10_000, { horizonMs: DAY, idempotencyMs: DAY });
    const stored = decodeBlock(encodeBlock(compacted.base, compacted.entries) ?? '');

    // Act
    const other = replay(stored.base, [...stored.entries, news(T0 + 20_000, 'g'), release], lookup);

    // Assess: both see the five delivered at the deadline (g joins after a's full digest: its own)
    expect(verdictOf(other.results, 'g')).toMatchObject({ digestId: 'dg_g', releaseAt: T0 + 20_000 + HOUR });
    expect(released(other.results)).toEqual(released(whole.results));
    for (const key of FIVE)
      expect(messageStateOf(other.state, key)).toEqual(messageStateOf(whole.state, key));
  });

  it('suppresses a digest an opt-out emptied before its deadline, and frees its slot', () => {
    // Act
    const { state, results } = replay(
      emptyBase(),
      [
        ...fiveCapped,
        preferencesEntry(T0 + 30 * MINUTE, { channels: { email: { optIn: false } } }),
        releaseEntry(DEADLINE, 'dg_b', DEADLINE),
      ],
      lookup,
    );

    // Assess
    expect(released(results)?.decided.verdict).toMatchObject({ outcome: 'suppressed', reason: 'opted_out' });
    for (const key of FIVE)
      expect(messageStateOf(state, key)).toMatchObject({ status: 'suppressed', reason: 'opted_out' });
    expect(state.sends.filter((s) => s.at === DEADLINE)).toEqual([]);
  });

  it("brings the deadline forward to the first item's expiry less the release margin", () => {
    // Prepare
    const expiresAt = T0 + 30 * MINUTE;

    // Act
    const { results } = replay(
      emptyBase(),
      [messageEntry(T0, { key: 'a' }), news(T0 + 1000, 'b', { expiresAt })],
      lookup,
    );

    // Assess
    expect(verdictOf(results, 'b')).toMatchObject({
      outcome: 'deferred',
      reason: 'digest',
      releaseAt: expiresAt - DEFAULT_RELEASE_MARGIN_MS - 1,
    });
  });

  it('lets no item that expires before the digest is delivered join it: it opens its own, which the next joins', () => {
    // Prepare: b opens a digest due in an hour; c expires in 20 minutes
    const expiresAt = T0 + 20 * MINUTE;
    const early = expiresAt - DEFAULT_RELEASE_MARGIN_MS - 1;

    // Act
    const { results } = replay(
      emptyBase(),
      [
        messageEntry(T0, { key: 'a' }),
        news(T0 + 1000, 'b'),
        news(T0 + 2000, 'c', { expiresAt }),
        news(T0 + 3000, 'd'),
      ],
      lookup,
    );

    // Assess: joining never moves a digest's time later; d joins the earliest one
    expect(verdictOf(results, 'b')).toMatchObject({ digestId: 'dg_b', releaseAt: T0 + 1000 + HOUR });
    expect(verdictOf(results, 'c')).toMatchObject({ digestId: 'dg_c', releaseAt: early });
    expect(verdictOf(results, 'd')).toMatchObject({ digestId: 'dg_c', releaseAt: early });
  });

  it("passes the policy's caps at the deadline, never the customer's own maxPerWeek", () => {
    // Prepare: the customer asked for at most one message a week, and has had it
    const entries = [preferencesEntry(T0 - 1000, { maxPerWeek: 1 }), ...fiveCapped];

    // Act
    const { results } = replay(emptyBase(), entries, lookup);

    // Assess: dropped as without digests
    for (const key of FIVE) expect(verdictOf(results, key)).toMatchObject({ outcome: 'suppressed' });
  });

  it("suppresses the message as before when the deadline falls in the customer's quiet hours", () => {
    // Prepare: quiet from 10:30 UTC (T0 is 10:00): b's deadline, 11:00, is quiet; an hour earlier it is not
    const quiet = daily({ quietHours: { start: '10:30', end: '12:00', defaultTimezone: 'UTC' } });
    const capped = [messageEntry(T0 - HOUR, { key: 'a' }), news(T0 + 1000, 'b')];
    const earlier = [messageEntry(T0 - 2 * HOUR, { key: 'a' }), news(T0 - HOUR, 'b')];

    // Act
    const inQuiet = replay(emptyBase(), capped, policies(quiet));
    const beforeQuiet = replay(emptyBase(), earlier, policies(quiet));

    // Assess
    expect(verdictOf(inQuiet.results, 'b')).toMatchObject({ outcome: 'suppressed', reason: 'frequency_cap' });
    expect(verdictOf(beforeQuiet.results, 'b')).toMatchObject({ reason: 'digest', releaseAt: T0 });
  });

  it('never lets a digest at its deadline take the slot of a message deferred before it', () => {
    // Prepare: x, deferred to the moment the day's cap frees, before b's digest goes past the cap
    const entries = [
      ...fiveCapped.slice(0, 1),
      messageEntry(T0 + 500, { key: 'x', expiresAt: T0 + 2 * DAY }),
      ...fiveCapped.slice(1),
      releaseEntry(DEADLINE, 'dg_b', DEADLINE),
      releaseEntry(T0 + DAY, 'x', T0 + DAY),
    ];

    // Act
    const { state, results } = replay(emptyBase(), entries, lookup);

    // Assess: both go, x at the moment it was promised
    expect(verdictOf(results, 'x')).toMatchObject({ outcome: 'deferred', releaseAt: T0 + DAY });
    expect(results.at(-1)).toMatchObject({
      type: 'release',
      key: 'x',
      decided: { verdict: { outcome: 'accepted' } },
    });
    expect(messageStateOf(state, 'x')).toMatchObject({ status: 'queued' });
  });

  it('never drops a digest for a cap at its release: under a stricter policy then, it is delivered all the same', () => {
    // Prepare: v1 gives the digest the slot in 10 minutes; v2, in force at the release, one send a day
    const v1 = daily({ caps: [{ id: 'ten', limit: 1, window: 'PT10M' }] });
    const v2 = daily({}, 2);

    // Act
    const { results } = replay(
      emptyBase(),
      [...fiveCapped, releaseEntry(T0 + 10 * MINUTE, 'dg_b', T0 + 10 * MINUTE, 2)],
      policies(v1, v2),
    );

    // Assess
    expect(released(results)?.decided.verdict).toEqual({ outcome: 'accepted', channel: 'email' });
    expect(released(results)?.digest?.items).toHaveLength(5);
  });
});

describe('the dry-run of a draft whose digests reach their deadline', () => {
  it('counts the forced digest as one send and its other items digested', () => {
    // Prepare: the day's slot taken, then three capped news messages without expiry (dropped today)
    const record = (index: number, at: number, ref: string, more: Partial<ArchiveRecord>): ArchiveRecord =>
      ({
        v: ARCHIVE_RECORD_VERSION,
        at: new Date(at).toISOString(),
        pseudonym: 'p-1',
        write: index + 1,
        index: 0,
        shard: 0,
        type: 'decision',
        ref,
        channel: 'email',
        kind: 'marketing',
        policyVersion: 1,
        outcomeChannel: 'email',
        ...more,
      }) as ArchiveRecord;
    const capped = { category: 'news', outcome: 'suppressed', reason: 'frequency_cap' } as const;
    const records = [
      record(0, T0, 'first', { outcome: 'accepted' }),
      record(1, T0 + 1000, 'b', capped),
      record(2, T0 + 2000, 'c', capped),
      record(3, T0 + 3000, 'd', capped),
    ];
    const today = aPolicy({ caps: [{ id: 'daily', limit: 1, window: 'P1D' }] }, 1);

    // Act
    const result = replayShard(records, { from: T0 - DAY, to: T0 + DAY, policies: [today], draft: daily() });

    // Assess: decisions = accepted + deferred + suppressed; the three deferred resolve as 1 sent + 2 digested
    expect(result.current).toMatchObject({ accepted: 1, suppressed: 3 });
    expect(result.draft).toMatchObject({ accepted: 2, deferred: 3, suppressed: 2 });
    expect(result.draft.byReason).toEqual({ digest: 2 });
  });
});
