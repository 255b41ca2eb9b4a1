/**
 * What compaction keeps, rule by rule: the sends each cap needs (folded when they exceed the budget, so
 * that a budget of zero shows exactly which), the other sends that fill the budget, and the days of
 * decisions it had to forget.
 */
import { describe, expect, it } from 'vitest';
import {
  type CompactionLimits,
  type CustomerBase,
  compact,
  emptyBase,
  type LogEntry,
  replay,
} from '#shared/domain/customer-log.ts';
import { compilePolicy, type Send } from '#shared/domain/decision.ts';
import type { Channel, PolicyDocumentInput, PreferencesInput } from '#shared/domain/schemas.ts';
import {
  aPolicy,
  DAY,
  HOUR,
  MINUTE,
  messageEntry,
  policies,
  preferences,
  preferencesEntry,
  T0,
  WEEK,
} from './builders.ts';

const now = T0 + 30 * DAY;

/** A message sent at `when`, as a compacted log remembers it. */
function sent(key: string, when: number, channel: Channel = 'email'): LogEntry {
  return {
    type: 'settled',
    key,
    at: when,
    policyVersion: 1,
    first: { outcome: 'accepted', channel },
    send: { key, at: when, channel, kind: 'marketing' },
  };
}

/** A folded send, as an earlier compaction left it. */
function foldedEntry(send: Omit<Send, 'key' | 'kind'>): LogEntry {
  return { type: 'folded', at: send.at, send: { key: '', kind: 'marketing', ...send } };
}

/**
 * Compacts `log` under a policy with `caps`, with no budget for sends (every send a cap needs is folded,
 * every other one dropped), no skew, and decisions forgotten at once unless `limits` says otherwise.
 */
function compactUnder(
  caps: PolicyDocumentInput['caps'],
  log: LogEntry[],
  options: { preferences?: PreferencesInput; limits?: Partial<CompactionLimits> } = {},
) {
  const policy = aPolicy({ caps }, 1);
  const base: CustomerBase = { ...emptyBase(), preferences: preferences(options.preferences ?? {}) };
  const { state } = replay(base, log, policies(policy));
  return compact(state, now, {
    horizonMs: 30 * DAY,
    idempotencyMs: 1,
    skewMs: 0,
    sendBudget: 0,
    policies: [compilePolicy(policy)],
    ...options.limits,
  });
}

/** The folded sends of a compacted log, by channel: how many sends each stands for. */
function foldedCounts(entries: LogEntry[]): Partial<Record<Channel, number>> {
  const counts: Partial<Record<Channel, number>> = {};
  for (const e of entries) if (e.type === 'folded') counts[e.send.channel] = e.send.count;
  return counts;
}

function keptSends(entries: LogEntry[]): string[] {
  return entries.flatMap((e) => (e.type === 'settled' && e.send ? [e.key] : []));
}

/** One email a day for ten days, the latest (d0) an hour before `now`, in the order they were sent. */
const tenDays = Array.from({ length: 10 }, (_, i) => sent(`d${9 - i}`, now - HOUR - (9 - i) * DAY));

