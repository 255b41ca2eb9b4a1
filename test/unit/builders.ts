/**
 * Fixture builders for the domain's unit tests: sensible defaults, every field overridable, times as
 * explicit epoch milliseconds (never the wall clock of the machine running the tests).
 */
import type { EntryResult, FeedbackType, LogEntry, PolicyLookup } from '#shared/domain/customer-log.ts';
import {
  type CompiledPolicy,
  type CustomerView,
  compilePolicy,
  type HardSuppression,
  type MessageFacts,
  type Send,
} from '#shared/domain/decision.ts';
import {
  type Channel,
  type Policy,
  type PolicyDocumentInput,
  type Preferences,
  type PreferencesInput,
  policyDocumentSchema,
  preferencesSchema,
} from '#shared/domain/schemas.ts';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const WEEK = 7 * DAY;

/** An instant written as an ISO 8601 timestamp, as epoch milliseconds. */
export const at = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`not a timestamp: ${iso}`);
  return ms;
};

/** Monday 2 March 2026, 10:00 UTC (11:00 in Paris, 05:00 in New York): the default "now". */
export const T0 = at('2026-03-02T10:00:00Z');

const costs = { email: 0.001, sms: 0.05, push: 0.0001, whatsapp: 0.03, currency: 'EUR' };

/** A stored policy: no caps, no relevance threshold, no quiet hours unless given. */
export function aPolicy(doc: Partial<PolicyDocumentInput> = {}, version = 1): Policy {
  const parsed = policyDocumentSchema.parse({ channelCosts: costs, ...doc });
  return { ...parsed, version, createdAt: '2026-01-01T00:00:00Z', author: 'test' };
}

/** The same, compiled as `decide` takes it. */
export function compiled(doc: Partial<PolicyDocumentInput> = {}, version = 1): CompiledPolicy {
  return compilePolicy(aPolicy(doc, version));
}

/** A lookup of policy versions, as `replay` takes it. */
export function policies(...list: Policy[]): PolicyLookup {
  const byVersion = new Map(list.map((p) => [p.version, compilePolicy(p)]));
  return (version) => {
    const c = byVersion.get(version);
    if (!c) throw new RangeError(`no policy version ${version}`);
    return c;
  };
}

export function preferences(input: PreferencesInput = {}): Preferences {
  return preferencesSchema.parse(input);
}

/** A marketing email with no category, relevance, expiry or alternates unless given. */
export function facts(overrides: Partial<MessageFacts> = {}): MessageFacts {
  return { key: 'm-1', channel: 'email', kind: 'marketing', ...overrides };
}

/** A marketing email counted at `when`. */
export function aSend(when: number, overrides: Partial<Send> = {}): Send {
  return { key: `sent-${when}`, at: when, channel: 'email', kind: 'marketing', ...overrides };
}

export function aView(
  view: {
    preferences?: PreferencesInput;
    suppressions?: Partial<Record<Channel, HardSuppression>>;
    sends?: Send[];
  } = {},
): CustomerView {
  return {
    preferences: preferences(view.preferences),
    suppressions: view.suppressions ?? {},
    sends: view.sends ?? [],
  };
}

// ------------------------------------------------------------------------------------------ log entries

export function messageEntry(
  when: number,
  overrides: Partial<MessageFacts> = {},
  policyVersion = 1,
): LogEntry {
  return { type: 'message', at: when, policyVersion, facts: facts(overrides) };
}

export function preferencesEntry(when: number, input: PreferencesInput): LogEntry {
  return { type: 'preferences', at: when, preferences: preferences(input) };
}

export function feedbackEntry(when: number, channel: Channel, feedback: FeedbackType): LogEntry {
  return { type: 'feedback', at: when, channel, feedback };
}

export function releaseEntry(when: number, key: string, releaseAt: number, policyVersion = 1): LogEntry {
  return { type: 'release', at: when, policyVersion, key, releaseAt };
}

// ------------------------------------------------------------------------------------------ randomness

/** A small seeded generator (mulberry32), so that every "random" case can be replayed from its seed. */
export function seeded(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number): number => min + Math.floor(next() * (max - min + 1)),
    chance: (p: number): boolean => next() < p,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new RangeError('pick from an empty list');
      return items[Math.floor(next() * items.length)] as T;
    },
  };
}

/** A message entry of the category `news` (the digests' tests roll these into digests). */
export const newsEntry = (when: number, key: string, more: Parameters<typeof messageEntry>[1] = {}) =>
  messageEntry(when, { key, category: 'news', ...more });

/** The verdict a replay gave the message under `key`. */
export const verdictOf = (results: EntryResult[], key: string) => {
  const r = results.find((x) => x.type === 'message' && x.key === key);
  return r?.type === 'message' ? r.decided.verdict : undefined;
};

/** The replay's first release that was not stale. */
export const releasedOf = (results: EntryResult[]) => {
  const r = results.find((x) => x.type === 'release');
  return r?.type === 'release' && !r.stale ? r : undefined;
};
