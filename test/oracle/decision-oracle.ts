/**
 * The decision oracle: the rules of the design written down as plainly as possible, independently of
 * the engine (it imports nothing from the decision or the customer log but their types). It keeps the
 * customer's whole history and answers each message by brute force: every rolling window is counted
 * from scratch, every candidate moment is tried in order, quiet hours are read with Intl in the local
 * time of the customer. It is slow and meant to be: it is the specification the fuzzed engine is held to.
 */
import type { Channel, Kind, Policy, Reason } from '#shared/domain/schemas.ts';

const MINUTE = 60_000;
const WEEK = 7 * 24 * 3600_000;
/** A customer holds at most this many deferred messages (the design's bound on held payloads). */
const MAX_DEFERRED = 50;
/** Engagement halves every 14 days (the design's half-life). */
const HALF_LIFE = 14 * 24 * 3600_000;

export interface OracleMessage {
  key: string;
  channel: Channel;
  kind: Kind;
  category?: string | undefined;
  campaignId?: string | undefined;
  relevance?: number | undefined;
  notBefore?: number | undefined;
  expiresAt?: number | undefined;
  alternateChannels?: Channel[] | undefined;
}

export interface OraclePreferences {
  channels: Partial<Record<Channel, { optIn: boolean }>>;
  topics: Record<string, boolean>;
  preferredChannels?: Channel[] | undefined;
  maxPerWeek?: number | undefined;
  quietHours?: { start: string; end: string } | undefined;
  timezone?: string | undefined;
  pausedUntil?: string | undefined;
}

/** What the oracle expects: the outcome and channel exactly, the reason among those it allows. */
export interface Expected {
  outcome: 'accepted' | 'deferred' | 'suppressed';
  channel: Channel;
  releaseAt?: number;
  /** The reasons a correct engine may give (a deferral's reason is the last rule it waited for). */
  reasons: Set<Reason>;
  /** A retry of a key already decided: the first decision, and whether its facts differ. */
  retryOf?: string;
  conflict?: boolean;
  /** A deferred message of lower relevance whose slot this message took, and what became of it. */
  bumped?: { key: string; outcome: 'deferred' | 'suppressed'; channel: Channel; releaseAt?: number };
}

/**
 * Pre-emption's rule: a suppression for one of these reasons is no lack of a slot (consent, relevance,
 * a pause, an expiry), so a message refused for one of them never takes another's slot.
 */
const NOT_FOR_LACK_OF_A_SLOT = new Set<Reason>([
  'relevance_below_threshold',
  'opted_out',
  'topic_opted_out',
  'paused',
  'hard_bounce',
  'complained',
  'expired',
]);
/** Held messages a message tries to take the slot of, at most. */
const PREEMPTION_TRIES = 8;

/** A message counted against the caps, at the moment it was sent or reserved for. */
interface Counted {
  key: string;
  at: number;
  channel: Channel;
  kind: Kind;
  category?: string | undefined;
  campaignId?: string | undefined;
}

interface Rule {
  id: string;
  limit?: number;
  windowMs?: number;
  gapMs?: number;
  match: { kind?: Kind; channel?: Channel; category?: string; campaignId?: string };
}

/** ISO 8601 durations of days, hours, minutes and seconds, read digit by digit. */
export function oracleDuration(iso: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(iso);
  if (!m) throw new RangeError(`the oracle reads only PnDTnHnMnS durations: ${iso}`);
  const [, d, h, min, s] = m.map((x) => Number(x ?? 0)) as [number, number, number, number, number];
  return ((d * 24 + h) * 60 + min) * MINUTE + s * 1000;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** The local minute of the day (0 to 1439) at `instant` in `timeZone`, from Intl alone. */
function localMinute(instant: number, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  const parts = f.formatToParts(new Date(instant));
  const hour = Number(parts.find((p) => p.type === 'hour')?.value);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value);
  return hour * 60 + minute;
}

