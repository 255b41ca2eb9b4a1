/**
 * The compact text form of a customer's log entries. DynamoDB charges a write unit per KB of item, and
 * every decision rewrites the customer's item, so each entry is one short string: fields separated by
 * `|`, sub-fields by `~`, times in base 36 milliseconds, channels and kinds as one letter. Free-text
 * fields (ids, categories) are escaped so they can hold the separators.
 *
 * Compaction writes what it keeps as one block (one string, so one attribute value to send and parse
 * whatever the number of entries): a header naming the item's categories, campaigns and rules once
 * (entries name them `#<index>`), the base, then one entry a line, each entry's time written as the
 * difference from the line before and its policy version left out when it is the line before's.
 *
 * Blocks come in two formats, both read: `@` (the first) and `!`, which compaction writes now: its lines
 * are all settled entries and say so by their place (no `s|`), write reasons as one letter and rules as
 * words, an accepted send in the verdict itself (`Ae`: accepted on email, sent then, marketing), the
 * channel and kind the message asked for when they are not the verdict's channel and marketing (so a
 * retry that asks for others is known), and folded sends as `*` lines.
 */
import type { CustomerBase, LogEntry, Pending } from '../../domain/customer-log.ts';
import type { MessageFacts, Send, Verdict } from '../../domain/decision.ts';
import { CHANNELS, type Channel, type Kind, REASONS, type Reason } from '../../domain/schemas.ts';

