/**
 * The compact text form of a customer's log. DynamoDB charges a write unit per KB of item, and every
 * decision rewrites the customer's item, so each entry is one short string. The item's list `l` holds
 * the block (what compaction kept) first, if there is one, then the raw entries appended since.
 *
 * The grammar, once. `|` separates fields, `~` sub-fields; times are base-36 epoch milliseconds; a
 * channel is one letter (e s p w), channel+kind two (`em`: email, marketing; `st`: sms, transactional);
 * free text (ids, categories) is %-escaped so it can hold the separators; trailing empty fields are cut.
 *
 * | what            | text                                                                             |
 * | --------------- | -------------------------------------------------------------------------------- |
 * | raw message     | `m|at|version|facts[|margin s]`                                                   |
 * | raw preferences | `p|at|escaped preferences JSON`                                                   |
 * | raw feedback    | `f|at|channel|u c b` (unsubscribed, complained, bounced hard)                     |
 * | raw release     | `r|at|version|key|releaseAt[|margin s]`                                           |
 * | raw engagement  | `g|at|events`, events `,`-separated, each `d o c` (delivered, opened, clicked) + id |
 * | raw cancel      | `c|at|key`                                                                        |
 * | folded sends    | `*at~since~count~channel+kind` (raw or in a block)                                |
 * | facts           | `key~channel+kind~category~campaign~relevance~notBefore~expiresAt~alternates`     |
 * | block           | `!words` NL `base JSON or empty` NL one line per settled entry or folded send     |
 * | block words     | the words separated by U+0001 (one holding a control character: U+0002 + URI-encoded) |
 * | settled line    | `Δat|version or empty if the line before's|key|verdict|category~campaign~asked|send|pending|current verdict|after` |
 * | verdict         | `A<ch>` accepted and sent then on it, marketing; `a<ch>`; `d<ch>~releaseAt~reason~rule[~digest]`; `x<ch>~reason~rule` |
 * | asked           | empty: the verdict's channel, marketing; `?`: unknown; else channel+kind           |
 * | send            | `+` / `+t` at the decision's time on the verdict's channel; else `at or empty~channel+kind` |
 * | pending         | `releaseAt~version~facts`                                                         |
 * | after           | `at − the decision's at (`-` when earlier)~version or empty if the decision's~releaseAt or empty` |
 *
 * In a block, Δat is the difference from the line before (from 0 for the first; `-` when earlier), a
 * reason is one letter (REASON_CODE), and a category, campaign or rule longer than three characters is
 * `#<base-36 index>` into the block's words. Words exist only in a block: a settled entry is never
 * written outside one, so every element of an item reads on its own in any process.
 */
import type { CustomerBase, LogEntry, Pending } from '../../domain/customer-log.ts';
import type { MessageFacts, Send, Verdict } from '../../domain/decision.ts';
import type { Engagement, EngagementType } from '../../domain/fatigue.ts';
import { CHANNELS, type Channel, type Kind, REASONS, type Reason } from '../../domain/schemas.ts';

const CHANNEL_CODE: Record<Channel, string> = { email: 'e', sms: 's', push: 'p', whatsapp: 'w' };
const CODE_CHANNEL = new Map(CHANNELS.map((c) => [CHANNEL_CODE[c], c]));
const FEEDBACK_CODE = { unsubscribed: 'u', complained: 'c', bounced_hard: 'b' } as const;
const CODE_FEEDBACK = new Map<string, keyof typeof FEEDBACK_CODE>(
  Object.entries(FEEDBACK_CODE).map(([k, v]) => [v, k as keyof typeof FEEDBACK_CODE]),
);
const ENGAGEMENT_CODE: Record<EngagementType, string> = { delivered: 'd', opened: 'o', clicked: 'c' };
const CODE_ENGAGEMENT = new Map<string, EngagementType>(
  Object.entries(ENGAGEMENT_CODE).map(([k, v]) => [v, k as EngagementType]),
);
const REASON_CODE: Record<Reason, string> = {
  frequency_cap: 'f',
  min_gap: 'g',
  relevance_below_threshold: 'r',
  opted_out: 'o',
  topic_opted_out: 't',
  paused: 'p',
  quiet_hours_expired: 'q',
  expired: 'e',
  hard_bounce: 'b',
  complained: 'c',
  erased: 'x',
  fatigue: 'F',
  cancelled: 'k',
  preempted: 'u',
  digest: 'D',
};
const CODE_REASON = new Map(REASONS.map((r) => [REASON_CODE[r], r]));