const hhmm = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

export class DecisionOracle {
  private preferences: OraclePreferences = { channels: {}, topics: {} };
  private suppressions: Partial<Record<Channel, 'hard_bounce' | 'complained'>> = {};
  private counted: Counted[] = [];
  private decided = new Map<string, { expected: Expected; message: OracleMessage }>();
  /** The deferred messages still holding a slot, with the moment they hold. */
  private held = new Map<string, { message: OracleMessage; releaseAt: number }>();
  /** Deliveries and opens since the customer was last restored (a click, a preference change). */
  private engagements: { at: number; type: 'delivered' | 'opened' }[] = [];
  private eventIds = new Set<string>();
  /** The latest time an engagement entry was written at (the decay never runs backwards). */
  private latestEngagement = 0;

  constructor(private readonly policies: (version: number) => Policy) {}

  /** Every send and reservation the oracle counted (for the invariants). */
  get sends(): readonly Counted[] {
    return this.counted;
  }

  setPreferences(preferences: OraclePreferences): void {
    this.preferences = preferences;
    this.engagements = [];
    for (const [channel, consent] of Object.entries(preferences.channels)) {
      if (consent?.optIn === true) delete this.suppressions[channel as Channel];
    }
  }

  feedback(channel: Channel, type: 'unsubscribed' | 'complained' | 'bounced_hard'): void {
    this.preferences = {
      ...this.preferences,
      channels: { ...this.preferences.channels, [channel]: { optIn: false } },
    };
    if (type === 'complained') this.suppressions[channel] = 'complained';
    if (type === 'bounced_hard') this.suppressions[channel] = 'hard_bounce';
  }

  /** Events posted at `now`; an id posted before counts nothing. */
  engagement(events: readonly { id: string; type: 'delivered' | 'opened' | 'clicked' }[], now: number): void {
    this.latestEngagement = Math.max(this.latestEngagement, now);
    for (const e of events) {
      if (this.eventIds.has(e.id)) continue;
      this.eventIds.add(e.id);
      if (e.type === 'clicked') this.engagements = [];
      else this.engagements.push({ at: this.latestEngagement, type: e.type });
    }
  }

  /**
   * The fatigue at `t`, from the whole history: each delivery and open weighs 2^(-age / half-life); a
   * customer with fewer than minDelivered such deliveries (to the hundredth) is neutral; a run of N
   * deliveries since the last open backs off further.
   */
  fatigue(policy: Policy, t: number): { capScale: number; boost: number } | undefined {
    const f = policy.fatigue;
    if (!f) return undefined;
    const to = Math.max(t, this.latestEngagement);
    const weight = (at: number) => 2 ** (-(to - at) / HALF_LIFE);
    let delivered = 0;
    let engaged = 0;
    let run = 0;
    for (const e of this.engagements) {
      if (e.type === 'delivered') {
        delivered += weight(e.at);
        run++;
      } else {
        engaged += weight(e.at);
        run = 0;
      }
    }
    if (run >= f.unengagedRun) return { capScale: f.runCapScale, boost: f.runRelevanceBoost };
    const neutral = delivered === 0 || Math.round(delivered * 100) / 100 < f.minDelivered;
    if (!neutral && Math.min(1, engaged / delivered) < f.threshold)
      return { capScale: f.capScale, boost: f.relevanceBoost };
    return undefined;
  }

  /** The decision for `message` written at `now` under policy `version`, recorded as the engine would. */
  message(message: OracleMessage, now: number, version: number, releaseMarginMs: number): Expected {
    const first = this.decided.get(message.key);
    if (first) {
      const f = first.message;
      const conflict =
        f.channel !== message.channel ||
        f.kind !== message.kind ||
        f.category !== message.category ||
        f.campaignId !== message.campaignId;
      return { ...first.expected, retryOf: message.key, conflict };
    }
    const expected = this.preempting(message, now, this.policies(version), releaseMarginMs);
    this.decided.set(message.key, { expected, message });
    this.count(message, expected, now);
    return expected;
  }

