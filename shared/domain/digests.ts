/**
 * Digests instead of drops: a marketing message that a cap or gap would suppress, and that matches a
 * rule of the policy's `digests` section, joins the customer's pending digest for that rule instead
 * (`deferred`, reason `digest`, with the digest's id and delivery time). The digest is delivered as one
 * message whose payload lists its items' payloads in order, counted as one send.
 *
 * The rule, exactly:
 * - Only a marketing message suppressed for `frequency_cap` or `min_gap` (not the maximum of
 *   deferrals, not consent, relevance, fatigue, quiet hours or an expiry) may join; the first rule whose
 *   match (channel, category, campaign) fits it is its rule.
 * - It joins the earliest pending digest of that rule (delivery still ahead) that has fewer than
 *   `maxItems` items, goes on a channel the message may take, comes at or after its `notBefore`, and
 *   whose delivery, plus the release margin, comes before its expiry (a deferral is a promise).
 * - Else it opens a new digest, one slot reserved like a deferral's, at the latest at its deadline:
 *   `min(first item + maxWait, its expiry − the release margin − 1 ms)` (digestDeadline). The slot is the
 *   next moment the caps, gaps and quiet hours allow, if that comes before the deadline; else the
 *   deadline itself (a forced digest), if the message would be accepted then but for the policy's caps
 *   and gaps (pastCaps): not in the customer's quiet hours, not past the customer's own `maxPerWeek`,
 *   not before its `notBefore`, the customer holding fewer than MAX_DEFERRED messages. Otherwise it stays suppressed. A forced digest's slot counts as a send like
 *   any other for the messages decided after it, so a window may hold one send more than its cap per
 *   digest; the release of a message deferred before the digest opened does not count it (its
 *   reservation stands: customer-log.ts sendsBefore). A full digest takes no more:
 *   the next capped message opens another one.
 * - The digest's id is `dg_` and its first item's key; its slot is a send under the first item's key
 *   (category and campaign of the first item), which stays the digest's when that item leaves it.
 *   Pre-emption never bumps a digest's item nor its slot (a digest carries no relevance).
 * - At its release (one `release` entry under the digest's id) it is decided like a release: items
 *   expired by then, or refused by the consent, pause or topic in force then, leave it; none left, it is
 *   suppressed; else the digest is decided at the moment it reserved, on its channel, at the latest at
 *   its deadline (the first item's time + the `maxWait` of its rule, and the items left's expiries):
 *   accepted → one delivery of the items left; deferred again (before the deadline) → its items with
 *   it; no slot before the deadline → delivered all the same if it would be accepted then but for the
 *   policy's caps and gaps (they never hold it past its deadline; the customer's `maxPerWeek`, quiet
 *   hours and consent do), else suppressed with its items.
 *
 * Pure: it reads the customer's state and the policy; the replay (customer-log.ts) applies what it says.
 */
import {
  type CompiledPolicy,
  type CustomerView,
  type DecideOptions,
  decide,
  effectiveAt,
  MAX_DEFERRED,
  type MessageFacts,
  type Verdict,
} from './decision.ts';
import { durationMs } from './duration.ts';
import type { Channel, DigestRule, Reason } from './schemas.ts';

export const DIGEST_ID_PREFIX = 'dg_';

/** A digest's id: its first item's key, prefixed. */
export const digestIdOf = (firstKey: string): string => `${DIGEST_ID_PREFIX}${firstKey}`;

/** Whether a log key names a digest (message keys are base64url hashes, never with `_` at 3). */
export const isDigestId = (key: string): boolean => key.startsWith(DIGEST_ID_PREFIX);

/** The key of the send a digest's slot is counted under: its first item's. */
export const digestSendKey = (digestId: string): string => digestId.slice(DIGEST_ID_PREFIX.length);

/** What a held item says of the digest it belongs to. */
export interface DigestOf {
  id: string;
  rule: string;
  /** The channel it is delivered on. */
  channel: Channel;
}

/** What digests read of a held (deferred) message. */
export interface HeldItem {
  facts: MessageFacts;
  releaseAt: number;
  digest?: DigestOf | undefined;
}

/** The digest a verdict makes its message part of (a deferral with reason `digest`). */
export function digestOfVerdict(verdict: Verdict): DigestOf | undefined {
  if (verdict.outcome !== 'deferred' || verdict.reason !== 'digest' || verdict.digestId === undefined)
    return undefined;
  return { id: verdict.digestId, rule: verdict.rule ?? '', channel: verdict.channel };
}

/** The reasons a digest cures: a cap or a gap, nothing else. */
const DIGESTIBLE = new Set<Reason>(['frequency_cap', 'min_gap']);

/** The first digest rule of the policy in force at `t` that matches the message. */
export function digestRuleFor(bound: CompiledPolicy, facts: MessageFacts, t: number): DigestRule | undefined {
  const rules = effectiveAt(bound, t).policy.digests;
  if (!rules || facts.kind !== 'marketing') return undefined;
  return rules.find(
    (r) =>
      (r.match.channel === undefined ||
        r.match.channel === facts.channel ||
        (facts.alternateChannels ?? []).includes(r.match.channel)) &&
      (r.match.category === undefined || r.match.category === facts.category) &&
      (r.match.campaignId === undefined || r.match.campaignId === facts.campaignId),
  );
}

/** A pending digest as its items describe it. */
export interface PendingDigest {
  id: string;
  rule: string;
  releaseAt: number;
  channel: Channel;
  /** Its items' keys, in the order they joined. */
  items: string[];
}