const escapeField = (s: string) =>
  s.replace(/[%|~,#\n]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
const unescapeField = (s: string) =>
  s.includes('%')
    ? s.replace(/%([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
    : s;

const time = (t: number) => t.toString(36);
const optTime = (t: number | undefined) => (t === undefined ? '' : time(t));
const parseTime = (s: string) => Number.parseInt(s, 36);
const opt = (s: string | undefined) => (s === undefined ? '' : escapeField(s));
const parseOpt = (s: string | undefined) => (s ? unescapeField(s) : undefined);

/** A block's words: categories, campaigns and rules, named in its lines by `#<index>`. */
class Words {
  private readonly index = new Map<string, number>();
  constructor(readonly list: string[] = []) {
    for (const [i, w] of list.entries()) this.index.set(w, i);
  }
  /** A word as lines name it: itself when short, else `#<index>`. */
  ref(word: string | undefined): string {
    if (word === undefined) return '';
    if (word.length <= 3) return escapeField(word);
    let i = this.index.get(word);
    if (i === undefined) {
      i = this.list.push(word) - 1;
      this.index.set(word, i);
    }
    return `#${i.toString(36)}`;
  }
  word(text: string | undefined): string | undefined {
    if (!text) return undefined;
    if (!text.startsWith('#')) return unescapeField(text);
    const word = this.list[Number.parseInt(text.slice(1), 36)];
    if (word === undefined) throw new Error(`corrupt log entry: no word ${text}`);
    return word;
  }
}

/** The time and policy version of a block's line before, which the next line is written against. */
interface Cursor {
  at: number;
  version: number;
}

function channel(code: string | undefined): Channel {
  const c = code === undefined ? undefined : CODE_CHANNEL.get(code);
  if (!c) throw new Error(`corrupt log entry: channel code ${code}`);
  return c;
}
const kindCode = (k: Kind) => (k === 'marketing' ? 'm' : 't');
const kind = (code: string | undefined): Kind => (code === 't' ? 'transactional' : 'marketing');

function trimEnd(fields: string[]): string[] {
  let n = fields.length;
  while (n > 0 && fields[n - 1] === '') n--;
  return fields.slice(0, n);
}

/** A message's facts; `words` in a block (a pending message), none in a raw entry. */
function encodeFacts(f: MessageFacts, words?: Words): string {
  return trimEnd([
    escapeField(f.key),
    CHANNEL_CODE[f.channel] + kindCode(f.kind),
    words ? words.ref(f.category) : opt(f.category),
    words ? words.ref(f.campaignId) : opt(f.campaignId),
    f.relevance === undefined ? '' : String(f.relevance),
    optTime(f.notBefore),
    optTime(f.expiresAt),
    (f.alternateChannels ?? []).map((c) => CHANNEL_CODE[c]).join(''),
  ]).join('~');
}

function decodeFacts(text: string, words?: Words): MessageFacts {
  const [key, ck, category, campaignId, relevance, notBefore, expiresAt, alternates] = text.split('~');
  const facts: MessageFacts = {
    key: unescapeField(key ?? ''),
    channel: channel(ck?.[0]),
    kind: kind(ck?.[1]),
  };
  if (category) facts.category = words ? words.word(category) : parseOpt(category);
  if (campaignId) facts.campaignId = words ? words.word(campaignId) : parseOpt(campaignId);
  if (relevance) facts.relevance = Number(relevance);
  if (notBefore) facts.notBefore = parseTime(notBefore);
  if (expiresAt) facts.expiresAt = parseTime(expiresAt);
  if (alternates) facts.alternateChannels = [...alternates].map((c) => channel(c));
  return facts;
}

function encodeVerdict(v: Verdict, words: Words): string {
  const ch = CHANNEL_CODE[v.channel];
  if (v.outcome === 'accepted') return `a${ch}`;
  const reason = REASON_CODE[v.reason];
  const rule = words.ref(v.rule);
  if (v.outcome === 'deferred')
    return trimEnd([`d${ch}`, time(v.releaseAt), reason, rule, words.ref(v.digestId)]).join('~');
  return trimEnd([`x${ch}`, reason, rule]).join('~');
}

function decodeVerdict(text: string, words: Words): Verdict {
  const [head = '', ...rest] = text.split('~');
  const ch = channel(head[1]);
  if (head[0] === 'a' || head[0] === 'A') return { outcome: 'accepted', channel: ch };
  const reasonOf = (r: string | undefined): Reason => {
    const reason = CODE_REASON.get(r ?? '');
    if (!reason) throw new Error(`corrupt log entry: reason ${r}`);
    return reason;
  };
  if (head[0] === 'd') {
    const [releaseAt = '0', reason, rule, digestId] = rest;
    const deferred: Verdict = {
      outcome: 'deferred',
      channel: ch,
      releaseAt: parseTime(releaseAt),
      reason: reasonOf(reason),
      rule: words.word(rule),
    };
    if (digestId) deferred.digestId = words.word(digestId);
    return deferred;
  }
  if (head[0] !== 'x') throw new Error(`corrupt log entry: verdict ${text}`);
  const [reason, rule] = rest;
  return { outcome: 'suppressed', channel: ch, reason: reasonOf(reason), rule: words.word(rule) };
}

// send: `+` (`+t` if transactional) when at the decision's time on the verdict's channel, as an accepted
// message's is; else at (empty when the decision's) ~ channel+kind. Key, category and campaign are the
// entry's.
function encodeSend(s: Send, decidedAt: number, verdictChannel: Channel): string {
  if (s.at === decidedAt && s.channel === verdictChannel) return s.kind === 'marketing' ? '+' : '+t';
  return `${s.at === decidedAt ? '' : time(s.at)}~${CHANNEL_CODE[s.channel]}${kindCode(s.kind)}`;
}

function decodeSend(
  text: string,
  entry: {
    key: string;
    at: number;
    channel: Channel;
    category?: string | undefined;
    campaignId?: string | undefined;
  },
): Send {
  const { key, category, campaignId } = entry;
  if (text.startsWith('+'))
    return { key, at: entry.at, channel: entry.channel, kind: kind(text[1]), category, campaignId };
  const [at, ck] = text.split('~');
  return {
    key,
    at: at ? parseTime(at) : entry.at,
    channel: channel(ck?.[0]),
    kind: kind(ck?.[1]),
    category,
    campaignId,
  };
}

/** The optional last field of a raw entry: a release margin other than the default, in whole seconds. */
const margin = (ms: number | undefined) => (ms === undefined ? [] : [time(Math.ceil(ms / 1000))]);
const parseMargin = (text: string | undefined) => (text ? parseTime(text) * 1000 : undefined);

/** A raw entry's text (one element of the item's list): any entry but a settled one. */
export function encodeEntry(entry: LogEntry): string {
  switch (entry.type) {
    case 'message':
      return [
        'm',
        time(entry.at),
        entry.policyVersion,
        encodeFacts(entry.facts),
        ...margin(entry.releaseMarginMs),
      ].join('|');
    case 'preferences':
      return ['p', time(entry.at), escapeField(JSON.stringify(entry.preferences))].join('|');
    case 'feedback':
      return ['f', time(entry.at), CHANNEL_CODE[entry.channel], FEEDBACK_CODE[entry.feedback]].join('|');
    case 'release':
      return [
        'r',
        time(entry.at),
        entry.policyVersion,
        escapeField(entry.key),
        time(entry.releaseAt),
        ...margin(entry.releaseMarginMs),
      ].join('|');
    case 'folded':
      return encodeFolded(entry.send);
    case 'engagement':
      return [
        'g',
        time(entry.at),
        entry.events.map((e) => ENGAGEMENT_CODE[e.type] + escapeField(e.id)).join(','),
      ].join('|');
    case 'cancel':
      return ['c', time(entry.at), escapeField(entry.key)].join('|');
    case 'settled':
      // Its words and its time relative to the line before exist only in a block.
      throw new Error('a settled entry is written in a block (encodeBlock), never on its own');
  }
}

export function decodeEntry(text: string): LogEntry {
  const [type, at = '0', ...rest] = text.split('|');
  switch (type) {
    case 'm':
      return withMargin(
        {
          type: 'message',
          at: parseTime(at),
          policyVersion: Number(rest[0]),
          facts: decodeFacts(rest[1] ?? ''),
        },
        rest[2],
      );
    case 'p':
      return {
        type: 'preferences',
        at: parseTime(at),
        preferences: JSON.parse(unescapeField(rest[0] ?? '{}')),
      };
    case 'f': {
      const feedback = CODE_FEEDBACK.get(rest[1] ?? '');
      if (!feedback) throw new Error(`corrupt log entry: ${text}`);
      return { type: 'feedback', at: parseTime(at), channel: channel(rest[0]), feedback };
    }
    case 'r':
      return withMargin(
        {
          type: 'release',
          at: parseTime(at),
          policyVersion: Number(rest[0]),
          key: unescapeField(rest[1] ?? ''),
          releaseAt: parseTime(rest[2] ?? '0'),
        },
        rest[3],
      );
    case 'g':
      return {
        type: 'engagement',
        at: parseTime(at),
        events: (rest[0] ?? '').split(',').map((e) => {
          const type = CODE_ENGAGEMENT.get(e[0] ?? '');
          if (!type) throw new Error(`corrupt log entry: ${text}`);
          return { type, id: unescapeField(e.slice(1)) };
        }),
      };
    case 'c':
      return { type: 'cancel', at: parseTime(at), key: unescapeField(rest[0] ?? '') };
    default:
      if (text.startsWith(FOLDED)) return decodeFolded(text);
      throw new Error(`corrupt log entry: ${text}`);
  }
}

function withMargin<E extends Extract<LogEntry, { type: 'message' | 'release' }>>(
  entry: E,
  text?: string,
): E {
  const releaseMarginMs = parseMargin(text);
  if (releaseMarginMs !== undefined) entry.releaseMarginMs = releaseMarginMs;
  return entry;
}

/** A settled entry's line in a block (no type: every line is settled but folded sends). */
function encodeSettled(entry: Extract<LogEntry, { type: 'settled' }>, words: Words, before: Cursor): string {
  const delta = entry.at - before.at;
  const at = delta < 0 ? `-${time(-delta)}` : time(delta);
  const version = entry.policyVersion === before.version ? '' : String(entry.policyVersion);
  before.at = entry.at;
  before.version = entry.policyVersion;
  const { first, send } = entry;
  // The common line: accepted, and the send it made then, on that channel, marketing.
  const sentThen =
    first.outcome === 'accepted' &&
    send !== undefined &&
    send.count === undefined &&
    send.at === entry.at &&
    send.channel === first.channel &&
    send.kind === 'marketing';
  const verdict = sentThen ? `A${CHANNEL_CODE[first.channel]}` : encodeVerdict(first, words);
  const asked =
    entry.channel === undefined || entry.kind === undefined
      ? '?'
      : entry.channel === first.channel && entry.kind === 'marketing'
        ? ''
        : CHANNEL_CODE[entry.channel] + kindCode(entry.kind);
  const pending = entry.pending
    ? `${time(entry.pending.releaseAt)}~${entry.pending.policyVersion}~${encodeFacts(entry.pending.facts, words)}`
    : '';
  return trimEnd([
    at,
    version,
    escapeField(entry.key),
    verdict,
    trimEnd([words.ref(entry.category), words.ref(entry.campaignId), asked]).join('~'),
    send && !sentThen ? encodeSend(send, entry.at, first.channel) : '',
    pending,
    entry.current === undefined ? '' : encodeVerdict(entry.current, words),
    entry.after === undefined ? '' : encodeAfter(entry.after, entry.at, entry.policyVersion),
  ]).join('|');
}

function decodeSettled(text: string, words: Words, before: Cursor): LogEntry {
  const [
    atText = '0',
    versionText = '',
    escapedKey = '',
    verdictText = '',
    subject = '',
    send,
    pending,
    current,
    after,
  ] = text.split('|');
  const delta = atText.startsWith('-') ? -parseTime(atText.slice(1)) : parseTime(atText);
  const decidedAt = before.at + delta;
  const version = versionText === '' ? before.version : Number(versionText);
  before.at = decidedAt;
  before.version = version;
  if (!Number.isInteger(version)) throw new Error(`corrupt log entry: ${text}`);
  const [categoryRef, campaignRef, asked] = subject.split('~');
  const key = unescapeField(escapedKey);
  const category = words.word(categoryRef);
  const campaignId = words.word(campaignRef);
  const first = decodeVerdict(verdictText, words);
  let decodedPending: Pending | undefined;
  if (pending) {
    const [releaseAt = '0', pendingVersion, ...facts] = pending.split('~');
    decodedPending = {
      releaseAt: parseTime(releaseAt),
      policyVersion: Number(pendingVersion),
      facts: decodeFacts(facts.join('~'), words),
    };
  }
  const entry: Extract<LogEntry, { type: 'settled' }> = {
    type: 'settled',
    at: decidedAt,
    policyVersion: version,
    key,
    first,
    send: send
      ? decodeSend(send, { key, at: decidedAt, channel: first.channel, category, campaignId })
      : verdictText.startsWith('A')
        ? { key, at: decidedAt, channel: first.channel, kind: 'marketing', category, campaignId }
        : undefined,
    pending: decodedPending,
    category,
    campaignId,
  };
  if (asked !== '?') {
    entry.channel = asked ? channel(asked[0]) : first.channel;
    entry.kind = asked ? kind(asked[1]) : 'marketing';
  }
  if (current) entry.current = decodeVerdict(current, words);
  if (after) entry.after = decodeAfter(after, decidedAt, version);
  return entry;
}

type After = NonNullable<Extract<LogEntry, { type: 'settled' }>['after']>;

function encodeAfter(after: After, decidedAt: number, version: number): string {
  const delta = after.at - decidedAt;
  return trimEnd([
    delta < 0 ? `-${time(-delta)}` : time(delta),
    after.policyVersion === version ? '' : String(after.policyVersion),
    after.releaseAt === undefined ? '' : time(after.releaseAt),
  ]).join('~');
}

function decodeAfter(text: string, decidedAt: number, version: number): After {
  const [atText = '0', versionText = '', releaseAt = ''] = text.split('~');
  const delta = atText.startsWith('-') ? -parseTime(atText.slice(1)) : parseTime(atText);
  const after: After = {
    at: decidedAt + delta,
    policyVersion: versionText === '' ? version : Number(versionText),
  };
  if (releaseAt !== '') after.releaseAt = parseTime(releaseAt);
  return after;
}

/** A folded send: `*` at ~ since ~ count ~ channel+kind. */
const FOLDED = '*';

function encodeFolded(s: Send): string {
  return `${FOLDED}${[time(s.at), time(s.since ?? s.at), s.count ?? 1, CHANNEL_CODE[s.channel] + kindCode(s.kind)].join('~')}`;
}

function decodeFolded(text: string): LogEntry {
  const [at = '', since = '', count = '', ck] = text.slice(FOLDED.length).split('~');
  const n = Number(count);
  if (!at || !since || !Number.isInteger(n) || n < 1) throw new Error(`corrupt log entry: ${text}`);
  const send: Send = {
    key: '',
    at: parseTime(at),
    since: parseTime(since),
    count: n,
    channel: channel(ck?.[0]),
    kind: kind(ck?.[1]),
  };
  return { type: 'folded', at: send.at, send };
}

/**
 * The engagement in the base: `[delivered, engaged, run, at in base 36, seen]`, seen the ids as
 * `id~age` joined by `,`, age the seconds (base 36) from the id's entry to `at`.
 */
type EngagementText = [number, number, number, string, string?];
function encodeEngagement(e: Engagement): EngagementText {
  const text: EngagementText = [e.delivered, e.engaged, e.run, time(e.at)];
  if (e.seen.length > 0)
    text.push(
      e.seen.map((s) => `${s.id}~${Math.max(0, Math.round((e.at - s.at) / 1000)).toString(36)}`).join(','),
    );
  return text;
}
function decodeEngagement([delivered, engaged, run, atText, seen]: EngagementText): Engagement {
  const at = parseTime(atText);
  return {
    delivered,
    engaged,
    run,
    at,
    seen: (seen ? seen.split(',') : []).map((s) => {
      const [id = '', age = '0'] = s.split('~');
      return { id, at: at - parseTime(age) * 1000 };
    }),
  };
}

/**
 * The base as stored; undefined for a customer with no preferences, suppression, forgotten count or
 * engagement.
 */
export function encodeBase(base: CustomerBase): string | undefined {
  const p = base.preferences;
  const forgotten = base.forgotten && Object.keys(base.forgotten).length > 0 ? base.forgotten : undefined;
  const empty =
    Object.keys(p).every((k) => k === 'channels' || k === 'topics') &&
    Object.keys(p.channels).length === 0 &&
    Object.keys(p.topics).length === 0 &&
    Object.keys(base.suppressions).length === 0 &&
    forgotten === undefined &&
    base.engagement === undefined &&
    (base.enrolled ?? []).length === 0;
  return empty
    ? undefined
    : JSON.stringify({
        p,
        s: base.suppressions,
        ...(forgotten ? { f: forgotten } : {}),
        ...(base.engagement ? { g: encodeEngagement(base.engagement) } : {}),
        ...(base.enrolled && base.enrolled.length > 0 ? { x: base.enrolled } : {}),
      });
}

export function decodeBase(text: string | undefined): CustomerBase {
  if (!text) return { preferences: { channels: {}, topics: {} }, suppressions: {} };
  const { p, s, f, g, x } = JSON.parse(text) as {
    p: CustomerBase['preferences'];
    s: CustomerBase['suppressions'];
    f?: Record<string, number>;
    g?: EngagementText;
    /** The experiments the customer joined. */
    x?: string[];
  };
  const base: CustomerBase = { preferences: p, suppressions: s };
  if (f) base.forgotten = f;
  if (g) base.engagement = decodeEngagement(g);
  if (x) base.enrolled = x;
  return base;
}

/** The first line of a block starts with BLOCK, then its words. */
const BLOCK = '!';
/**
 * Words in a block's header are separated by a control character and written as they are: they are ids,
 * categories and rule names, printable by the schemas, so a word full of separators costs its length,
 * not three times it. One with a control character (none passes the schemas) is written URI-encoded
 * after WORD_ENCODED.
 */
const WORD_SEPARATOR = '\u0001';
const WORD_ENCODED = '\u0002';
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for.
const CONTROL = /[\u0000-\u001f]/;
const encodeWord = (w: string) => (CONTROL.test(w) ? WORD_ENCODED + encodeURIComponent(w) : w);
const decodeWord = (w: string) => (w.startsWith(WORD_ENCODED) ? decodeURIComponent(w.slice(1)) : w);

export const isBlock = (text: string) => text.startsWith(BLOCK);

/**
 * The compacted part of a log as one string: the words, the base, then the entries, a line each;
 * undefined when there is nothing to keep.
 */
export function encodeBlock(base: CustomerBase, entries: LogEntry[]): string | undefined {
  const baseText = encodeBase(base);
  if (entries.length === 0 && baseText === undefined) return undefined;
  const words = new Words();
  const before: Cursor = { at: 0, version: Number.NaN };
  const lines = entries.map((e) => {
    if (e.type === 'settled') return encodeSettled(e, words, before);
    if (e.type === 'folded') return encodeFolded(e.send);
    throw new Error(`a block holds settled entries and folded sends, not ${e.type}`);
  });
  return [BLOCK + words.list.map(encodeWord).join(WORD_SEPARATOR), baseText ?? '', ...lines].join('\n');
}

/**
 * A block's parts as text: its header (the words' line as written), its words, its base, its lines (what
 * decodeBlock reads, and reports print).
 */
export function blockParts(text: string): {
  header: string;
  words: string[];
  base: string | undefined;
  lines: string[];
} {
  const [header = '', baseText, ...lines] = text.split('\n');
  if (!isBlock(header) || baseText === undefined) throw new Error('corrupt log block');
  const words = header.length <= 1 ? [] : header.slice(1).split(WORD_SEPARATOR).map(decodeWord);
  return { header, words, base: baseText || undefined, lines };
}

export function decodeBlock(text: string): { base: CustomerBase; entries: LogEntry[] } {
  const parts = blockParts(text);
  const words = new Words(parts.words);
  const before: Cursor = { at: 0, version: Number.NaN };
  return {
    base: decodeBase(parts.base),
    entries: parts.lines.map((line) =>
      line.startsWith(FOLDED) ? decodeFolded(line) : decodeSettled(line, words, before),
    ),
  };
}