  /** Counts a decision: its send (made now, or reserved), and the slot it holds when deferred. */
  private count(message: OracleMessage, expected: Expected, now: number): void {
    if (expected.outcome === 'suppressed') return;
    this.counted.push({
      key: message.key,
      at: expected.outcome === 'deferred' ? (expected.releaseAt as number) : now,
      channel: expected.channel,
      kind: message.kind,
      category: message.category,
      campaignId: message.campaignId,
    });
    if (expected.outcome === 'deferred')
      this.held.set(message.key, { message, releaseAt: expected.releaseAt as number });
  }

  /**
   * Pre-emption, by brute force: a relevant marketing message that is deferred or suppressed for lack
   * of a slot tries, least relevant first (then the latest slot, then the key), the deferred messages of
   * strictly lower relevance whose slot is still ahead and before the moment it was given; it takes the
   * first whose absence gives it a better answer (accepted; deferred rather than suppressed; deferred
   * earlier). The one it bumps is decided again at the moment it held, beside it, as a release decides
   * (relevance judged already): it keeps its slot if it still fits there and the customer holds no more
   * than MAX_DEFERRED, else it goes to its next slot, or is suppressed `preempted`.
   */
  private preempting(m: OracleMessage, now: number, policy: Policy, margin: number): Expected {
    const plain = this.decide(m, now, policy, margin);
    if (m.kind !== 'marketing' || m.relevance === undefined || plain.outcome === 'accepted') return plain;
    if (plain.outcome === 'suppressed' && [...plain.reasons].some((r) => NOT_FOR_LACK_OF_A_SLOT.has(r)))
      return plain;
    const relevance = m.relevance;
    const candidates = [...this.held.values()]
      .filter(
        (h) =>
          h.message.kind === 'marketing' &&
          h.message.relevance !== undefined &&
          h.message.relevance < relevance &&
          h.releaseAt > now &&
          (plain.outcome !== 'deferred' || h.releaseAt < (plain.releaseAt as number)),
      )
      .sort(
        (a, b) =>
          (a.message.relevance as number) - (b.message.relevance as number) ||
          b.releaseAt - a.releaseAt ||
          (a.message.key < b.message.key ? -1 : 1),
      )
      .slice(0, PREEMPTION_TRIES);
    const better = (e: Expected) =>
      e.outcome === 'accepted' ||
      (e.outcome === 'deferred' &&
        (plain.outcome === 'suppressed' || (e.releaseAt as number) < (plain.releaseAt as number)));
    const counted = this.counted;
    const held = this.held;
    for (const victim of candidates) {
      const key = victim.message.key;
      // Tried without the victim: its reservation and its slot among the held messages gone.
      this.counted = counted.filter((s) => s.key !== key);
      this.held = new Map([...held].filter(([k]) => k !== key));
      const tried = this.decide(m, now, policy, margin);
      if (!better(tried)) continue;
      // The victim decided again beside the newcomer (counted as it would be), at the moment it held.
      const without = { counted: this.counted, held: this.held };
      this.counted = [...without.counted];
      this.held = new Map(without.held);
      this.count(m, tried, now);
      const again = this.decide(
        { ...victim.message, relevance: undefined, notBefore: undefined },
        victim.releaseAt,
        policy,
        margin,
      );
      const heldBeside = this.held.size;
      // Leave the newcomer for message() to count, as any decision.
      this.counted = without.counted;
      this.held = without.held;
      const reservedOn = counted.find((s) => s.key === key)?.channel;
      if (again.outcome === 'accepted' && heldBeside < MAX_DEFERRED) {
        if (again.channel === reservedOn) {
          this.counted = counted;
          this.held = held;
          return tried;
        }
        // It fits at its moment only on another channel: it keeps the moment, on that channel.
        const moved: Expected = { ...again, outcome: 'deferred', releaseAt: victim.releaseAt };
        this.count(victim.message, moved, victim.releaseAt);
        const bumped = {
          key,
          outcome: 'deferred' as const,
          channel: again.channel,
          releaseAt: victim.releaseAt,
        };
        return { ...tried, bumped };
      }
      if (again.outcome === 'deferred') {
        this.count(victim.message, again, victim.releaseAt);
        const releaseAt = again.releaseAt as number;
        return { ...tried, bumped: { key, outcome: 'deferred', channel: again.channel, releaseAt } };
      }
      return { ...tried, bumped: { key, outcome: 'suppressed', channel: victim.message.channel } };
    }
    this.counted = counted;
    this.held = held;
    return plain;
  }