const CHANNEL_CODE: Record<Channel, string> = { email: 'e', sms: 's', push: 'p', whatsapp: 'w' };
const CODE_CHANNEL = new Map(CHANNELS.map((c) => [CHANNEL_CODE[c], c]));
const FEEDBACK_CODE = { unsubscribed: 'u', complained: 'c', bounced_hard: 'b' } as const;
const CODE_FEEDBACK = new Map<string, keyof typeof FEEDBACK_CODE>(
  Object.entries(FEEDBACK_CODE).map(([k, v]) => [v, k as keyof typeof FEEDBACK_CODE]),
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

/**
 * The words a compacted item writes once: categories and campaigns, named in entries by `#<index>`. In a
 * block it also carries the time and policy version of the line before.
 */
export class Dictionary {
  private readonly index = new Map<string, number>();
  lastAt = 0;
  lastVersion = Number.NaN;
  constructor(
    readonly words: string[] = [],
    /** Whether settled entries write their time and version relative to the entry before (in a block). */
    readonly relative = false,
  ) {
    for (const [i, w] of words.entries()) this.index.set(w, i);
  }
  /** A word as entries name it: itself when short, else `#<index>`. */
  ref(word: string | undefined): string {
    if (word === undefined) return '';
    if (word.length <= 3) return escapeField(word);
    let i = this.index.get(word);
    if (i === undefined) {
      i = this.words.push(word) - 1;
      this.index.set(word, i);
    }
    return `#${i.toString(36)}`;
  }
  word(text: string | undefined): string | undefined {
    if (!text) return undefined;
    if (!text.startsWith('#')) return unescapeField(text);
    const word = this.words[Number.parseInt(text.slice(1), 36)];
    if (word === undefined) throw new Error(`corrupt log entry: no word ${text}`);
    return word;
  }
}
const NO_WORDS = new Dictionary();

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

// facts: key ~ channel+kind ~ category ~ campaign ~ relevance ~ notBefore ~ expiresAt ~ alternates
function encodeFacts(f: MessageFacts, words: Dictionary = NO_WORDS): string {
  return trimEnd([
    escapeField(f.key),
    CHANNEL_CODE[f.channel] + kindCode(f.kind),
    words === NO_WORDS ? opt(f.category) : words.ref(f.category),
    words === NO_WORDS ? opt(f.campaignId) : words.ref(f.campaignId),
    f.relevance === undefined ? '' : String(f.relevance),
    optTime(f.notBefore),
    optTime(f.expiresAt),
    (f.alternateChannels ?? []).map((c) => CHANNEL_CODE[c]).join(''),
  ]).join('~');
}

function decodeFacts(text: string, words: Dictionary = NO_WORDS): MessageFacts {
  const [key, ck, category, campaignId, relevance, notBefore, expiresAt, alternates] = text.split('~');
  const facts: MessageFacts = {
    key: unescapeField(key ?? ''),
    channel: channel(ck?.[0]),
    kind: kind(ck?.[1]),
  };
  if (category) facts.category = words.word(category);
  if (campaignId) facts.campaignId = words.word(campaignId);
  if (relevance) facts.relevance = Number(relevance);
  if (notBefore) facts.notBefore = parseTime(notBefore);
  if (expiresAt) facts.expiresAt = parseTime(expiresAt);
  if (alternates) facts.alternateChannels = [...alternates].map((c) => channel(c));
  return facts;
}

// verdict: a<ch> | d<ch>~releaseAt~reason~rule | x<ch>~reason~rule; in a `!` block, reasons are one
// letter and rules words, and `A<ch>` is an accepted marketing send at the decision's time.
function encodeVerdict(v: Verdict, words?: Dictionary): string {
  const ch = CHANNEL_CODE[v.channel];
  if (v.outcome === 'accepted') return `a${ch}`;
  const reason = words ? REASON_CODE[v.reason] : v.reason;
  const rule = words ? words.ref(v.rule) : opt(v.rule);
  if (v.outcome === 'deferred') return trimEnd([`d${ch}`, time(v.releaseAt), reason, rule]).join('~');
  return trimEnd([`x${ch}`, reason, rule]).join('~');
}

function decodeVerdict(text: string, words?: Dictionary): Verdict {
  const [head = '', ...rest] = text.split('~');
  const ch = channel(head[1]);
  if (head[0] === 'a' || head[0] === 'A') return { outcome: 'accepted', channel: ch };
  const reasonOf = (r: string | undefined): Reason => {
    if (!words) return r as Reason;
    const reason = CODE_REASON.get(r ?? '');
    if (!reason) throw new Error(`corrupt log entry: reason ${r}`);
    return reason;
  };
  const ruleOf = (r: string | undefined) => (words ? words.word(r) : parseOpt(r));
  if (head[0] === 'd') {
    const [releaseAt = '0', reason, rule] = rest;
    return {
      outcome: 'deferred',
      channel: ch,
      releaseAt: parseTime(releaseAt),
      reason: reasonOf(reason),
      rule: ruleOf(rule),
    };
  }
  if (head[0] !== 'x') throw new Error(`corrupt log entry: verdict ${text}`);
  const [reason, rule] = rest;
  return { outcome: 'suppressed', channel: ch, reason: reasonOf(reason), rule: ruleOf(rule) };
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

/** One entry's text; a settled entry names its categories and campaigns in `words` when given. */
export function encodeEntry(entry: LogEntry, words: Dictionary = NO_WORDS): string {
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
    case 'settled': {
      const pending = entry.pending
        ? `${time(entry.pending.releaseAt)}~${entry.pending.policyVersion}~${encodeFacts(entry.pending.facts, words)}`
        : '';
      let at = time(entry.at);
      let version = String(entry.policyVersion);
      if (words.relative) {
        const delta = entry.at - words.lastAt;
        at = delta < 0 ? `-${time(-delta)}` : time(delta);
        if (entry.policyVersion === words.lastVersion) version = '';
        words.lastAt = entry.at;
        words.lastVersion = entry.policyVersion;
      }
      return trimEnd([
        's',
        at,
        version,
        escapeField(entry.key),
        encodeVerdict(entry.first),
        trimEnd([words.ref(entry.category), words.ref(entry.campaignId)]).join('~'),
        entry.send ? encodeSend(entry.send, entry.at, entry.first.channel) : '',
        pending,
      ]).join('|');
    }
  }
}

export function decodeEntry(text: string, words: Dictionary = NO_WORDS): LogEntry {
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
    case 's':
      return decodeSettled(text.slice(2), words, false);
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

/** A settled entry in a `!` block: its line (no type: every line is settled but folded sends). */
function encodeSettled(entry: Extract<LogEntry, { type: 'settled' }>, words: Dictionary): string {
  const delta = entry.at - words.lastAt;
  const at = delta < 0 ? `-${time(-delta)}` : time(delta);
  const version = entry.policyVersion === words.lastVersion ? '' : String(entry.policyVersion);
  words.lastAt = entry.at;
  words.lastVersion = entry.policyVersion;
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
  ]).join('|');
}

