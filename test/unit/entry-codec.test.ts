import { describe, expect, it, vi } from 'vitest';
import {
  decodeBase,
  decodeBlock,
  decodeEntry,
  encodeBase,
  encodeBlock,
  encodeEntry,
  isBlock,
} from '#shared/adapters/dynamodb/entry-codec.ts';
import { emptyBase, type LogEntry } from '#shared/domain/customer-log.ts';
import type { Send } from '#shared/domain/decision.ts';
import { T0 } from './builders.ts';

const entries: [string, LogEntry][] = [
  [
    'a bare message',
    { type: 'message', at: T0, policyVersion: 3, facts: { key: 'k1', channel: 'email', kind: 'marketing' } },
  ],
  [
    'a message with every field and separators in its ids',
    {
      type: 'message',
      at: T0 + 1,
      policyVersion: 12,
      facts: {
        key: 'a|b~c%d,e',
        channel: 'whatsapp',
        kind: 'transactional',
        category: 'cat|egory',
        campaignId: 'camp~aign,%',
        relevance: 0.1234567,
        notBefore: T0 + 60_000,
        expiresAt: T0 + 3_600_000,
        alternateChannels: ['sms', 'push'],
      },
    },
  ],
  [
    'a preference change',
    {
      type: 'preferences',
      at: T0,
      preferences: {
        channels: { sms: { optIn: false, source: 'pc|1', at: '2026-01-01T00:00:00.000Z' } },
        topics: { 'a|b': false },
        maxPerWeek: 2,
      },
    },
  ],
  ['a feedback', { type: 'feedback', at: T0, channel: 'sms', feedback: 'bounced_hard' }],
  ['a release', { type: 'release', at: T0, policyVersion: 4, key: 'k~2', releaseAt: T0 + 5 }],
  [
    'a message decided under a release margin of its own',
    {
      type: 'message',
      at: T0,
      policyVersion: 1,
      facts: { key: 'k6', channel: 'push', kind: 'marketing' },
      releaseMarginMs: 31_000,
    },
  ],
  [
    'a release decided under a release margin of its own',
    { type: 'release', at: T0, policyVersion: 4, key: 'k7', releaseAt: T0 + 5, releaseMarginMs: 7_000 },
  ],
  [
    'a settled accepted send',
    {
      type: 'settled',
      key: 'k3',
      at: T0,
      policyVersion: 2,
      first: { outcome: 'accepted', channel: 'push' },
      send: { key: 'k3', at: T0, channel: 'push', kind: 'marketing', category: 'news', campaignId: 'c1' },
      pending: undefined,
      category: 'news',
      campaignId: 'c1',
    },
  ],
  [
    'a settled deferral still pending',
    {
      type: 'settled',
      key: 'k4',
      at: T0,
      policyVersion: 2,
      first: {
        outcome: 'deferred',
        channel: 'email',
        releaseAt: T0 + 99,
        reason: 'frequency_cap',
        rule: 'weekly|x',
      },
      send: {
        key: 'k4',
        at: T0 + 99,
        channel: 'email',
        kind: 'marketing',
        category: undefined,
        campaignId: undefined,
      },
      pending: {
        releaseAt: T0 + 99,
        policyVersion: 2,
        facts: { key: 'k4', channel: 'email', kind: 'marketing', expiresAt: T0 + 1000 },
      },
      category: undefined,
      campaignId: undefined,
    },
  ],
  [
    'a settled deferral released later, under another policy version',
    {
      type: 'settled',
      key: 'k8',
      at: T0,
      policyVersion: 2,
      first: { outcome: 'deferred', channel: 'email', releaseAt: T0 + 99, reason: 'min_gap', rule: 'gap' },
      send: undefined,
      pending: undefined,
      category: undefined,
      campaignId: undefined,
      current: { outcome: 'suppressed', channel: 'email', reason: 'opted_out', rule: 'preferences' },
      after: { at: T0 + 120, policyVersion: 3, releaseAt: T0 + 99 },
    },
  ],
  [
    'a settled deferral cancelled, by a writer whose clock is behind',
    {
      type: 'settled',
      key: 'k9',
      at: T0,
      policyVersion: 2,
      first: { outcome: 'deferred', channel: 'sms', releaseAt: T0 + 99, reason: 'frequency_cap', rule: 'w' },
      send: undefined,
      pending: undefined,
      category: 'news',
      campaignId: 'c1',
      current: { outcome: 'suppressed', channel: 'sms', reason: 'cancelled' },
      after: { at: T0 - 5, policyVersion: 2 },
    },
  ],
  [
    'a settled suppression',
    {
      type: 'settled',
      key: 'k5',
      at: T0,
      policyVersion: 1,
      first: { outcome: 'suppressed', channel: 'sms', reason: 'opted_out', rule: 'preferences' },
      send: undefined,
      pending: undefined,
      category: 'promo',
      campaignId: 'bf',
    },
  ],
];