  /** The rules (caps, gaps, the customer's weekly maximum) that apply to the message on `channel`. */
  rulesFor(policy: Policy, message: OracleMessage, channel: Channel): Rule[] {
    const own = message.kind === 'marketing' ? this.preferences.maxPerWeek : undefined;
    return policyRules(policy, own).filter((r) => matches(r, { ...message, channel }));
  }

  /** The customer's own weekly maximum in force. */
  get maxPerWeek(): number | undefined {
    return this.preferences.maxPerWeek;
  }

  /** The sends a rule counts. */
  countedBy(rule: Rule): Counted[] {
    return this.counted.filter((s) => matches(rule, s));
  }

  private decide(m: OracleMessage, now: number, policy: Policy, margin: number): Expected {
    const suppressed = (reason: Reason): Expected => ({
      outcome: 'suppressed',
      channel: m.channel,
      reasons: new Set([reason]),
    });
    if (m.expiresAt !== undefined && m.expiresAt <= now) return suppressed('expired');
    const marketing = m.kind === 'marketing';
    const paused = this.preferences.pausedUntil;
    if (marketing && paused !== undefined && Date.parse(paused) > now) return suppressed('paused');
    if (marketing && m.category !== undefined && this.preferences.topics[m.category] === false)
      return suppressed('topic_opted_out');

    let channels: Channel[] = [m.channel];
    if (m.alternateChannels !== undefined) {
      channels = [...new Set([m.channel, ...m.alternateChannels])];
      const order = this.preferences.preferredChannels;
      if (order) {
        const rank = (c: Channel) => (order.includes(c) ? order.indexOf(c) : order.length);
        channels.sort((a, b) => rank(a) - rank(b));
      }
    }
    let deferral: Expected | undefined;
    let ruleRefusal: Expected | undefined;
    let consentRefusal: Expected | undefined;
    for (const channel of channels) {
      const hard = this.suppressions[channel];
      if (hard) {
        consentRefusal ??= { outcome: 'suppressed', channel, reasons: new Set([hard]) };
        continue;
      }
      if (marketing && this.preferences.channels[channel]?.optIn === false) {
        consentRefusal ??= { outcome: 'suppressed', channel, reasons: new Set(['opted_out']) };
        continue;
      }
      const verdict = this.onChannel(m, channel, now, policy, margin);
      if (verdict.outcome === 'accepted') return verdict;
      if (verdict.outcome === 'deferred') {
        if (!deferral || (verdict.releaseAt as number) < (deferral.releaseAt as number)) deferral = verdict;
      } else ruleRefusal ??= verdict;
    }
    if (deferral && this.held.size >= MAX_DEFERRED)
      return { outcome: 'suppressed', channel: deferral.channel, reasons: new Set(['frequency_cap']) };
    return deferral ?? ruleRefusal ?? consentRefusal ?? suppressed('opted_out');
  }