describe('compact: the sends a count rule needs', () => {
  it("keeps, for the customer's own weekly maximum, the most recent sends up to it", () => {
    // Act
    const { entries } = compactUnder([], tenDays, { preferences: { maxPerWeek: 3 } });

    // Assess
    expect(foldedCounts(entries)).toEqual({ email: 3 });
  });

  it("keeps, for the customer's own weekly maximum, only the sends of the last seven days", () => {
    // Act: a maximum the week does not reach
    const { entries } = compactUnder([], tenDays, { preferences: { maxPerWeek: 20 } });

    // Assess: the sends 1 h, 1 d 1 h, … 6 d 1 h old
    expect(foldedCounts(entries)).toEqual({ email: 7 });
  });

  it('needs no send when neither the policy nor the customer caps anything', () => {
    // Act
    const { entries } = compactUnder([], tenDays);

    // Assess
    expect(entries).toEqual([]);
  });

  it("keeps the `limit` most recent sends a cap counts, and none of those it doesn't", () => {
    // Prepare: email and sms alternate, one an hour
    const log = Array.from({ length: 8 }, (_, i) =>
      sent(`m${i}`, now - (8 - i) * HOUR, i % 2 === 0 ? 'email' : 'sms'),
    );

    // Act
    const { entries } = compactUnder(
      [{ id: 'sms', limit: 2, window: 'P1D', match: { channel: 'sms' } }],
      log,
    );

    // Assess
    expect(foldedCounts(entries)).toEqual({ sms: 2 });
  });

  it('needs no send exactly one window old, and one a millisecond younger', () => {
    // Prepare
    const log = [sent('old', now - DAY), sent('young', now - DAY + 1)];

    // Act
    const { entries } = compactUnder([{ id: 'daily', limit: 5, window: 'P1D' }], log);

    // Assess
    expect(foldedCounts(entries)).toEqual({ email: 1 });
  });

  it('counts a folded send as the sends it stands for', () => {
    // Prepare: three sends folded an hour ago fill a cap of three; an older send is not needed
    const log = [sent('older', now - 2 * HOUR), foldedEntry({ at: now - HOUR, channel: 'email', count: 3 })];

    // Act
    const { entries } = compactUnder([{ id: 'daily', limit: 3, window: 'P1D' }], log);

    // Assess
    expect(foldedCounts(entries)).toEqual({ email: 3 });
  });

  it('takes a send at the very moment a later decision looks back from as past, which a cap of zero does not need', () => {
    // Prepare: one sms sent at `now` (no skew: decisions look back from `now`), one reserved after it
    const log = [sent('at-now', now, 'sms'), sent('reserved', now + MINUTE, 'sms')];

    // Act
    const { entries } = compactUnder(
      [{ id: 'none', limit: 0, window: 'P1D', match: { channel: 'sms' } }],
      log,
    );

    // Assess
    expect(foldedCounts(entries)).toEqual({ sms: 1 });
  });
});

describe('compact: the sends a gap rule needs', () => {
  const smsGap: PolicyDocumentInput['caps'] = [{ id: 'sms-gap', minGap: 'PT1H', match: { channel: 'sms' } }];

  it('keeps the latest matching send inside the gap, and no other', () => {
    // Prepare
    const log = [
      sent('sms-40', now - 40 * MINUTE, 'sms'),
      sent('sms-20', now - 20 * MINUTE, 'sms'),
      sent('email-10', now - 10 * MINUTE, 'email'),
    ];

    // Act
    const { entries } = compactUnder(smsGap, log);

    // Assess
    expect(entries).toEqual([
      {
        type: 'folded',
        at: now - 20 * MINUTE,
        send: {
          key: '',
          at: now - 20 * MINUTE,
          since: now - 20 * MINUTE,
          channel: 'sms',
          kind: 'marketing',
          count: 1,
        },
      },
    ]);
  });

  it('needs no send when the latest matching one is exactly the gap old', () => {
    // Prepare
    const log = [sent('sms-60', now - HOUR, 'sms'), sent('email-10', now - 10 * MINUTE, 'email')];

    // Act
    const { entries } = compactUnder(smsGap, log);

    // Assess
    expect(entries).toEqual([]);
  });
});

describe('compact: the sends after the moment later decisions look back from', () => {
  it('keeps those some count or gap rule counts, and no other', () => {
    // Prepare: a writer's clock may be an hour behind, so the last hour's sends all lie ahead of it
    const caps: PolicyDocumentInput['caps'] = [
      { id: 'sms', limit: 1, window: 'P1D', match: { channel: 'sms' } },
      { id: 'push-gap', minGap: 'PT1M', match: { channel: 'push' } },
      { id: 'whatsapp-gap', minGap: 'PT1M', match: { channel: 'whatsapp' } },
    ];
    const log = [
      sent('email', now - 10 * MINUTE, 'email'),
      sent('sms', now - 10 * MINUTE, 'sms'),
      sent('push', now - 10 * MINUTE, 'push'),
    ];

    // Act
    const { entries } = compactUnder(caps, log, { limits: { skewMs: HOUR } });

    // Assess
    expect(foldedCounts(entries)).toEqual({ sms: 1, push: 1 });
  });
});

