/**
 * The engine held to the oracle: random policies (several caps that matter at once, in random order),
 * preference changes, feedback and messages from several writers whose clocks differ by seconds, their
 * batches interleaved in the customer's log, appended as production appends them (through the store's
 * entry format, compacted now and then) and decided by `replay`. Every decision must be the oracle's,
 * and no accepted or deferred message may break a cap.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBlock, decodeEntry, encodeBlock, encodeEntry } from '#shared/adapters/dynamodb/entry-codec.ts';
import {
  type CompactionLimits,
  type CustomerBase,
  compact,
  emptyBase,
  type LogEntry,
  replay,
} from '#shared/domain/customer-log.ts';
import { compilePolicy, type MessageFacts, type Verdict } from '#shared/domain/decision.ts';
import type { Channel, Policy, PolicyDocumentInput, PreferencesInput } from '#shared/domain/schemas.ts';
import { propertyRuns } from '../support/property-runs.ts';
import { aPolicy, at, DAY, HOUR, MINUTE, preferences, SECOND } from '../unit/builders.ts';
import { capViolations, DecisionOracle, policyRules, type SendFacts } from './decision-oracle.ts';

const CHANNELS: Channel[] = ['email', 'sms', 'push', 'whatsapp'];
const CATEGORIES = [undefined, 'promotions', 'news'];
const CAMPAIGNS = [undefined, 'spring', 'summer'];
const ZONES = ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Australia/Sydney'];
/** June: no daylight-saving change anywhere in ZONES for the weeks a run spans. */
const START = at('2026-06-01T06:00:00Z');