/** The customer's pending digests, from its held items (in the order their first item joined). */
export function pendingDigests(pending: Iterable<HeldItem>): Map<string, PendingDigest> {
  const out = new Map<string, PendingDigest>();
  for (const held of pending) {
    if (!held.digest) continue;
    const d = out.get(held.digest.id);
    if (d) d.items.push(held.facts.key);
    else
      out.set(held.digest.id, {
        id: held.digest.id,
        rule: held.digest.rule,
        releaseAt: held.releaseAt,
        channel: held.digest.channel,
        items: [held.facts.key],
      });
  }
  return out;
}

/** What joining or opening a digest gives a message: its verdict, and whether it opened the digest. */
export interface Joined {
  verdict: Extract<Verdict, { outcome: 'deferred' }>;
  opens: boolean;
}

/**
 * The digest a message's verdict sends it into, if any (see the rule above). Undefined: the verdict
 * stands.
 */
export function digestFor(
  view: CustomerView & { pending: ReadonlyMap<string, HeldItem> },
  facts: MessageFacts,
  verdict: Verdict,
  bound: CompiledPolicy,
  now: number,
  options: DecideOptions,
): Joined | undefined {
  if (facts.kind !== 'marketing' || verdict.outcome !== 'suppressed') return undefined;
  if (!DIGESTIBLE.has(verdict.reason) || verdict.rule === 'maxDeferred') return undefined;
  const rule = digestRuleFor(bound, facts, now);
  if (!rule) return undefined;
  const margin = options.releaseMarginMs ?? 0;
  const channels = [facts.channel, ...(facts.alternateChannels ?? [])];
  const joinable = [...pendingDigests(view.pending.values()).values()]
    .filter(
      (d) =>
        d.rule === rule.id &&
        d.releaseAt > now &&
        d.items.length < rule.maxItems &&
        channels.includes(d.channel) &&
        (facts.notBefore === undefined || facts.notBefore <= d.releaseAt) &&
        (facts.expiresAt === undefined || d.releaseAt + margin < facts.expiresAt),
    )
    .sort((a, b) => a.releaseAt - b.releaseAt);
  const into = joinable[0];
  const made = (channel: Channel, releaseAt: number, id: string) =>
    ({ outcome: 'deferred', channel, releaseAt, reason: 'digest', rule: rule.id, digestId: id }) as const;
  if (into) return { verdict: made(into.channel, into.releaseAt, into.id), opens: false };
  // Open one: the next slot before the deadline (the search for a deferral does exactly that when the
  // message expires at the deadline plus the margin), else the deadline itself.
  const expiries = facts.expiresAt === undefined ? [] : [facts.expiresAt];
  const deadline = digestDeadline(now, rule.maxWait, expiries, margin);
  const onChannel = rule.match.channel === undefined ? {} : { channel: rule.match.channel };
  const asked: MessageFacts = {
    ...facts,
    ...onChannel,
    alternateChannels: onChannel.channel ? undefined : facts.alternateChannels,
  };
  const tried = decide(view, { ...asked, expiresAt: deadline + margin }, bound, now, options);
  const id = digestIdOf(facts.key);
  if (tried.outcome === 'deferred') return { verdict: made(tried.channel, tried.releaseAt, id), opens: true };
  if (deadline <= now || (view.pending?.size ?? 0) >= MAX_DEFERRED) return undefined;
  const forced = pastCaps(view, { ...asked, expiresAt: undefined }, bound, deadline);
  if (forced.outcome !== 'accepted') return undefined;
  return { verdict: made(forced.channel, deadline, id), opens: true };
}

/**
 * The latest moment a digest may be released: `maxWait` after its first item, and soon enough before
 * the earliest expiry of its items that its release, up to the margin late, still comes before it.
 */
export function digestDeadline(
  openedAt: number,
  maxWait: string,
  expiries: readonly number[],
  releaseMarginMs: number,
): number {
  return Math.min(openedAt + durationMs(maxWait), ...expiries.map((e) => e - releaseMarginMs - 1));
}

/**
 * A message decided at `t` as if the policy had no caps nor gaps (its relevance judged already): what
 * a digest at its deadline passes. The customer's own `maxPerWeek`, quiet hours, consent, pause and
 * topics still refuse it.
 */
export function pastCaps(view: CustomerView, facts: MessageFacts, bound: CompiledPolicy, t: number): Verdict {
  const uncapped = (c: CompiledPolicy): CompiledPolicy => ({ ...c, counts: [], gaps: [] });
  const open: CompiledPolicy = {
    ...uncapped(bound),
    arms: bound.arms?.map((a) => ({ ...a, compiled: uncapped(a.compiled) })),
  };
  return decide({ ...view, pending: undefined }, { ...facts, relevance: undefined }, open, t);
}

/**
 * Why an item leaves its digest at the digest's release, if it does: expired by then, or refused by
 * the consent, pause or topic in force then on the digest's channel.
 */
export function leavesDigest(
  view: CustomerView,
  facts: MessageFacts,
  channel: Channel,
  bound: CompiledPolicy,
  releaseAt: number,
  releasedAt: number,
): Extract<Verdict, { outcome: 'suppressed' }> | undefined {
  if (facts.expiresAt !== undefined && facts.expiresAt <= releasedAt)
    return { outcome: 'suppressed', channel, reason: 'expired', rule: 'expiresAt' };
  // Decided alone on the digest's channel, nothing counted: only what no slot cures can refuse it.
  const alone = decide(
    { ...view, sends: [], pending: undefined },
    { key: facts.key, channel, kind: facts.kind, category: facts.category, campaignId: facts.campaignId },
    bound,
    releaseAt,
  );
  if (alone.outcome === 'suppressed' && CONSENT.has(alone.reason)) return alone;
  return undefined;
}

const CONSENT = new Set<Reason>(['opted_out', 'topic_opted_out', 'paused', 'hard_bounce', 'complained']);
