/**
 * What became of one message (shared/domain/message-status.ts), from its customer's replayed log: still
 * deferred and until when, queued (accepted, or released), suppressed (at once or later), or unknown.
 */
import { describe, expect, it } from 'vitest';
import { emptyBase, type LogEntry, replay } from '#shared/domain/customer-log.ts';
import { messageStateOf } from '#shared/domain/message-status.ts';
import { aPolicy, DAY, MINUTE, messageEntry, policies, releaseEntry, T0 } from './builders.ts';

// One message a minute: the second of two sent at once is deferred by a minute.
const perMinute = aPolicy(
  { caps: [{ id: 'per-minute', limit: 1, window: 'PT1M' }], relevance: { default: 0.5 } },
  3,
);
const lookup = policies(perMinute);
const expiresAt = T0 + DAY;

/** a accepted, b deferred a minute behind it, c suppressed for its relevance: all under policy 3. */
const traffic: LogEntry[] = [
  messageEntry(T0, { key: 'a', expiresAt, relevance: 0.9 }, 3),
  messageEntry(T0 + 1000, { key: 'b', expiresAt, relevance: 0.9 }, 3),
  messageEntry(T0 + 2000, { key: 'c', channel: 'sms', relevance: 0.1 }, 3),
];

describe('messageStateOf', () => {
  it('knows nothing of a message the log never decided', () => {
    const { state } = replay(emptyBase(), traffic, lookup);

    expect(messageStateOf(state, 'never-sent')).toBeUndefined();
  });

  it('tells an accepted message queued, on its channel, under the policy that decided it', () => {
    const { state } = replay(emptyBase(), traffic, lookup);

    expect(messageStateOf(state, 'a')).toStrictEqual({
      status: 'queued',
      channel: 'email',
      policyVersion: 3,
    });
  });

  it('tells an accepted message queued even once its send is no longer counted (compacted away)', () => {
    const before = replay(emptyBase(), traffic, lookup).state;
    const state = { ...before, sends: before.sends.filter((s) => s.key !== 'a') };

    expect(messageStateOf(state, 'a')).toStrictEqual({
      status: 'queued',
      channel: 'email',
      policyVersion: 3,
    });
  });

  it('tells a deferred message deferred, until its release, with the rule that holds it', () => {
    const { state } = replay(emptyBase(), traffic, lookup);

    expect(messageStateOf(state, 'b')).toStrictEqual({
      status: 'deferred',
      channel: 'email',
      releaseAt: T0 + MINUTE,
      policyVersion: 3,
      rule: 'per-minute',
    });
  });

  it('tells a suppressed message suppressed, with its reason', () => {
    const { state } = replay(emptyBase(), traffic, lookup);

    expect(messageStateOf(state, 'c')).toMatchObject({
      status: 'suppressed',
      channel: 'sms',
      reason: 'relevance_below_threshold',
      policyVersion: 3,
    });
  });

  it('tells a deferred message queued once its release sent it', () => {
    const { state } = replay(
      emptyBase(),
      [...traffic, releaseEntry(T0 + MINUTE, 'b', T0 + MINUTE, 3)],
      lookup,
    );

    expect(messageStateOf(state, 'b')).toStrictEqual({
      status: 'queued',
      channel: 'email',
      policyVersion: 3,
    });
  });

  describe('for a deferred message no longer held, in a log compacted before releases were kept', () => {
    const held = () => replay(emptyBase(), traffic, lookup).state;

    it('tells it queued while its send is still counted', () => {
      const state = { ...held(), pending: new Map() };

      expect(messageStateOf(state, 'b')).toStrictEqual({
        status: 'queued',
        channel: 'email',
        policyVersion: 3,
      });
    });

    it('tells it expired once its send is not counted any more', () => {
      const before = held();
      const state = { ...before, pending: new Map(), sends: before.sends.filter((s) => s.key !== 'b') };

      expect(messageStateOf(state, 'b')).toStrictEqual({
        status: 'suppressed',
        channel: 'email',
        reason: 'expired',
        policyVersion: 3,
      });
    });
  });
});