  private onChannel(
    m: OracleMessage,
    channel: Channel,
    now: number,
    policy: Policy,
    margin: number,
  ): Expected {
    const rules = this.rulesFor(policy, m, channel).map((rule) => ({ rule, sends: this.countedBy(rule) }));
    const start = Math.max(now, m.notBefore ?? now);
    const fatigue = m.kind === 'marketing' ? this.fatigue(policy, start) : undefined;
    /** A limit as fatigue scales it: rounded down, at least one (a zero stays zero). */
    const scaled = (limit: number) =>
      !fatigue || fatigue.capScale >= 1 || limit === 0
        ? limit
        : Math.max(1, Math.floor(limit * fatigue.capScale));

    if (m.kind === 'marketing' && m.relevance !== undefined) {
      // The stricter of the channel's and the category's threshold, else the default; plus the slope
      // times the fullest applicable window at the moment the message could go.
      const byChannel = policy.relevance.byChannel?.[channel];
      const categories = policy.relevance.byCategory ?? {};
      const byCategory =
        m.category !== undefined && Object.hasOwn(categories, m.category)
          ? categories[m.category]
          : undefined;
      const base =
        byChannel === undefined && byCategory === undefined
          ? policy.relevance.default
          : Math.max(byChannel ?? 0, byCategory ?? 0);
      let fullest = 0;
      for (const { rule, sends } of rules) {
        if (rule.limit === undefined || rule.windowMs === undefined) continue;
        const w = rule.windowMs;
        const used = sends.filter((s) => s.at > start - w && s.at <= start).length;
        fullest = Math.max(fullest, rule.limit === 0 ? 1 : Math.min(1, used / rule.limit));
      }
      const required = Math.min(1, base + policy.relevance.pressureSlope * fullest);
      if (m.relevance < required)
        return { outcome: 'suppressed', channel, reasons: new Set(['relevance_below_threshold']) };
      if (fatigue && m.relevance < Math.min(1, required + fatigue.boost))
        return { outcome: 'suppressed', channel, reasons: new Set(['fatigue']) };
    }

    const quiet = m.kind === 'marketing' ? (this.preferences.quietHours ?? policy.quietHours) : undefined;
    const zone = this.preferences.timezone ?? policy.quietHours?.defaultTimezone ?? 'UTC';
    const isQuiet = (t: number) => {
      if (!quiet) return false;
      const [s, e, local] = [hhmm(quiet.start), hhmm(quiet.end), localMinute(t, zone)];
      if (s === e) return false;
      return s < e ? local >= s && local < e : local >= s || local < e;
    };
    /** What forbids one more send at t: each rule checked on every window that would contain it. */
    const blockers = (t: number): Set<Reason> => {
      const out = new Set<Reason>();
      if (isQuiet(t)) out.add('quiet_hours_expired');
      for (const { rule, sends } of rules) {
        if (rule.limit !== undefined && rule.windowMs !== undefined) {
          const w = rule.windowMs;
          // Windows (u - w, u] containing t end in [t, t + w); the count only rises where a send is.
          const ends = [t, ...sends.filter((s) => s.at > t && s.at < t + w).map((s) => s.at)];
          for (const u of ends) {
            const inWindow = sends.filter((s) => s.at > u - w && s.at <= u).length;
            if (inWindow + 1 > rule.limit) out.add('frequency_cap');
            else if (inWindow + 1 > scaled(rule.limit)) out.add('fatigue');
          }
        }
        if (rule.gapMs !== undefined) {
          const g = rule.gapMs;
          if (sends.some((s) => Math.abs(t - s.at) < g)) out.add('min_gap');
        }
      }
      return out;
    };

    // Every moment a blocker can end: each minute (quiet hours end on a local minute), and when a send
    // leaves a window or a gap. Tried in order from the moment the message could go.
    const horizon = m.expiresAt ?? start + 3 * 24 * 3600_000;
    const candidates = new Set<number>([start]);
    if (quiet) for (let t = Math.ceil(start / MINUTE) * MINUTE; t <= horizon; t += MINUTE) candidates.add(t);
    for (const { rule, sends } of rules) {
      for (const s of sends) {
        if (rule.windowMs !== undefined) candidates.add(s.at + rule.windowMs);
        if (rule.gapMs !== undefined) candidates.add(s.at + rule.gapMs);
      }
    }
    const order = [...candidates].filter((t) => t >= start && t <= horizon).sort((a, b) => a - b);

    const seen = new Set<Reason>();
    for (const t of order) {
      // It must go before it expires, and a deferral's release, up to the margin late, too.
      if (m.expiresAt !== undefined && (t === now ? t : t + margin) >= m.expiresAt) break;
      const blocked = blockers(t);
      if (blocked.size === 0) {
        if (t === now) return { outcome: 'accepted', channel, reasons: new Set() };
        return {
          outcome: 'deferred',
          channel,
          releaseAt: t,
          reasons: seen.size > 0 ? seen : new Set(['expired']),
        };
      }
      for (const r of blocked) seen.add(r);
      // Without an expiry, a message is held only for quiet hours (and notBefore), never for a cap.
      if (m.expiresAt === undefined && !blocked.has('quiet_hours_expired')) break;
    }
    return { outcome: 'suppressed', channel, reasons: seen.size > 0 ? seen : new Set(['expired']) };
  }
}

