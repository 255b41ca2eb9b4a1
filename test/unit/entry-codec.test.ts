import { describe, expect, it } from 'vitest';
import {
  Dictionary,
  decodeBase,
  decodeEntry,
  encodeBase,
  encodeEntry,
} from '#shared/adapters/dynamodb/entry-codec.ts';
import type { LogEntry } from '#shared/domain/customer-log.ts';
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

describe('the log entry codec', () => {
  it.each(entries)('round-trips %s', (_, entry) => {
    expect(decodeEntry(encodeEntry(entry))).toEqual(entry);
  });

  it.each(entries)('round-trips %s through a dictionary', (_, entry) => {
    const words = new Dictionary();
    const text = encodeEntry(entry, words);
    expect(decodeEntry(text, new Dictionary([...words.words]))).toEqual(entry);
  });

  it('writes a long category or campaign once per item, however many entries name it', () => {
    const words = new Dictionary();
    const settled = entries[5]?.[1] as Extract<LogEntry, { type: 'settled' }>;
    const long = { ...settled, category: 'promotions-autumn', campaignId: 'black-friday-2026' };
    const texts = Array.from({ length: 20 }, (_, i) => encodeEntry({ ...long, key: `key${i}` }, words));
    expect(words.words).toEqual(['promotions-autumn', 'black-friday-2026']);
    for (const text of texts) expect(text).not.toContain('black-friday');
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