/** `arb` one time in `1 + absent`, else undefined. */
const sometimes = <T>(arb: fc.Arbitrary<T>, absent = 1) =>
  fc.oneof({ weight: absent, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
const maybe = <T>(arb: fc.Arbitrary<T>) => sometimes(arb, 1);

/** What a cap counts: mostly broad scopes, so that several caps matter at once. */
const matchArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant({}) },
  { weight: 2, arbitrary: fc.record({ channel: fc.constantFrom(...CHANNELS) }) },
  { weight: 1, arbitrary: fc.record({ category: fc.constantFrom('promotions', 'news') }) },
  { weight: 1, arbitrary: fc.record({ campaignId: fc.constantFrom('spring', 'summer') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('transactional' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      channel: fc.constantFrom(...CHANNELS),
      category: fc.constantFrom('promotions', 'news'),
    }),
  },
);

const capArb = fc.oneof(
  fc.record({
    limit: fc.constantFrom(0, 1, 1, 2, 2, 3, 4),
    window: fc.constantFrom('PT30M', 'PT30M', 'PT1H', 'PT1H', 'PT3H', 'PT6H', 'P1D', 'P7D'),
    match: matchArb,
  }),
  fc.record({ minGap: fc.constantFrom('PT10M', 'PT1H', 'PT2H'), match: matchArb }),
  fc.record({
    limit: fc.integer({ min: 1, max: 3 }),
    window: fc.constantFrom('PT1H', 'P1D'),
    minGap: fc.constantFrom('PT15M', 'PT1H'),
    match: matchArb,
  }),
);

const timeArb = fc.constantFrom('00:00', '06:30', '08:00', '12:00', '14:00', '21:00', '22:15');

const policyDocArb: fc.Arbitrary<Partial<PolicyDocumentInput>> = fc.record({
  caps: fc
    .array(capArb, { minLength: 2, maxLength: 5 })
    .map((caps) => caps.map((cap, i) => ({ id: `cap-${i}`, ...cap }))),
  relevance: fc.record({
    default: fc.double({ min: 0, max: 0.5, noNaN: true }),
    byChannel: maybe(
      fc.dictionary(fc.constantFrom(...CHANNELS), fc.double({ min: 0, max: 0.6, noNaN: true })),
    ),
    byCategory: maybe(
      fc.dictionary(fc.constantFrom('promotions', 'news'), fc.double({ min: 0, max: 0.6, noNaN: true })),
    ),
    pressureSlope: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  quietHours: maybe(fc.record({ start: timeArb, end: timeArb, defaultTimezone: fc.constantFrom(...ZONES) })),
  fatigue: fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 2,
      arbitrary: fc.record({
        threshold: fc.constantFrom(0.1, 0.3, 0.5),
        minDelivered: fc.constantFrom(1, 2, 4),
        capScale: fc.constantFrom(0.25, 0.5, 1),
        relevanceBoost: fc.constantFrom(0, 0.2, 0.5),
        unengagedRun: fc.constantFrom(1, 1, 2, 4),
        runCapScale: fc.constantFrom(0, 0.25, 0.5, 0.5),
        runRelevanceBoost: fc.constantFrom(0.1, 0.4),
      }),
    },
  ),
});

const preferencesArb: fc.Arbitrary<{ input: PreferencesInput; pausedForMs?: number | undefined }> = fc.record(
  {
    input: fc.record(
      {
        channels: fc.dictionary(fc.constantFrom(...CHANNELS), fc.record({ optIn: fc.boolean() }), {
          maxKeys: 2,
        }),
        topics: fc.dictionary(fc.constantFrom('promotions', 'news'), fc.boolean(), { maxKeys: 1 }),
        preferredChannels: fc.uniqueArray(fc.constantFrom(...CHANNELS), { minLength: 1, maxLength: 4 }),
        maxPerWeek: fc.constantFrom(0, 3, 8, 20, 40),
        quietHours: fc.record({ start: timeArb, end: timeArb }),
        timezone: fc.constantFrom(...ZONES),
      },
      { requiredKeys: [] },
    ),
    pausedForMs: sometimes(
      fc.integer({ min: 1, max: 48 }).map((h) => h * HOUR),
      5,
    ),
  },
);

const messageArb = fc.record({
  channel: fc.constantFrom(...CHANNELS),
  kind: fc.constantFrom('marketing', 'marketing', 'marketing', 'marketing', 'transactional' as const),
  category: fc.constantFrom(...CATEGORIES),
  campaignId: fc.constantFrom(...CAMPAIGNS),
  relevance: maybe(fc.double({ min: 0.2, max: 1, noNaN: true })),
  notBeforeInMinutes: sometimes(fc.integer({ min: -30, max: 12 * 60 }), 2),
  /** Minutes from when it could go to its expiry: none, now (expired), within the release margin, or later. */
  expiresInMinutes: maybe(
    fc.oneof(
      { weight: 1, arbitrary: fc.constantFrom(0, 1) },
      { weight: 8, arbitrary: fc.integer({ min: 2, max: 30 * 60 }) },
    ),
  ),
  alternateChannels: sometimes(fc.array(fc.constantFrom(...CHANNELS), { minLength: 1, maxLength: 3 }), 3),
  /** A retry of an earlier message (its index among the keys so far), its facts possibly changed. */
  retry: sometimes(fc.record({ of: fc.nat(), sameFacts: fc.boolean() }), 6),
});

const opArb = fc.record({
  /** Minutes the shared timeline moves on before this writer's batch. */
  advance: fc.constantFrom(0, 0, 1, 5, 30, 60, 120, 6 * 60),
  writer: fc.integer({ min: 0, max: 2 }),
  /** How long before its append the writer read its clock (its batch lands after later-stamped ones). */
  lagMs: fc.constantFrom(0, 0, 250, 4 * SECOND),
  policyVersion: fc.constantFrom(1, 1, 2),
  releaseMarginMs: fc.constantFrom(0, 60 * SECOND, 90 * SECOND),
  what: fc.oneof(
    {
      weight: 8,
      arbitrary: fc.array(messageArb, { minLength: 1, maxLength: 3 }).map((m) => ({ messages: m })),
    },
    { weight: 1, arbitrary: preferencesArb.map((p) => ({ preferences: p })) },
    {
      weight: 1,
      arbitrary: fc
        .record({
          channel: fc.constantFrom(...CHANNELS),
          type: fc.constantFrom('unsubscribed' as const, 'complained' as const, 'bounced_hard' as const),
        })
        .map((f) => ({ feedback: f })),
    },
    {
      weight: 3,
      arbitrary: fc
        .record({
          events: fc.array(
            fc.constantFrom('delivered', 'delivered', 'delivered', 'opened', 'clicked' as const),
            {
              minLength: 1,
              maxLength: 4,
            },
          ),
          /** Posts the previous engagement op's events again (a provider's retry). */
          again: fc.boolean(),
        })
        .map((e) => ({ engagement: e })),
    },
  ),
});

const scenarioArb = fc.record({
  v1: policyDocArb,
  v2: policyDocArb,
  /** Each writer's clock, off the shared timeline by up to 5 s (inside the skew margin compaction keeps). */
  skews: fc.tuple(...[0, 1, 2].map(() => fc.integer({ min: -5 * SECOND, max: 5 * SECOND }))),
  ops: fc.array(opArb, { minLength: 5, maxLength: 25 }),
  compactions: fc.uniqueArray(fc.nat({ max: 24 }), { maxLength: 4 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/** A compacted log as the customer store writes it (one block) and reads it back. */
function stored(compacted: { base: CustomerBase; entries: LogEntry[] }) {
  const block = encodeBlock(compacted.base, compacted.entries);
  return block === undefined ? { base: emptyBase(), entries: [] } : decodeBlock(block);
}

/** How many decisions of each kind the runs checked (outcome, or outcome and reason). */
const seen = new Map<string, number>();
const note = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

/** Runs a scenario through the engine and the oracle side by side; returns the first disagreement. */
function run(s: Scenario): string | undefined {
  const versions = new Map<number, Policy>([
    [1, aPolicy(s.v1, 1)],
    [2, aPolicy(s.v2, 2)],
  ]);
  const lookup = (v: number) => compilePolicy(versions.get(v) as Policy);
  const limits: CompactionLimits = {
    horizonMs: Math.max(lookup(1).horizonMs, lookup(2).horizonMs),
    idempotencyMs: 30 * DAY,
    policies: [lookup(1), lookup(2)],
  };
  const oracle = new DecisionOracle((v) => versions.get(v) as Policy);
  let base: CustomerBase = emptyBase();
  let entries: LogEntry[] = [];
  const keys: { key: string; facts: MessageFacts }[] = [];
  const first = new Map<string, Verdict>();
  const sent: (SendFacts & { version: number; maxPerWeek: number | undefined })[] = [];
  let timeline = START;
  let lastEvents: { id: string; type: 'delivered' | 'opened' | 'clicked' }[] = [];
  let eventIds = 0;

  for (const [i, op] of s.ops.entries()) {
    timeline += op.advance * MINUTE;
    const now = timeline + (s.skews[op.writer] ?? 0) - op.lagMs;
    if (s.compactions.includes(i)) {
      const { state } = replay(base, entries, lookup);
      ({ base, entries } = stored(compact(state, timeline + (s.skews[(op.writer + 1) % 3] ?? 0), limits)));
    }
    const batch: LogEntry[] = [];
    const expected: ReturnType<DecisionOracle['message']>[] = [];
    if ('preferences' in op.what) {
      const { input, pausedForMs } = op.what.preferences;
      const prefs = preferences({
        ...input,
        ...(pausedForMs === undefined ? {} : { pausedUntil: new Date(now + pausedForMs).toISOString() }),
      });
      batch.push({ type: 'preferences', at: now, preferences: prefs });
      oracle.setPreferences(prefs);
    } else if ('feedback' in op.what) {
      const { channel, type } = op.what.feedback;
      batch.push({ type: 'feedback', at: now, channel, feedback: type });
      oracle.feedback(channel, type);
    } else if ('engagement' in op.what) {
      const { events, again } = op.what.engagement;
      const fresh = events.map((type) => ({ id: `ev${eventIds++}`, type }));
      const posted = again ? [...lastEvents, ...fresh] : fresh;
      lastEvents = fresh;
      batch.push({ type: 'engagement', at: now, events: posted });
      oracle.engagement(posted, now);
    } else {
      for (const m of op.what.messages) {
        let facts: MessageFacts;
        const earlier = m.retry && keys.length > 0 ? keys[m.retry.of % keys.length] : undefined;
        if (earlier && m.retry?.sameFacts) facts = earlier.facts;
        else {
          const notBefore =
            m.notBeforeInMinutes === undefined ? undefined : now + m.notBeforeInMinutes * MINUTE;
          facts = {
            key: earlier?.key ?? `m-${keys.length}`,
            channel: m.channel,
            kind: m.kind,
            category: m.category,
            campaignId: m.campaignId,
            relevance: m.relevance,
            notBefore,
            expiresAt:
              m.expiresInMinutes === undefined
                ? undefined
                : Math.max(now, notBefore ?? now) + m.expiresInMinutes * MINUTE,
            alternateChannels: m.alternateChannels,
          };
          if (!earlier) keys.push({ key: facts.key, facts });
        }
        batch.push({
          type: 'message',
          at: now,
          policyVersion: op.policyVersion,
          facts,
          releaseMarginMs: op.releaseMarginMs,
        });
        expected.push(oracle.message(facts, now, op.policyVersion, op.releaseMarginMs));
      }
    }
    for (const entry of batch) entries.push(decodeEntry(encodeEntry(entry)));
    const { results } = replay(base, entries, lookup);
    const mine = results.slice(results.length - batch.length);

    for (const [j, entry] of batch.entries()) {
      if (entry.type !== 'message') continue;
      const result = mine[j];
      const want = expected.shift();
      if (result?.type !== 'message' || !want) return `op ${i}: no decision for ${entry.facts.key}`;
      const got = result.decided.verdict;
      const where = `op ${i} at ${new Date(now).toISOString()}, ${entry.facts.key}`;
      note(want.retryOf !== undefined ? (want.conflict ? 'conflict' : 'retry') : got.outcome);
      if (got.outcome !== 'accepted') note(`${got.outcome} ${got.reason}`);
      if (
        got.outcome !== 'accepted' &&
        entry.facts.notBefore !== undefined &&
        entry.facts.relevance !== undefined
      )
        note(`${got.outcome} with notBefore and relevance`);
      if (want.retryOf !== undefined) {
        if (!result.duplicate) return `${where}: a retry decided anew`;
        if (result.conflict !== want.conflict)
          return `${where}: conflict ${result.conflict}, oracle ${want.conflict}`;
        if (JSON.stringify(got) !== JSON.stringify(first.get(entry.facts.key)))
          return `${where}: the retry got ${JSON.stringify(got)}, not the first answer`;
        continue;
      }
      const verdict = JSON.stringify(got);
      const oracleSays = JSON.stringify({ ...want, reasons: [...want.reasons] });
      if (got.outcome !== want.outcome || got.channel !== want.channel)
        return `${where}: engine ${verdict}, oracle ${oracleSays}`;
      if (got.outcome === 'deferred' && got.releaseAt !== want.releaseAt)
        return `${where}: engine ${verdict}, oracle ${oracleSays}`;
      if (got.outcome !== 'accepted' && !want.reasons.has(got.reason))
        return `${where}: engine ${verdict}, oracle ${oracleSays}`;
      const bumped = result.duplicate ? undefined : result.bumped?.[0];
      const bumpedSays = JSON.stringify(
        bumped && {
          key: bumped.key,
          outcome: bumped.verdict.outcome,
          channel: bumped.verdict.channel,
          ...(bumped.verdict.outcome === 'deferred' ? { releaseAt: bumped.verdict.releaseAt } : {}),
        },
      );
      if (bumpedSays !== JSON.stringify(want.bumped))
        return `${where}: the engine bumped ${bumpedSays}, the oracle ${JSON.stringify(want.bumped)}`;
      if (bumped) {
        note(`bumped, ${bumped.verdict.outcome}`);
        if (bumped.verdict.outcome === 'suppressed' && bumped.verdict.reason !== 'preempted')
          return `${where}: the bumped message was suppressed ${bumped.verdict.reason}, not preempted`;
        // The bumped message's reservation moves (or goes): the invariant reads the sends as they are.
        const index = sent.findIndex((x) => x.key === bumped.key);
        const moved = index === -1 ? undefined : sent.splice(index, 1)[0];
        if (moved && bumped.verdict.outcome === 'deferred') {
          const again = {
            ...moved,
            at: bumped.verdict.releaseAt,
            channel: bumped.verdict.channel,
            version: entry.policyVersion,
          };
          sent.push(again);
          const own = again.kind === 'marketing' ? oracle.maxPerWeek : undefined;
          const broken = capViolations(
            policyRules(versions.get(entry.policyVersion) as Policy, own),
            sent,
            again,
          );
          if (broken.length > 0) return `${where}: the bumped message breaks ${broken.join('; ')}`;
        }
      }
      first.set(entry.facts.key, got);
      if (got.outcome !== 'suppressed') {
        const send: SendFacts = {
          key: entry.facts.key,
          at: got.outcome === 'deferred' ? got.releaseAt : now,
          channel: got.channel,
          kind: entry.facts.kind,
          category: entry.facts.category,
          campaignId: entry.facts.campaignId,
        };
        sent.push({ ...send, version: entry.policyVersion, maxPerWeek: oracle.maxPerWeek });
        // No accepted or deferred message breaks a cap of the policy it was decided under.
        const own = send.kind === 'marketing' ? oracle.maxPerWeek : undefined;
        const broken = capViolations(
          policyRules(versions.get(entry.policyVersion) as Policy, own),
          sent,
          send,
        );
        if (broken.length > 0) return `${where}: ${verdict} breaks ${broken.join('; ')}`;
      }
    }
  }
  return undefined;
}

describe('the decision engine against the oracle', () => {
  it('decides every message of random multi-writer logs as the oracle does, and never breaks a cap', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const disagreement = run(scenario);
        expect(disagreement).toBeUndefined();
      }),
      { numRuns: propertyRuns(300), seed: 20261201 },
    );
    // Assess that the runs reached every kind of decision the rules can give.
    console.info('decisions checked against the oracle:', Object.fromEntries([...seen].sort()));
    for (const what of [
      'accepted',
      'deferred frequency_cap',
      'deferred min_gap',
      'deferred quiet_hours_expired',
      'suppressed frequency_cap',
      'suppressed min_gap',
      'suppressed relevance_below_threshold',
      'suppressed opted_out',
      'suppressed topic_opted_out',
      'suppressed paused',
      'suppressed expired',
      'suppressed hard_bounce',
      'suppressed complained',
      'suppressed quiet_hours_expired',
      'suppressed fatigue',
      'deferred fatigue',
      'retry',
      'conflict',
      'bumped, deferred',
      'bumped, suppressed',
    ])
      expect(seen.get(what) ?? 0, what).toBeGreaterThan(10);
    // About 10 s alone; several times that on a loaded machine, which must not fail it.
  }, 300_000);
});
