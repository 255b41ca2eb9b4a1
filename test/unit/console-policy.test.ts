import { describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../../console/src/api/types.ts';
import { formatFor } from '../../console/src/format.ts';
import { gapWords, limitWords, scopeWords } from '../../console/src/policy/describe.ts';
import { describeChanges } from '../../console/src/policy/diff.ts';
import { durationWords, toAmount, toIso } from '../../console/src/policy/durations.ts';
import { flatten, reapply, unflatten } from '../../console/src/policy/merge.ts';

const policy = (overrides: Partial<PolicyDocument> = {}): PolicyDocument => ({
  caps: [
    { id: 'weekly', limit: 3, window: 'P7D', match: {} },
    { id: 'sms', limit: 1, window: 'P7D', match: { channel: 'sms' } },
    { id: 'gap', minGap: 'PT4H', match: {} },
  ],
  relevance: { default: 0.3, byChannel: { sms: 0.5 }, pressureSlope: 0.4 },
  quietHours: { start: '21:00', end: '08:00', defaultTimezone: 'Europe/Paris' },
  channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
  ...overrides,
});

describe('the words of a cap', () => {
  it.each([
    ['P7D', '7 days'],
    ['P1D', '1 day'],
    ['P1W', '1 week'],
    ['PT4H', '4 hours'],
    ['PT90M', '90 minutes'],
    ['P1DT12H', '36 hours'],
    ['PT30S', '30 seconds'],
  ])('reads %s as "%s"', (iso, words) => {
    expect(durationWords(iso)).toBe(words);
  });

  it('edits a duration as an amount and a unit, and writes it back unchanged', () => {
    for (const iso of ['P7D', 'P2W', 'PT4H', 'PT45M'])
      expect(toIso(toAmount(iso) ?? { amount: 0, unit: 'days' })).toBe(iso);
  });

  it('says "3 per 7 days", "at least 4 hours apart" and the messages a cap counts', () => {
    const [weekly, sms, gap] = policy().caps ?? [];

    expect(weekly && limitWords(weekly)).toBe('3 per 7 days');
    expect(gap && gapWords(gap)).toBe('at least 4 hours apart');
    expect(sms && scopeWords(sms.match)).toBe('Marketing messages by SMS');
    expect(scopeWords({ kind: 'transactional', category: 'news', campaignId: 'bf' })).toBe(
      'Transactional messages on every channel, category “news”, campaign “bf”',
    );
  });

  it('formats the numbers in the locale given', () => {
    expect(limitWords({ id: 'x', limit: 1500, window: 'P7D', match: {} }, formatFor('fr-FR').number)).toBe(
      `${new Intl.NumberFormat('fr-FR').format(1500)} per 7 days`,
    );
  });
});

describe('describeChanges', () => {
  it('names each change in the words a marketer reads, by section', () => {
    const before = policy();
    const after = policy({
      caps: [
        { id: 'weekly', limit: 2, window: 'P7D', match: {} },
        { id: 'gap', minGap: 'PT4H', match: { channel: 'push' } },
        { id: 'bf', limit: 2, window: 'P14D', match: { campaignId: 'black-friday' } },
      ],
      relevance: { default: 0.35, byChannel: {}, byCategory: { news: 0.2 }, pressureSlope: 0.4 },
      quietHours: { start: '22:00', end: '08:00', defaultTimezone: 'UTC' },
      channelCosts: { email: 0.001, sms: 0.06, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    });

    expect(describeChanges(before, after)).toEqual([
      { section: 'Caps', text: '“weekly”: 3 per 7 days → 2 per 7 days' },
      {
        section: 'Caps',
        text: '“gap” applies to: Marketing messages on every channel → Marketing messages by Push',
      },
      {
        section: 'Caps',
        text: 'Added “bf”: 2 per 14 days, Marketing messages on every channel, campaign “black-friday”',
      },
      { section: 'Caps', text: 'Removed “sms” (1 per 7 days)' },
      { section: 'Relevance', text: 'Default threshold: 0.3 → 0.35' },
      { section: 'Relevance', text: 'SMS threshold: 0.5 → the default' },
      { section: 'Relevance', text: 'Category “news” threshold: the default → 0.2' },
      { section: 'Quiet hours', text: 'Quiet hours: 21:00–08:00 → 22:00–08:00' },
      { section: 'Quiet hours', text: 'Default time zone: Europe/Paris → UTC' },
      { section: 'Channel costs', text: 'SMS: 0.05 → 0.06 EUR a message' },
    ]);
  });

  it('says when fatigue is turned on and which of its fields changed', () => {
    const fatigue = {
      threshold: 0.1,
      minDelivered: 5,
      capScale: 0.5,
      relevanceBoost: 0.2,
      unengagedRun: 5,
      runCapScale: 0.25,
      runRelevanceBoost: 0.3,
    };
    const on = policy({ fatigue });
    const tuned = policy({ fatigue: { ...fatigue, threshold: 0.15 } });

    expect(describeChanges(policy(), on)).toEqual([{ section: 'Fatigue', text: 'Fatigue: off → on' }]);
    expect(describeChanges(on, tuned)).toEqual([{ section: 'Fatigue', text: 'threshold: 0.1 → 0.15' }]);
  });

  it('finds nothing between a policy and itself, and keeps a unit cost’s small decimals', () => {
    const costs = policy({ channelCosts: { ...policy().channelCosts, push: 0.00045 } });

    expect(describeChanges(policy(), policy())).toEqual([]);
    expect(describeChanges(policy(), costs)).toEqual([
      { section: 'Channel costs', text: 'Push: 0.0005 → 0.00045 EUR a message' },
    ]);
  });
});

describe('reapply', () => {
  it('keeps both edits when two people changed different settings', () => {
    const base = policy();
    const mine = policy({ channelCosts: { ...base.channelCosts, sms: 0.07 } });
    const theirs = policy({ relevance: { ...base.relevance, default: 0.45 } as PolicyDocument['relevance'] });

    const { document, conflicts } = reapply(base, mine, theirs);

    expect(conflicts).toEqual([]);
    expect(document).toEqual(
      policy({
        channelCosts: { ...base.channelCosts, sms: 0.07 },
        relevance: { ...base.relevance, default: 0.45 } as PolicyDocument['relevance'],
      }),
    );
  });

  it('matches caps by id: their new cap and my edit of another both stay, each cap once', () => {
    const base = policy();
    const mine = policy({ caps: (base.caps ?? []).map((c) => (c.id === 'weekly' ? { ...c, limit: 1 } : c)) });
    const theirs = policy({
      caps: [...(base.caps ?? []), { id: 'daily', limit: 1, window: 'P1D', match: {} }],
    });

    const { document, conflicts } = reapply(base, mine, theirs);

    expect(conflicts).toEqual([]);
    expect(document.caps).toEqual([
      { id: 'weekly', limit: 1, window: 'P7D', match: {} },
      { id: 'sms', limit: 1, window: 'P7D', match: { channel: 'sms' } },
      { id: 'gap', minGap: 'PT4H', match: {} },
      { id: 'daily', limit: 1, window: 'P1D', match: {} },
    ]);
  });

  it('reports a setting both changed differently, and keeps mine', () => {
    const base = policy();
    const mine = policy({ caps: (base.caps ?? []).map((c) => (c.id === 'weekly' ? { ...c, limit: 2 } : c)) });
    const theirs = policy({
      caps: (base.caps ?? []).map((c) => (c.id === 'weekly' ? { ...c, limit: 4 } : c)),
    });

    const { document, conflicts } = reapply(base, mine, theirs);

    expect(conflicts).toEqual([{ setting: 'caps:weekly.limit', mine: 2, theirs: 4 }]);
    expect(document.caps?.[0]).toEqual({ id: 'weekly', limit: 2, window: 'P7D', match: {} });
  });

  it('removes a cap I removed, and brings back whole a cap I edited that they removed', () => {
    const base = policy();
    const mine = policy({
      caps: [
        { id: 'weekly', limit: 3, window: 'P7D', match: {} },
        { id: 'sms', limit: 2, window: 'P7D', match: { channel: 'sms' } },
      ],
    });
    const theirs = policy({
      caps: [
        { id: 'weekly', limit: 3, window: 'P7D', match: {} },
        { id: 'gap', minGap: 'PT6H', match: {} },
      ],
    });

    const { document } = reapply(base, mine, theirs);

    expect(document.caps).toEqual([
      { id: 'weekly', limit: 3, window: 'P7D', match: {} },
      { id: 'sms', limit: 2, window: 'P7D', match: { channel: 'sms' } },
    ]);
  });

  it('turns quiet hours off when I did, and keeps them when only they changed them', () => {
    const base = policy();
    const { quietHours: _, ...withoutQuiet } = base;
    const theirs = policy({ quietHours: { start: '22:00', end: '07:00', defaultTimezone: 'Europe/Paris' } });

    expect(reapply(base, withoutQuiet as PolicyDocument, theirs).document.quietHours).toBeUndefined();
    expect(reapply(base, base, theirs).document.quietHours).toEqual(theirs.quietHours);
  });

  it('flattens and rebuilds a document unchanged', () => {
    const document = policy();
    expect(
      unflatten(
        flatten(document),
        (document.caps ?? []).map((c) => c.id),
      ),
    ).toEqual(document);
  });
});