/** A settled entry's fields after its type: `s|` entries (flat or `@` blocks), or `!` block lines. */
function decodeSettled(text: string, words: Dictionary, lines: boolean): LogEntry {
  const [atText = '0', versionText = '', escapedKey = '', verdictText = '', subject = '', send, pending] =
    text.split('|');
  let decidedAt = parseTime(atText);
  let version = Number(versionText);
  if (words.relative) {
    const delta = atText.startsWith('-') ? -parseTime(atText.slice(1)) : parseTime(atText);
    decidedAt = words.lastAt + delta;
    if (versionText === '') version = words.lastVersion;
    words.lastAt = decidedAt;
    words.lastVersion = version;
  }
  if (!Number.isInteger(version)) throw new Error(`corrupt log entry: ${text}`);
  const [categoryRef, campaignRef, asked] = subject.split('~');
  const key = unescapeField(escapedKey);
  const category = words.word(categoryRef);
  const campaignId = words.word(campaignRef);
  const first = decodeVerdict(verdictText, lines ? words : undefined);
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
  if (lines && asked !== '?') {
    entry.channel = asked ? channel(asked[0]) : first.channel;
    entry.kind = asked ? kind(asked[1]) : 'marketing';
  }
  return entry;
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

/** The base as stored; undefined for a customer with no preferences, suppression or forgotten count. */
export function encodeBase(base: CustomerBase): string | undefined {
  const p = base.preferences;
  const forgotten = base.forgotten && Object.keys(base.forgotten).length > 0 ? base.forgotten : undefined;
  const empty =
    Object.keys(p).every((k) => k === 'channels' || k === 'topics') &&
    Object.keys(p.channels).length === 0 &&
    Object.keys(p.topics).length === 0 &&
    Object.keys(base.suppressions).length === 0 &&
    forgotten === undefined;
  return empty
    ? undefined
    : JSON.stringify({ p, s: base.suppressions, ...(forgotten ? { f: forgotten } : {}) });
}

export function decodeBase(text: string | undefined): CustomerBase {
  if (!text) return { preferences: { channels: {}, topics: {} }, suppressions: {} };
  const { p, s, f } = JSON.parse(text) as {
    p: CustomerBase['preferences'];
    s: CustomerBase['suppressions'];
    f?: Record<string, number>;
  };
  return f ? { preferences: p, suppressions: s, forgotten: f } : { preferences: p, suppressions: s };
}

/** The first line of a block: its format's mark (`!` written, `@` the first format, still read), then its words. */
const BLOCK = '!';
const FIRST_BLOCK = '@';
/**
 * Words in a `!` header are separated by a control character and written as they are: they are ids,
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

export const isBlock = (text: string) => text.startsWith(BLOCK) || text.startsWith(FIRST_BLOCK);

/**
 * The compacted part of a log as one string: the words, the base, then the entries, a line each;
 * undefined when there is nothing to keep.
 */
export function encodeBlock(base: CustomerBase, entries: LogEntry[]): string | undefined {
  const baseText = encodeBase(base);
  if (entries.length === 0 && baseText === undefined) return undefined;
  const words = new Dictionary([], true);
  const lines = entries.map((e) => {
    if (e.type === 'settled') return encodeSettled(e, words);
    if (e.type === 'folded') return encodeFolded(e.send);
    throw new Error(`a block holds settled entries and folded sends, not ${e.type}`);
  });
  return [BLOCK + words.words.map(encodeWord).join(WORD_SEPARATOR), baseText ?? '', ...lines].join('\n');
}

export function decodeBlock(text: string): { base: CustomerBase; entries: LogEntry[] } {
  const [header = '', baseText, ...lines] = text.split('\n');
  if (!isBlock(header) || baseText === undefined) throw new Error('corrupt log block');
  const current = header.startsWith(BLOCK);
  const list =
    header.length <= 1
      ? []
      : current
        ? header.slice(1).split(WORD_SEPARATOR).map(decodeWord)
        : header.slice(1).split('|').map(unescapeField);
  const words = new Dictionary(list, true);
  return {
    base: decodeBase(baseText || undefined),
    entries: lines.map((line) => {
      if (line.startsWith(FOLDED)) return decodeFolded(line);
      return current ? decodeSettled(line, words, true) : decodeEntry(line, words);
    }),
  };
}