describe('compact: its budget of sends', () => {
  const emailAndSms: PolicyDocumentInput['caps'] = [
    { id: 'sms', limit: 5, window: 'P7D', match: { channel: 'sms' } },
    { id: 'email', limit: 5, window: 'P7D', match: { channel: 'email' } },
  ];

  it('keeps the most recent of the sends the caps need, and folds the older ones', () => {
    // Prepare
    const log = [
      sent('sms-3h', now - 3 * HOUR, 'sms'),
      sent('sms-2h', now - 2 * HOUR, 'sms'),
      sent('email-1h', now - HOUR, 'email'),
    ];

    // Act
    const { entries } = compactUnder(emailAndSms, log, { limits: { sendBudget: 1 } });

    // Assess
    expect(keptSends(entries)).toEqual(['email-1h']);
    expect(entries.filter((e) => e.type === 'folded')).toEqual([
      {
        type: 'folded',
        at: now - 2 * HOUR,
        send: {
          key: '',
          at: now - 2 * HOUR,
          since: now - 3 * HOUR,
          channel: 'sms',
          kind: 'marketing',
          count: 2,
        },
      },
    ]);
  });

  it('fills what the caps leave of it with the most recent other sends inside the horizon', () => {
    // Act: no cap needs any of the ten
    const { entries } = compactUnder([], tenDays, { limits: { sendBudget: 2 } });

    // Assess
    expect(keptSends(entries)).toEqual(['d1', 'd0']);
    expect(entries.filter((e) => e.type === 'folded')).toEqual([]);
  });

  it('folds a folded send again with the others, spanning them all', () => {
    // Prepare: five sends folded, the latest an hour ago, the earliest five days ago; one send since
    const log = [
      foldedEntry({ at: now - HOUR, since: now - 5 * DAY, channel: 'email', count: 5 }),
      sent('plain', now - 2 * HOUR, 'email'),
    ];

    // Act
    const { entries } = compactUnder([{ id: 'weekly', limit: 10, window: 'P7D' }], log);

    // Assess
    expect(entries).toEqual([
      {
        type: 'folded',
        at: now - HOUR,
        send: {
          key: '',
          at: now - HOUR,
          since: now - 5 * DAY,
          channel: 'email',
          kind: 'marketing',
          count: 6,
        },
      },
    ]);
  });

  it('keeps a folded send that fits in it as a folded send', () => {
    // Prepare
    const folded = foldedEntry({ at: now - HOUR, since: now - 2 * DAY, channel: 'email', count: 3 });

    // Act
    const { entries } = compactUnder([{ id: 'weekly', limit: 10, window: 'P7D' }], [folded], {
      limits: { sendBudget: 5 },
    });

    // Assess
    expect(entries).toEqual([folded]);
  });
});

describe('compact: the decisions it forgets', () => {
  const refusing = (when: number, key: string) => [
    preferencesEntry(when, { maxPerWeek: 0 }),
    messageEntry(when, { key }),
  ];

  it('drops the count of a day that ended before the idempotency window, and keeps the later days', () => {
    // Prepare: the window reaches back to the last millisecond of 1 March, exactly
    const forgotten = { '2026-02-28': 1, '2026-03-01': 2, '2026-03-02': 5 };
    const { state } = replay({ ...emptyBase(), forgotten }, [], policies(aPolicy()));
    const idempotencyMs = T0 - Date.parse('2026-03-01T23:59:59.999Z');

    // Act
    const { base } = compact(state, T0, { horizonMs: WEEK, idempotencyMs });

    // Assess
    expect(base.forgotten).toEqual({ '2026-03-02': 5 });
  });

  it('counts a forgotten decision on the UTC day it was taken', () => {
    // Prepare: one refusal late on 1 March, one on 2 March
    const log = [...refusing(Date.parse('2026-03-01T23:00:00Z'), 'late'), ...refusing(T0, 'today')];
    const { state } = replay(emptyBase(), log, policies(aPolicy()));

    // Act
    const { base } = compact(state, T0, { horizonMs: WEEK, idempotencyMs: 2 * DAY, maxRemembered: 0 });

    // Assess
    expect(base.forgotten).toEqual({ '2026-03-01': 1, '2026-03-02': 1 });
  });

  it('never forgets a decision it keeps for its send', () => {
    // Prepare: one message sent, then one refused
    const log = [messageEntry(T0, { key: 'sent' }), ...refusing(T0 + MINUTE, 'refused')];
    const { state } = replay(emptyBase(), log, policies(aPolicy()));

    // Act
    const { base, entries } = compact(state, T0 + HOUR, {
      horizonMs: WEEK,
      idempotencyMs: DAY,
      maxRemembered: 0,
    });

    // Assess
    expect(keptSends(entries)).toEqual(['sent']);
    expect(base.forgotten).toEqual({ '2026-03-02': 1 });
  });

  it('leaves the count of forgotten decisions out of the base when it forgot none', () => {
    // Prepare
    const { state } = replay(emptyBase(), refusing(T0, 'refused'), policies(aPolicy()));

    // Act
    const { base } = compact(state, T0 + HOUR, { horizonMs: WEEK, idempotencyMs: DAY });

    // Assess
    expect(base).not.toHaveProperty('forgotten');
  });
});