const entryNamed = (name: string) => entries.find(([n]) => n === name)?.[1];
const rawEntries = entries.filter(([, e]) => e.type !== 'settled');
const settledEntries = entries.filter(([, e]) => e.type === 'settled');

describe('the log entry codec', () => {
  it.each(rawEntries)('round-trips %s', (_, entry) => {
    expect(decodeEntry(encodeEntry(entry))).toEqual(entry);
  });

  it.each(settledEntries)('round-trips %s in a block', (_, entry) => {
    expect(decodeBlock(encodeBlock(emptyBase(), [entry]) as string).entries).toEqual([entry]);
  });

  it('writes nothing another process cannot read: a settled entry only in a block, which a fresh process decodes', async () => {
    const settled = entryNamed('a settled accepted send') as Extract<LogEntry, { type: 'settled' }>;
    const long = {
      ...settled,
      category: 'promotions-autumn',
      send: { ...(settled.send as Send), category: 'promotions-autumn' },
    };
    vi.resetModules();
    const fresh = await import('#shared/adapters/dynamodb/entry-codec.ts');
    expect(fresh.decodeEntry).not.toBe(decodeEntry);
    // Written on its own, its words would live in this process alone.
    expect(() => fresh.decodeEntry(encodeEntry(long))).toThrow(/written in a block/);
    expect(fresh.decodeBlock(encodeBlock(emptyBase(), [long]) as string).entries).toEqual([long]);
    for (const [, entry] of rawEntries) expect(fresh.decodeEntry(encodeEntry(entry))).toEqual(entry);
  });

  it('writes a long category or campaign once per block, however many entries name it', () => {
    const settled = entryNamed('a settled accepted send') as Extract<LogEntry, { type: 'settled' }>;
    const long = { ...settled, category: 'promotions-autumn', campaignId: 'black-friday-2026' };
    const block = encodeBlock(
      emptyBase(),
      Array.from({ length: 20 }, (_, i) => ({
        ...long,
        key: `key${i}`,
        send: {
          ...(settled.send as Send),
          key: `key${i}`,
          category: long.category,
          campaignId: long.campaignId,
        },
      })),
    ) as string;
    expect(block.split('black-friday-2026')).toHaveLength(2);
    expect(block.split('promotions-autumn')).toHaveLength(2);
  });

  it('round-trips a block of every kind of settled entry and a folded send, times going back and forth, and a base', () => {
    const base = {
      preferences: { channels: {}, topics: { 'new|s': false } },
      suppressions: { sms: 'complained' as const },
      forgotten: { '2026-03-02': 12 },
    };
    const settled = entries.flatMap(([, e]) => (e.type === 'settled' ? [e] : []));
    const asked = [
      { channel: 'push' as const, kind: 'marketing' as const },
      { channel: 'sms' as const, kind: 'marketing' as const },
      { channel: 'sms' as const, kind: 'transactional' as const },
      { channel: undefined, kind: undefined },
    ];
    const all: LogEntry[] = [
      ...settled.flatMap((e, i) =>
        asked.map((a, j) => {
          const key = `${e.key}-${j}`;
          const at = e.at + (j % 2 ? -1 : 7_200_000) * i;
          const send = e.send && { ...e.send, key, at: e.send.at === e.at ? at : e.send.at };
          const entry: LogEntry = { ...e, key, at, send };
          if (a.channel) Object.assign(entry, a);
          return entry;
        }),
      ),
      {
        type: 'folded',
        at: T0 + 5,
        send: { key: '', at: T0 + 5, since: T0 - 9, count: 140, channel: 'sms', kind: 'transactional' },
      },
    ];
    const block = encodeBlock(base, all) as string;
    expect(isBlock(block)).toBe(true);
    expect(decodeBlock(block)).toEqual({ base, entries: all });
  });

  it('writes nothing for an empty block, and a block for a base alone', () => {
    const empty = { preferences: { channels: {}, topics: {} }, suppressions: {} };
    expect(encodeBlock(empty, [])).toBeUndefined();
    const base = { ...empty, suppressions: { email: 'hard_bounce' as const } };
    expect(decodeBlock(encodeBlock(base, []) as string)).toEqual({ base, entries: [] });
  });

  it('writes a settled send in a few bytes: relative time, repeated version left out, the send in the verdict', () => {
    const settled = entryNamed('a settled accepted send') as Extract<LogEntry, { type: 'settled' }>;
    const sends = [0, 1, 2].map((i) => {
      const at = T0 + i * 8 * 3_600_000;
      const send = { ...(settled.send as Send), key: `key${i}`, at };
      return { ...settled, key: `key${i}`, at, send, channel: 'push' as const, kind: 'marketing' as const };
    });
    const lines = (encodeBlock(emptyBase(), sends) as string).split('\n');
    expect(lines.slice(2)).toEqual([
      `${T0.toString(36)}|2|key0|Ap|#0~c1`,
      `${(8 * 3_600_000).toString(36)}||key1|Ap|#0~c1`,
      `${(8 * 3_600_000).toString(36)}||key2|Ap|#0~c1`,
    ]);
  });

  it('escapes the block separators in words and ids', () => {
    const settled = entryNamed('a settled accepted send') as Extract<LogEntry, { type: 'settled' }>;
    const subject = { key: 'a\nb', category: 'line\nbreak|pipe', campaignId: '@at' };
    const odd = { ...settled, ...subject, send: { ...(settled.send as Send), ...subject } };
    const block = encodeBlock(emptyBase(), [odd]) as string;
    expect(block.split('\n')).toHaveLength(3);
    expect(decodeBlock(block).entries).toEqual([odd]);
  });

  it('writes the words of a block as they are, however many separators they hold', () => {
    const settled = entryNamed('a settled accepted send') as Extract<LogEntry, { type: 'settled' }>;
    const category = '|'.repeat(100);
    const odd = { ...settled, category, send: { ...(settled.send as Send), category } };
    const block = encodeBlock(emptyBase(), [odd]) as string;
    expect(block.length).toBeLessThan(100 + 60);
    expect(decodeBlock(block).entries).toEqual([odd]);
  });

  it('refuses a corrupt entry rather than guessing', () => {
    expect(() => decodeEntry('z|1')).toThrow(/corrupt/);
    expect(() => decodeEntry('m|1|1|k~q')).toThrow(/corrupt/);
  });

  it('round-trips the base', () => {
    const base = {
      preferences: { channels: {}, topics: { news: true } },
      suppressions: { email: 'hard_bounce' as const },
    };
    expect(decodeBase(encodeBase(base))).toEqual(base);
    expect(encodeBase({ preferences: { channels: {}, topics: {} }, suppressions: {} })).toBeUndefined();
    expect(decodeBase(undefined)).toEqual({ preferences: { channels: {}, topics: {} }, suppressions: {} });
  });
});