function matches(rule: Rule, m: Pick<Counted, 'kind' | 'channel' | 'category' | 'campaignId'>): boolean {
  const { kind, channel, category, campaignId } = rule.match;
  return (
    (kind ?? 'marketing') === m.kind &&
    (channel === undefined || channel === m.channel) &&
    (category === undefined || category === m.category) &&
    (campaignId === undefined || campaignId === m.campaignId)
  );
}

/** A send as the invariant reads it. */
export type SendFacts = Pick<Counted, 'key' | 'at' | 'kind' | 'channel' | 'category' | 'campaignId'>;

/**
 * The invariant every history must keep, whatever decided it: no rolling window of a rule holds more
 * sends than its limit, no two sends a gap rule counts are closer than its gap. With `focus`, only the
 * windows and gaps that contain that send (the ones its decision was responsible for).
 */
export function capViolations(
  rules: readonly Rule[],
  sends: readonly SendFacts[],
  focus?: SendFacts,
): string[] {
  const out: string[] = [];
  for (const rule of rules) {
    const mine = sends.filter((s) => matches(rule, s));
    if (focus && !matches(rule, focus)) continue;
    if (rule.limit !== undefined && rule.windowMs !== undefined) {
      const w = rule.windowMs;
      // A window holds the most sends when it ends at one of them: try each.
      for (const end of mine) {
        if (focus && !(end.at >= focus.at && end.at < focus.at + w)) continue;
        const n = mine.filter((o) => o.at > end.at - w && o.at <= end.at).length;
        if (n > rule.limit) out.push(`${rule.id}: ${n} sends in the window ending at ${end.key} (${end.at})`);
      }
    }
    if (rule.gapMs !== undefined) {
      const g = rule.gapMs;
      for (const a of focus ? [focus] : mine)
        for (const b of mine)
          if (a.key !== b.key && Math.abs(a.at - b.at) < g)
            out.push(`${rule.id}: ${a.key} and ${b.key} closer than ${g} ms`);
    }
  }
  return out;
}

/** The policy's rules as the invariant reads them. */
export function policyRules(policy: Policy, maxPerWeek?: number): Rule[] {
  const rules = policy.caps.map((cap) => {
    const rule: Rule = { id: cap.id, match: cap.match };
    if (cap.limit !== undefined && cap.window !== undefined) {
      rule.limit = cap.limit;
      rule.windowMs = oracleDuration(cap.window);
    }
    if (cap.minGap !== undefined) rule.gapMs = oracleDuration(cap.minGap);
    return rule;
  });
  if (maxPerWeek !== undefined)
    rules.push({ id: 'customer.maxPerWeek', limit: maxPerWeek, windowMs: WEEK, match: {} });
  return rules;
}
