/**
 * Hostile input, property-based (fast-check): for every route of the API, at least 2,000 generated
 * requests — bodies from the route's schema then mutated (fields dropped, retyped, added), random JSON,
 * huge strings, deep nesting, `__proto__` / `constructor` keys, wrong content types, invalid UTF-8,
 * oversize bodies, hostile path segments and query strings — against one local stack, a few at a time.
 *
 * Properties: never a 5xx; every 4xx is an RFC 9457 problem+json; every response carries the security
 * headers; a rejected request changes nothing (no customer state, no policy version, no key, no audit
 * entry); nothing pollutes Object.prototype; no payload reaches the logs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '#local/routes.ts';
import { createDynamoClients } from '#shared/adapters/dynamodb/client.ts';
import { DynamoCustomerStore } from '#shared/adapters/dynamodb/customer-store.ts';
import { SCOPES } from '#shared/app/auth.ts';
import { loadConfig } from '#shared/config.ts';
import { CONSOLE_CSP } from '#shared/console.ts';
import { CHANNELS, EVENT_TYPES } from '#shared/domain/schemas.ts';
import { SECURITY_HEADERS } from '#shared/security-headers.ts';
import { buildConsole } from '../../console/build.ts';
import { capViolations, policyRules, type SendFacts } from '../oracle/decision-oracle.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

/** Requests per route; CI runs the same number. */
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 2000);
/** Requests in flight at once. */
const CONCURRENCY = 8;
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_125);
/** Bodies between the handler's limit (1 MiB) and this reach the handler, which must refuse them. */
const SERVER_MAX_BODY = 2 * 1024 * 1024;
/** Planted in payloads and hostile strings: must never appear in a log line. */
const CANARY = 'PII-CANARY-7c1e';

/**
 * Characters SQS refuses in a body (U+FFFE, U+FFFF, and for fauxqs any beyond U+FFFF): a payload holding
 * them must be decided and queued like any other (the delivery queue escapes them): counted, so that
 * the suite shows it met some.
 */
const SQS_UNSAFE = /[\uD800-\uDFFF\uFFFE\uFFFF]/;
let sqsUnsafeAnswered = 0;

let stack: TestStack;

/**
 * The sends the fuzzed messages were accepted or deferred for, by customer (first answer per message):
 * an accepted one at the moment its request left (never later than the server decided it, so that a
 * deferral to the moment it frees a slot is not taken for a breach), a deferred one at its releaseAt.
 */
const granted = new Map<string, Map<string, SendFacts>>();
function grant(request: unknown, answer: unknown, sentAt: number): void {
  const m = request as { customerId: string; messageId: string; kind?: 'marketing' | 'transactional' };
  const a = answer as {
    decision?: string;
    messageId?: string;
    channel?: SendFacts['channel'];
    releaseAt?: string;
  };
  if ((a.decision !== 'accepted' && a.decision !== 'deferred') || a.messageId !== m.messageId || !a.channel)
    return;
  // Checked against the policy in force before the fuzz: the sends must come before any PUT replaces it.
  expect(outcome.policiesReplaced.size, 'a send fuzzed after the policy changed').toBe(0);
  const sends = granted.get(m.customerId) ?? new Map<string, SendFacts>();
  granted.set(m.customerId, sends);
  if (sends.has(m.messageId)) return;
  const { category, campaignId } = m as { category?: string; campaignId?: string };
  sends.set(m.messageId, {
    key: m.messageId,
    at: a.decision === 'deferred' ? Date.parse(a.releaseAt ?? '') : sentAt,
    channel: a.channel,
    kind: m.kind ?? 'marketing',
    category,
    campaignId,
  });
}

// ------------------------------------------------------------------------------------------ tracking

interface Outcome {
  /** Customers named by requests that were refused, and by requests that succeeded. */
  refusedCustomers: Set<string>;
  touchedCustomers: Set<string>;
  /** Successful requests that must leave one audit entry each. */
  audited: number;
  keysCreated: number;
  /** The If-Match of each PUT that replaced the policy; the paths of the keys revoked. */
  policiesReplaced: Set<string>;
  keysRevoked: Set<string>;
  requests: Map<string, number>;
  statuses: Map<number, number>;
  byRoute: Map<string, Map<number, number>>;
}
const outcome: Outcome = {
  refusedCustomers: new Set(),
  touchedCustomers: new Set(),
  audited: 0,
  keysCreated: 0,
  policiesReplaced: new Set(),
  keysRevoked: new Set(),
  requests: new Map(),
  statuses: new Map(),
  byRoute: new Map(),
};

let logs = '';
const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
function captureLogs() {
  for (const name of ['stdout', 'stderr'] as const) {
    const original = writes[name];
    process[name].write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      if (logs.length < 5_000_000)
        logs += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return (original as (...args: unknown[]) => boolean).call(process[name], chunk, ...rest);
    }) as typeof process.stdout.write;
  }
}
function restoreLogs() {
  process.stdout.write = writes.stdout;
  process.stderr.write = writes.stderr;
}

const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort();
let prototypeBefore: string[] = [];

// ---------------------------------------------------------------------------------------- generators

const SPECIAL_STRINGS = [
  '',
  ' ',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '\u0000',
  '\ud800',
  '\udfff\ud800',
  '💥',
  'e\u0301',
  '../../etc/passwd',
  '%00',
  '%2e%2e',
  '<script>alert(1)</script>',
  "' OR '1'='1' --",
  '\u0024{jndi:ldap://x/a}',
  '{{7*7}}',
  'NaN',
  '-0',
  '1e309',
  'null',
  CANARY,
];
const specialString = fc.constantFrom(...SPECIAL_STRINGS);
const codePoint = fc.integer({ min: 0, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp));
const anyString = fc.oneof(
  { weight: 3, arbitrary: specialString },
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  // Any code point, lone surrogates included (a custom unit: fc's 'binary' unit costs seconds to build).
  { weight: 2, arbitrary: fc.string({ unit: codePoint, maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 129, max: 2000 }).map((n) => 'x'.repeat(n)) },
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  anyString,
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, {}, []),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }),
  fc.array(anyString, { maxLength: 3 }),
);
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', '__defineGetter__'];
const extraKey = fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.string({ maxLength: 12 }));

type Op = { kind: 'drop' | 'set' | 'add' | 'wrap'; at: number; key: string; value: unknown };
const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('drop', 'set', 'set', 'add', 'wrap'),
  at: fc.nat(),
  key: extraKey,
  value: hostileValue,
});

function containers(value: unknown, found: (Record<string, unknown> | unknown[])[] = []) {
  if (typeof value === 'object' && value !== null) {
    found.push(value as Record<string, unknown>);
    for (const child of Object.values(value)) containers(child, found);
  }
  return found;
}

/** Sets an own, enumerable property, `__proto__` included (JSON.stringify then writes it out). */
function define(target: object, key: string, value: unknown) {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function apply(value: unknown, { kind, at, key, value: shared }: Op): unknown {
  // Generated values may be shared (constants): never put the same object in two places.
  const replacement = structuredClone(shared);
  if (kind === 'wrap') return at % 2 === 0 ? [value] : { data: value };
  const all = containers(value);
  if (all.length === 0) return replacement;
  const target = all[at % all.length]!;
  const keys = Object.keys(target);
  if (Array.isArray(target)) {
    if (kind === 'add' || target.length === 0) target.push(replacement);
    else if (kind === 'drop') target.splice(at % target.length, 1);
    else target[at % target.length] = replacement;
  } else if (kind === 'add' || keys.length === 0) define(target, key, replacement);
  else if (kind === 'drop') delete target[keys[at % keys.length]!];
  else define(target, keys[at % keys.length]!, replacement);
  return value;
}

/**
 * A model value mutated by one to three operations, or (one time in ten) left as generated: valid
 * requests still come, with hostile but valid content, but most are refused before any write.
 */
const mutated = (model: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 1, arbitrary: model },
    {
      weight: 9,
      arbitrary: fc
        .tuple(model, fc.array(op, { minLength: 1, maxLength: 3 }))
        .map(([value, ops]) => ops.reduce(apply, structuredClone(value) as unknown)),
    },
  );

interface Body {
  body?: string | Uint8Array;
  contentType?: string | undefined;
}
const JSON_TYPE = 'application/json';
const contentType = fc.constantFrom(
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'application/merge-patch+json',
  'application/json;;;',
  undefined,
);

/** A request body for a model: mostly mutated JSON, the rest hostile encodings of every kind. */
function bodyOf(model: fc.Arbitrary<unknown>): fc.Arbitrary<Body> {
  const text = (value: unknown) => JSON.stringify(value) ?? 'null';
  return fc.oneof(
    { weight: 60, arbitrary: mutated(model).map((v) => ({ body: text(v), contentType: JSON_TYPE })) },
    { weight: 6, arbitrary: hostileValue.map((v) => ({ body: text(v), contentType: JSON_TYPE })) },
    {
      weight: 5,
      arbitrary: fc.tuple(model, contentType).map(([v, type]) => ({ body: text(v), contentType: type })),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(model, fc.uint8Array({ minLength: 1, maxLength: 4 })).map(([v, bytes]) => ({
        body: Buffer.concat([
          Buffer.from(text(v).slice(0, -1)),
          Buffer.from([0xff, 0xfe, ...bytes]),
          Buffer.from('}'),
        ]),
        contentType: JSON_TYPE,
      })),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(model, fc.nat()).map(([v, cut]) => ({
        body: text(v).slice(0, cut % Math.max(1, text(v).length)),
        contentType: JSON_TYPE,
      })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.integer({ min: 65, max: 20_000 }), fc.constantFrom('[]', '{}'), fc.boolean())
        .map(([depth, pair, inPayload]) => {
          const nested =
            pair === '[]'
              ? `${'['.repeat(depth)}${']'.repeat(depth)}`
              : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
          return {
            body: inPayload
              ? `{"messageId":"m","customerId":"c","channel":"email","payload":{"x":${nested}}}`
              : nested,
            contentType: JSON_TYPE,
          };
        }),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(model, fc.integer({ min: 10_000, max: 100_000 }), fc.nat()).map(([v, size, at]) => {
        const huge = apply(structuredClone(v), { kind: 'set', at, key: 'x', value: 'x'.repeat(size) });
        return { body: text(huge), contentType: JSON_TYPE };
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 1024 * 1024 + 1, max: 1024 * 1024 + 65_536 })
        .map((size) => ({ body: `{"x":"${'y'.repeat(size - 8)}"}`, contentType: JSON_TYPE })),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(model, fc.constantFrom(...PROTO_KEYS)).map(([v, key]) => ({
        body: text(v).replace(/^\{/, `{"${key}":{"polluted":"${CANARY}","isAdmin":true},`),
        contentType: JSON_TYPE,
      })),
    },
    { weight: 2, arbitrary: fc.constantFrom<Body>({}, { body: '', contentType: JSON_TYPE }, { body: ' ' }) },
  );
}

/**
 * A body where none is expected (GET, DELETE): API Gateway passes it on, so the functions must refuse a
 * malformed one as they would on a POST. Mostly malformed: refused before any read.
 */
const strayBody: fc.Arbitrary<Body | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  {
    weight: 5,
    arbitrary: fc
      .tuple(hostileValue, contentType)
      .map(([v, type]) => ({ body: JSON.stringify(v) ?? 'null', contentType: type })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 30 }), fc.uint8Array({ minLength: 1, maxLength: 4 }))
      .map(([text, bytes]) => ({
        body: Buffer.concat([Buffer.from(text), Buffer.from([0xc3, 0x28, ...bytes])]),
        contentType: JSON_TYPE,
      })),
  },
  {
    weight: 3,
    arbitrary: fc.string({ maxLength: 30 }).map((text) => ({ body: `{${text}`, contentType: JSON_TYPE })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 65, max: 5000 })
      .map((d) => ({ body: `${'['.repeat(d)}${']'.repeat(d)}`, contentType: JSON_TYPE })),
  },
  {
    weight: 1,
    arbitrary: hostileValue.map((v) => ({ body: JSON.stringify(v) ?? 'null', contentType: JSON_TYPE })),
  },
);

const iso = fc
  .integer({ min: Date.parse('2020-01-01'), max: Date.parse('2030-01-01') })
  .map((t) => new Date(t).toISOString());
const timestamp = fc.oneof({ weight: 4, arbitrary: iso }, { weight: 1, arbitrary: anyString });
/** Mostly fresh customers; a few that many messages name, so that their caps fill up. */
const fuzzCustomer = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 999_999 }).map((i) => `fz-${i}`) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 4 }).map((i) => `fz-hot-${i}`) },
);
const channel = fc.oneof(
  { weight: 9, arbitrary: fc.constantFrom(...CHANNELS) },
  { weight: 1, arbitrary: anyString },
);

const messageModel = fc.record(
  {
    messageId: fc.integer({ min: 0 }).map((i) => `fz-m-${i}`),
    customerId: fuzzCustomer,
    channel,
    kind: fc.constantFrom('marketing', 'transactional'),
    category: fc.constantFrom('promotions', 'newsletter', 'constructor', 'toString', '__proto__'),
    campaignId: fc.constantFrom('bf', 'xmas', 'hasOwnProperty'),
    relevance: fc.double({ min: 0, max: 1, noNaN: true }),
    notBefore: timestamp,
    expiresAt: timestamp,
    alternateChannels: fc.array(channel, { maxLength: 5 }),
    payload: fc
      .dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
      .map((p) => ({ ...p, note: CANARY })),
  },
  { requiredKeys: ['messageId', 'customerId', 'channel', 'payload'] },
);
const windowArb = fc.constantFrom('P7D', 'PT1H', 'P1W', 'P91D', 'P1M', 'PT0S', 'x', '');
const unit = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(-0.1, 1.1, 2));
const policyModel = fc.record(
  {
    caps: fc.array(
      fc.record(
        {
          id: fc.constantFrom('weekly', 'daily', 'gap', '__proto__', 'a b'),
          limit: fc.integer({ min: -1, max: 20 }),
          window: windowArb,
          minGap: windowArb,
          match: fc.record(
            { kind: fc.constantFrom('marketing', 'transactional'), channel, category: anyString },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: ['id'] },
      ),
      { maxLength: 3 },
    ),
    relevance: fc.record(
      {
        default: unit,
        byChannel: fc.dictionary(channel, unit, { maxKeys: 2 }),
        byCategory: fc.dictionary(fc.constantFrom('news', 'constructor', '__proto__', 'toString'), unit, {
          maxKeys: 2,
        }),
        pressureSlope: unit,
      },
      { requiredKeys: ['default'] },
    ),
    quietHours: fc.record(
      {
        start: fc.constantFrom('21:00', '25:00', '9:00'),
        end: fc.constantFrom('08:00', '24:00'),
        defaultTimezone: fc.constantFrom('Europe/Paris', 'UTC', 'Mars/Olympus', ''),
      },
      { requiredKeys: ['start', 'end'] },
    ),
    channelCosts: fc.record({
      email: fc.double({ min: -1, max: 2, noNaN: true }),
      sms: fc.double({ min: 0, max: 1, noNaN: true }),
      push: fc.constant(0.0005),
      whatsapp: fc.constant(0.04),
      currency: fc.constantFrom('EUR', 'USD', 'eur', 'EURO'),
    }),
  },
  { requiredKeys: ['channelCosts'] },
);
/** A policy the schema takes: PUTs with a fresh ETag and dry-runs reach past validation with it. */
const validPolicyModel = fc.record(
  {
    caps: fc.uniqueArray(
      fc.record(
        {
          id: fc.constantFrom('weekly', 'daily', 'hourly', 'burst'),
          limit: fc.integer({ min: 0, max: 20 }),
          window: fc.constantFrom('P7D', 'P1D', 'PT1H'),
          match: fc.record(
            { kind: fc.constantFrom('marketing', 'transactional'), channel: fc.constantFrom(...CHANNELS) },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: ['id', 'limit', 'window'] },
      ),
      { selector: (cap) => cap.id, maxLength: 3 },
    ),
    relevance: fc.record({
      default: fc.double({ min: 0, max: 1, noNaN: true }),
      pressureSlope: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    quietHours: fc.constant({ start: '22:00', end: '07:00', defaultTimezone: 'Europe/Paris' }),
    channelCosts: fc.record({
      email: fc.double({ min: 0, max: 2, noNaN: true }),
      sms: fc.double({ min: 0, max: 1, noNaN: true }),
      push: fc.constant(0.0005),
      whatsapp: fc.constant(0.04),
      currency: fc.constantFrom('EUR', 'USD'),
    }),
  },
  { requiredKeys: ['channelCosts'] },
);
/** A valid body, as is (bodyOf sends a model unmutated only one time in ten, and rarely a valid one). */
const validBody = (model: fc.Arbitrary<unknown>): fc.Arbitrary<Body> =>
  model.map((v) => ({ body: JSON.stringify(v), contentType: JSON_TYPE }));
/** A body for a route: mostly hostile, one in `1 + hostile` valid. */
const bodyFor = (hostile: number, model: fc.Arbitrary<unknown>, valid: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: hostile, arbitrary: bodyOf(model) }, { weight: 1, arbitrary: validBody(valid) });
const preferencesModel = fc.record(
  {
    channels: fc.dictionary(
      fc.constantFrom(...CHANNELS, 'fax', '__proto__'),
      fc.record(
        { optIn: fc.boolean(), source: fc.oneof(fc.string({ maxLength: 70 }), specialString), at: timestamp },
        { requiredKeys: ['optIn'] },
      ),
      { maxKeys: 3 },
    ),
    topics: fc.dictionary(
      fc.constantFrom('promotions', 'news', 'constructor', '__proto__', 'toString'),
      fc.boolean(),
      {
        maxKeys: 3,
      },
    ),
    preferredChannels: fc.array(channel, { maxLength: 5 }),
    maxPerWeek: fc.integer({ min: -1, max: 1001 }),
    quietHours: fc.record({ start: fc.constantFrom('22:00', '25:00'), end: fc.constantFrom('07:00', 'x') }),
    timezone: fc.constantFrom('Europe/Paris', 'UTC', 'Mars/Olympus', ''),
    pausedUntil: timestamp,
  },
  { requiredKeys: [] },
);
const eventsModel = fc.array(
  fc.record(
    {
      messageId: fc.constant('fz-m-1'),
      customerId: fuzzCustomer,
      channel,
      type: fc.constantFrom(...EVENT_TYPES, 'liked'),
      at: timestamp,
    },
    { requiredKeys: ['customerId', 'channel', 'type', 'at'] },
  ),
  { maxLength: 4 },
);
const keyModel = fc.record(
  {
    name: fc.oneof(fc.string({ maxLength: 70 }), specialString),
    scopes: fc.array(fc.constantFrom(...SCOPES, 'root', 'ADMIN', '*'), { maxLength: 4 }),
    rateLimit: fc.oneof(fc.integer({ min: -1, max: 200_000 }), fc.double()),
  },
  { requiredKeys: [] },
);
/** Days close together, so that a valid period costs a few reads, not a year of them. */
const dayArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('2026-01-01', '2026-01-02', '2026-01-03') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '2026-02-30',
      '2026-13-01',
      '2026-1-1',
      '',
      '2026-01-01T00:00:00Z',
      '0000-00-00',
    ),
  },
  { weight: 1, arbitrary: anyString },
);
/** In queries, valid periods are rarer still: each reads every day's shards of its period. */
const queryDay = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom('2026-01-01', '2026-01-02', '2026-01-03') },
  {
    weight: 6,
    arbitrary: fc.constantFrom('2026-02-30', '2026-13-01', '2026-1-1', '', '2026-01-01T00:00:00Z'),
  },
  { weight: 2, arbitrary: anyString },
);
const reconcileModel = fc.record({ days: fc.array(dayArb, { maxLength: 2 }) }, { requiredKeys: [] });
const validDay = fc.constantFrom('2026-01-01', '2026-01-02', '2026-01-03');
/**
 * Reconciling takes only days the logs still remember (the last 72 hours): the day the suite started and
 * the day before, both within them for the whole run whatever the hour.
 */
const recentDays = [0, 1].map((back) => new Date(Date.now() - back * 86_400_000).toISOString().slice(0, 10));
const validReconcile = fc.record({
  days: fc.uniqueArray(fc.constantFrom(...recentDays), { minLength: 1, maxLength: 2 }),
});
// Periods long before the traffic: a dry-run the fuzz starts replays an empty archive.
const dryRunModel = fc.record(
  {
    policy: policyModel,
    from: fc.constantFrom('2020-01-01', '2020-01-31', '2020-01-01T00:00:00Z', '2020-13-01', 'yesterday'),
    to: fc.constantFrom('2020-01-01', '2020-01-31', '2020-03-31', '2019-12-31'),
  },
  { requiredKeys: [] },
);
const batchModel = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.record({
      messages: fc.array(fc.oneof(mutated(messageModel), hostileValue), { maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ messages: Array.from({ length: 501 }, () => ({})) }) },
);

const QUERY_KEYS = ['from', 'to', 'limit', 'cursor', 'groupBy', 'format', 'month', ...PROTO_KEYS, 'x'];
const queryModel = fc.record(
  {
    from: queryDay,
    to: queryDay,
    limit: fc.oneof(fc.integer({ min: -1, max: 2000 }).map(String), anyString),
    cursor: anyString,
    groupBy: fc.constantFrom('day', 'day,reason', 'reason,channel,campaign', 'nope', ''),
    format: fc.constantFrom('json', 'csv', 'xml'),
    // Never a valid month: a monthly summary reads two months of tally shards (~500 queries), which
    // would make this suite a benchmark of the reports; their own tests cover valid months.
    month: fc.constantFrom('2026-13', '2026-00', '2026-1', '202601', 'x', ''),
  },
  { requiredKeys: [] },
);
const queryOf = fc
  .tuple(queryModel, fc.dictionary(fc.constantFrom(...QUERY_KEYS), anyString, { maxKeys: 2 }), fc.boolean())
  .map(([model, extra, withExtra]) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(model)) params.append(key, String(value));
    if (withExtra) for (const [key, value] of Object.entries(extra)) params.append(key, value);
    return params.toString().replace(/[^\x21-\x7e]/g, encodeURIComponent);
  });

/**
 * A query for a route: one in four valid (`valid`, or none at all for a route that takes none), so that
 * every route answers successes as well as refusals; the rest from `queryOf`.
 */
const queryFor = (valid: fc.Arbitrary<string> = fc.constant('')) =>
  fc.oneof({ weight: 1, arbitrary: valid }, { weight: 3, arbitrary: queryOf });
const period = fc
  .tuple(validDay, validDay)
  .map(([a, b]) => (a <= b ? `from=${a}&to=${b}` : `from=${b}&to=${a}`));
const VALID_QUERIES = {
  suppressed: fc
    .tuple(
      period,
      fc.constantFrom('', '&groupBy=day', '&groupBy=reason,channel', '&groupBy=campaign,category'),
    )
    .chain(([p, g]) => fc.constantFrom('', '&format=csv', '&format=json').map((f) => `${p}${g}${f}`)),
  // A valid month reads two months of tally shards (~500 queries): one summary in 40 valid ones.
  summary: fc.oneof(
    { weight: 39, arbitrary: validDay.map((d) => `day=${d}`) },
    { weight: 1, arbitrary: fc.constant('month=2026-01') },
  ),
  audit: fc.tuple(period, fc.constantFrom('', '&limit=1', '&limit=1000')).map(([p, l]) => `${p}${l}`),
};

/** Percent-encodes every byte of the UTF-8 form but unreserved characters (lone surrogates included). */
const percentEncode = (s: string) =>
  [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).padStart(2, '0')}`,
    )
    .join('');
/** A path segment and its raw value; never empty, `.` or `..` (the URL would name another route). */
const segment = (valid: fc.Arbitrary<string>) =>
  fc
    .oneof({ weight: 1, arbitrary: valid }, { weight: 3, arbitrary: anyString })
    .map((raw) => (raw === '' || raw === '.' || raw === '..' ? 'dot' : raw))
    .map((raw) => ({ raw, encoded: percentEncode(raw) }));
const keyIdArb = fc.oneof(
  fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex')),
  anyString,
);
const authorization = fc.oneof(
  { weight: 30, arbitrary: fc.constant('admin') },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.constantFrom('', 'Bearer', 'Basic YTpi', `Bearer gov_0123456789abcdef_${'A'.repeat(43)}`),
      fc.string({
        unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
        maxLength: 80,
      }),
    ),
  },
);
/** Stands for the current policy's ETag, read just before the request leaves: such a PUT may succeed. */
const FRESH_ETAG = '<fresh>';
const ifMatch = fc.oneof(
  { weight: 2, arbitrary: fc.constant(FRESH_ETAG) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('"999999"', 'W/"12345"', '"0"', '', 'yesterday', '"1", "2"', undefined),
  },
);
/**
 * Stands, in a path, for the id of a dry-run or key an earlier request of the fuzz created (chosen when
 * the request leaves), so that reads and revocations of existing ones succeed too.
 */
const CREATED = '@created@';
const created = {
  dryRuns: [] as string[],
  /** `<campaignId>/cancellations/<id>`, encoded, of the campaign cancellations started. */
  campaignCancels: [] as string[],
  keys: [] as string[],
  /** `<messageId>?customerId=<customerId>`, both encoded, of the messages sent and decided. */
  messages: [] as string[],
};
/** A message's status or cancellation: one in four of a message the fuzz sent, the rest hostile. */
const messageRoute = fc
  .oneof(
    { weight: 1, arbitrary: fc.constant({ path: `/v1/messages/${CREATED}` }) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          segment(fuzzCustomer),
          fc.oneof(
            queryOf,
            fuzzCustomer.map((c) => `customerId=${encodeURIComponent(c)}`),
          ),
        )
        .map(([s, query]) => ({ path: `/v1/messages/${s.encoded}`, query })),
    },
  )
  .map((parts): Parts => parts);

// ------------------------------------------------------------------------------------- the requests

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
  body?: string | Uint8Array | undefined;
  /** The customers the request names (before mutation). */
  customers: string[];
}

type Parts = {
  path: string;
  body?: Body;
  query?: string;
  customers?: string[];
  ifMatch?: string | undefined;
};

const customersOf = (value: unknown): string[] => {
  const found: string[] = [];
  const visit = (v: unknown) => {
    if (typeof v !== 'object' || v === null) return;
    const id = (v as { customerId?: unknown }).customerId;
    if (typeof id === 'string') found.push(id);
    for (const child of Object.values(v)) visit(child);
  };
  visit(value);
  return found;
};

/** The request generator of each route; a route without one fails the suite (every route is fuzzed). */
const GENERATORS: Record<string, fc.Arbitrary<Parts>> = {
  'POST /v1/messages': fc
    .tuple(messageModel, bodyOf(messageModel))
    .map(([m, body]) => ({ path: '/v1/messages', body, customers: [m.customerId] })),
  'POST /v1/messages/batch': fc
    .tuple(batchModel, bodyOf(batchModel))
    .map(([b, body]) => ({ path: '/v1/messages/batch', body, customers: customersOf(b) })),
  'POST /v1/decisions/preview': fc
    .tuple(messageModel, bodyOf(messageModel))
    .map(([m, body]) => ({ path: '/v1/decisions/preview', body, customers: [m.customerId] })),
  'GET /v1/policy': queryFor().map((query) => ({ path: '/v1/policy', query })),
  'PUT /v1/policy': fc
    .tuple(bodyFor(2, policyModel, validPolicyModel), ifMatch)
    .map(([body, ifMatch]) => ({ path: '/v1/policy', body, ifMatch })),
  'GET /v1/policy/versions': queryFor().map((query) => ({ path: '/v1/policy/versions', query })),
  'GET /v1/policy/versions/{version}': fc
    .tuple(segment(fc.integer({ min: 0, max: 3 }).map(String)), queryFor())
    .map(([s, query]) => ({ path: `/v1/policy/versions/${s.encoded}`, query })),
  'GET /v1/customers/{customerId}/preferences': fc
    .tuple(fuzzCustomer, segment(fuzzCustomer))
    .map(([c, s]) => ({ path: `/v1/customers/${s.encoded}/preferences`, customers: [c, s.raw] })),
  'PUT /v1/customers/{customerId}/preferences': fc
    .tuple(fuzzCustomer, segment(fuzzCustomer), bodyOf(preferencesModel))
    .map(([c, s, body]) => ({ path: `/v1/customers/${s.encoded}/preferences`, body, customers: [c, s.raw] })),
  'GET /v1/customers/{customerId}': fc
    .tuple(
      segment(fuzzCustomer),
      fc.oneof(
        queryFor(),
        fuzzCustomer.map((m) => `messageId=${encodeURIComponent(m)}`),
      ),
    )
    .map(([s, query]) => ({ path: `/v1/customers/${s.encoded}`, query, customers: [s.raw] })),
  'DELETE /v1/customers/{customerId}': segment(fuzzCustomer).map((s) => ({
    path: `/v1/customers/${s.encoded}`,
  })),
  'POST /v1/events': fc
    .tuple(eventsModel, bodyOf(eventsModel))
    .map(([e, body]) => ({ path: '/v1/events', body, customers: customersOf(e) })),
  'GET /v1/reports/suppressed': queryFor(VALID_QUERIES.suppressed).map((query) => ({
    path: '/v1/reports/suppressed',
    query,
  })),
  'GET /v1/reports/summary': queryFor(VALID_QUERIES.summary).map((query) => ({
    path: '/v1/reports/summary',
    query,
  })),
  'GET /v1/reports/experiments/{id}': fc
    .tuple(segment(fc.constantFrom('lift', 'holdout-2026')), queryFor(period))
    .map(([s, query]) => ({ path: `/v1/reports/experiments/${s.encoded}`, query })),
  // Each dry-run started replays the archive in worker threads: one valid request in 100 (and the few
  // valid ones the hostile side sends).
  'POST /v1/policy/dry-runs': bodyFor(
    99,
    dryRunModel,
    fc.record({ policy: validPolicyModel, from: fc.constant('2020-01-01'), to: fc.constant('2020-01-31') }),
  ).map((body) => ({ path: '/v1/policy/dry-runs', body })),
  'GET /v1/policy/dry-runs/{id}': fc
    .tuple(
      fc.oneof(
        segment(fc.constantFrom('0123456789abcdef', 'x', '..', '')).map((s) => s.encoded),
        fc.constant(CREATED),
      ),
      queryFor(),
    )
    .map(([id, query]) => ({ path: `/v1/policy/dry-runs/${id}`, query })),
  // Reconciling scans every customer's log: one valid request in 50.
  'POST /v1/reports/reconcile': bodyFor(49, reconcileModel, validReconcile).map((body) => ({
    path: '/v1/reports/reconcile',
    body,
  })),
  'POST /v1/keys': bodyOf(keyModel).map((body) => ({ path: '/v1/keys', body })),
  'GET /v1/keys': queryFor().map((query) => ({ path: '/v1/keys', query })),
  'GET /v1/messages/{messageId}': messageRoute,
  'DELETE /v1/messages/{messageId}': messageRoute,
  'POST /v1/campaigns/{campaignId}/cancel': fc
    .tuple(segment(fuzzCustomer), queryFor())
    .map(([s, query]) => ({ path: `/v1/campaigns/${s.encoded}/cancel`, query })),
  'GET /v1/campaigns/{campaignId}/cancellations/{id}': fc
    .tuple(
      fc.oneof(
        fc
          .tuple(segment(fuzzCustomer), segment(fc.constantFrom('0123456789abcdef', 'x')))
          .map(([c, id]) => `${c.encoded}/cancellations/${id.encoded}`),
        fc.constant(CREATED),
      ),
      queryFor(),
    )
    .map(([job, query]) => ({ path: `/v1/campaigns/${job}`, query })),
  'DELETE /v1/keys/{id}': fc
    .oneof(
      segment(keyIdArb).map((s) => s.encoded),
      fc.constant(CREATED),
    )
    .map((id) => ({ path: `/v1/keys/${id}` })),
  'GET /v1/audit': queryFor(VALID_QUERIES.audit).map((query) => ({ path: '/v1/audit', query })),
  'GET /health': queryFor().map((query) => ({ path: '/health', query })),
  'GET /openapi.json': queryFor().map((query) => ({ path: '/openapi.json', query })),
  'GET /v1/me': queryFor().map((query) => ({ path: '/v1/me', query })),
  'GET /v1/operations/queues': queryFor().map((query) => ({ path: '/v1/operations/queues', query })),
  'GET /console': queryFor().map((query) => ({ path: '/console', query })),
  'GET /console/{proxy+}': segment(
    fc.constantFrom('index.html', 'favicon.svg', '../package.json', '../../console/build.ts', 'a/b'),
  ).map((s) => ({ path: `/console/${s.encoded}` })),
};

/** The console's files carry their own policy and caching; everything else the API's headers. */
const headersOf = (routeKey: string, status: number): Record<string, unknown> =>
  routeKey.startsWith('GET /console') && status < 400
    ? {
        ...SECURITY_HEADERS,
        'content-security-policy': CONSOLE_CSP,
        'cache-control': expect.stringMatching(/^(no-cache|public, max-age=31536000, immutable)$/),
      }
    : SECURITY_HEADERS;

function requestsFor(routeKey: string): fc.Arbitrary<FuzzRequest> {
  const method = routeKey.split(' ')[0]!;
  return fc.tuple(GENERATORS[routeKey]!, authorization, strayBody).map(([parts, auth, stray]) => ({
    method,
    path: parts.query ? `${parts.path}?${parts.query}` : parts.path,
    headers: {
      authorization: auth === 'admin' ? `Bearer ${stack.adminKey}` : auth,
      'content-type': (parts.body ?? stray)?.contentType,
      ...(parts.ifMatch !== undefined ? { 'if-match': parts.ifMatch } : {}),
    },
    body: (parts.body ?? stray)?.body,
    customers: (parts.customers ?? []).filter((c) => c.startsWith('fz-')),
  }));
}

/** A keep-alive client lighter than fetch: the suite's time goes to the server, not the client. */
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}
function send(request: FuzzRequest): Promise<Answer> {
  return sendOnce(request).catch((error: Error & { code?: string; reusedSocket?: boolean }) => {
    // A kept-alive socket the server closed as idle just as the request left: the server never read
    // it, so it is sent again once (as Node's documentation advises); any other error fails the test.
    if (error.code === 'ECONNRESET' && error.reusedSocket) return sendOnce(request);
    throw error;
  });
}
function sendOnce(request: FuzzRequest): Promise<Answer> {
  const url = new URL(stack.url);
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers[name] = value;
  if (body) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: request.path, method: request.method, headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (error) => reject(Object.assign(error, { reusedSocket: req.reusedSocket })));
    req.end(body);
  });
}

/** The JSON a request carried (a 200 answers only a well-formed body). */
const bodyJson = (request: FuzzRequest): unknown =>
  JSON.parse(
    typeof request.body === 'string' ? request.body : Buffer.from(request.body ?? '{}').toString('utf8'),
  );

/** Fills in what only the stack knows when the request leaves: the current ETag, a created id. */
async function resolved(request: FuzzRequest, pick: number): Promise<FuzzRequest> {
  let { path, headers } = request;
  if (headers['if-match'] === FRESH_ETAG) {
    const etag = (await stack.request('GET', '/v1/policy')).headers.get('etag') ?? '';
    headers = { ...headers, 'if-match': etag };
  }
  if (path.includes(CREATED)) {
    if (path.startsWith('/v1/messages/')) {
      // Already encoded, with its customer's query.
      if (created.messages.length > 0)
        path = path.replace(CREATED, created.messages[pick % created.messages.length]!);
    } else if (path.startsWith('/v1/campaigns/')) {
      const jobs = created.campaignCancels;
      if (jobs.length > 0) path = path.replace(CREATED, jobs[pick % jobs.length]!);
    } else {
      const ids = path.startsWith('/v1/keys/') ? created.keys : created.dryRuns;
      // None created yet: the placeholder itself is sent, a malformed id.
      if (ids.length > 0) path = path.replace(CREATED, encodeURIComponent(ids[pick % ids.length]!));
    }
  }
  return { ...request, path, headers };
}

/** Sends one request and checks what every answer must be; records what it may have changed. */
async function check(routeKey: string, generated: FuzzRequest, pick = 0): Promise<void> {
  const request = await resolved(generated, pick);
  const sentAt = Date.now();
  const response = await send(request);
  const where = `${routeKey} ${request.path.slice(0, 120)} → ${response.status} ${response.text.slice(0, 300)}`;
  const sqsUnsafe = typeof request.body === 'string' && SQS_UNSAFE.test(request.body);
  outcome.statuses.set(response.status, (outcome.statuses.get(response.status) ?? 0) + 1);
  const byStatus = outcome.byRoute.get(routeKey) ?? new Map<number, number>();
  byStatus.set(response.status, (byStatus.get(response.status) ?? 0) + 1);
  outcome.byRoute.set(routeKey, byStatus);
  expect(response.status, where).toBeLessThan(500);
  for (const [name, value] of Object.entries(headersOf(routeKey, response.status)))
    expect(response.headers[name], where).toEqual(value);
  if (response.status >= 400) {
    expect(response.headers['content-type'], where).toBe('application/problem+json');
    const problem = JSON.parse(response.text);
    expect(problem, where).toMatchObject({
      type: expect.any(String),
      title: expect.any(String),
      status: response.status,
      detail: expect.any(String),
    });
    for (const customer of request.customers) outcome.refusedCustomers.add(customer);
    return;
  }
  for (const customer of request.customers) outcome.touchedCustomers.add(customer);
  if (routeKey === 'POST /v1/messages/batch') {
    const results = JSON.parse(response.text).results as { status?: number }[];
    for (const item of results) expect(item.status ?? 200, where).toBeLessThan(500);
    const messages = (bodyJson(request) as { messages: unknown[] }).messages;
    for (const [i, item] of results.entries()) grant(messages[i], item, sentAt);
  }
  if (routeKey === 'POST /v1/messages') {
    grant(bodyJson(request), JSON.parse(response.text), sentAt);
    const { messageId, customerId } = bodyJson(request) as { messageId: string; customerId: string };
    created.messages.push(`${encodeURIComponent(messageId)}?customerId=${encodeURIComponent(customerId)}`);
  }
  if (sqsUnsafe && routeKey.startsWith('POST /v1/messages')) sqsUnsafeAnswered++;
  if (typeof request.body === 'string') {
    try {
      for (const customer of customersOf(JSON.parse(request.body))) outcome.touchedCustomers.add(customer);
    } catch {
      // not JSON: nothing to add
    }
  }
  if (routeKey === 'PUT /v1/policy') {
    // Only the current ETag replaces the policy, and only once: of PUTs sent at once, one wins.
    const ifMatch = request.headers['if-match'] ?? '';
    expect(ifMatch, `a stale If-Match must never replace the policy: ${where}`).toMatch(/^"\d+"$/);
    expect(outcome.policiesReplaced.has(ifMatch), `two PUTs replaced version ${ifMatch}: ${where}`).toBe(
      false,
    );
    outcome.policiesReplaced.add(ifMatch);
  }
  if (routeKey === 'POST /v1/keys') {
    outcome.keysCreated++;
    created.keys.push(JSON.parse(response.text).id);
  }
  if (routeKey === 'POST /v1/policy/dry-runs') created.dryRuns.push(JSON.parse(response.text).id);
  if (routeKey === 'POST /v1/campaigns/{campaignId}/cancel') {
    const job = JSON.parse(response.text) as { id: string; campaignId: string };
    created.campaignCancels.push(`${encodeURIComponent(job.campaignId)}/cancellations/${job.id}`);
  }
  // Revoking a revoked key changes nothing: only the first revocation is audited.
  if (routeKey === 'DELETE /v1/keys/{id}' && !outcome.keysRevoked.has(request.path)) {
    outcome.keysRevoked.add(request.path);
    outcome.audited++;
  }
  if (
    routeKey === 'PUT /v1/policy' ||
    routeKey === 'POST /v1/keys' ||
    routeKey === 'PUT /v1/customers/{customerId}/preferences' ||
    routeKey === 'DELETE /v1/customers/{customerId}'
  )
    outcome.audited++;
}

// --------------------------------------------------------------------------------------------- state

interface Snapshot {
  versions: { versions: { version: number }[] };
  /** The policy in force, which the fuzzed messages were decided under (they come before any PUT). */
  policy: unknown;
  keys: { id: string; revokedAt?: string }[];
  audit: number;
}

async function auditCount(): Promise<number> {
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  const period = `from=${day(Date.now() - 86_400_000)}&to=${day(Date.now() + 86_400_000)}`;
  let count = 0;
  let cursor: string | undefined;
  do {
    const response = await stack.request(
      'GET',
      `/v1/audit?${period}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
    );
    count += response.json().entries.length;
    cursor = response.json().nextCursor;
  } while (cursor);
  return count;
}

async function snapshot(): Promise<Snapshot> {
  return {
    versions: (await stack.request('GET', '/v1/policy/versions')).json(),
    policy: (await stack.request('GET', '/v1/policy')).json(),
    keys: (await stack.request('GET', '/v1/keys')).json().keys,
    audit: await auditCount(),
  };
}

let before: Snapshot;

let consoleBuild: string;

beforeAll(async () => {
  // The console's public files, built for this stack.
  consoleBuild = await mkdtemp(join(tmpdir(), 'governor-console-'));
  await buildConsole({ outdir: consoleBuild });
  stack = await startTestStack({
    maxBodyBytes: SERVER_MAX_BODY,
    env: { GOVERNOR_CONSOLE_DIR: consoleBuild },
  });
  // Version 1 is current: of the If-Match the generators send, only the fresh ETag names it.
  const put = await stack.request('PUT', '/v1/policy', {
    body: {
      // Half the fuzzed messages are transactional: a cap of their own, so that the caps fill up.
      caps: [
        { id: 'weekly', limit: 3, window: 'P7D' },
        { id: 'transactional', limit: 2, window: 'PT1H', match: { kind: 'transactional' } },
      ],
      relevance: { default: 0.2, byCategory: { newsletter: 0.5 } },
      channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
    },
    headers: { 'if-match': '*' },
  });
  expect(put.status).toBe(200);
  const key = await stack.request('POST', '/v1/keys', { body: { name: 'existing', scopes: ['send'] } });
  expect(key.status).toBe(201);
  before = await snapshot();
  prototypeBefore = prototypeKeys();
  captureLogs();
});

afterAll(async () => {
  restoreLogs();
  agent.destroy();
  await stack?.stop();
  await rm(consoleBuild, { recursive: true, force: true });
});

// --------------------------------------------------------------------------------------------- tests

const routeKeys = routes.map((r) => `${r.method} ${r.path}`);

describe(`hostile input: ${RUNS_PER_ROUTE} generated requests per route`, () => {
  it('has a generator for every route of the API', () => {
    expect(routeKeys.filter((key) => !(key in GENERATORS))).toEqual([]);
  });

  it.each(routeKeys.filter((key) => key in GENERATORS))(
    '%s: never a 5xx, always problem+json',
    async (routeKey) => {
      const requests = requestsFor(routeKey);
      await fc.assert(
        fc.asyncProperty(
          fc.array(requests, { minLength: CONCURRENCY, maxLength: CONCURRENCY }),
          async (batch) => {
            const sent = outcome.requests.get(routeKey) ?? 0;
            await Promise.all(batch.map((request, i) => check(routeKey, request, sent + i)));
            outcome.requests.set(routeKey, (outcome.requests.get(routeKey) ?? 0) + batch.length);
          },
        ),
        { numRuns: Math.ceil(RUNS_PER_ROUTE / CONCURRENCY), seed: SEED, endOnFailure: true },
      );
      expect(outcome.requests.get(routeKey)).toBeGreaterThanOrEqual(RUNS_PER_ROUTE);
    },
  );

  it('changed nothing through the requests it refused', async () => {
    const after = await snapshot();
    // A policy version for each PUT that carried the current ETag, none for the others.
    expect(outcome.policiesReplaced.size).toBeGreaterThan(0);
    expect(after.versions.versions.length).toBe(
      before.versions.versions.length + outcome.policiesReplaced.size,
    );
    for (const version of before.versions.versions) expect(after.versions.versions).toContainEqual(version);
    // Keys: exactly those created, and none revoked.
    expect(after.keys.length).toBe(before.keys.length + outcome.keysCreated);
    for (const key of before.keys) expect(after.keys.find((k) => k.id === key.id)?.revokedAt).toBeUndefined();
    // One audit entry per accepted change, none for a refused one.
    expect(after.audit).toBe(before.audit + outcome.audited);
    // No state for the customers that only refused requests named.
    const store = new DynamoCustomerStore(
      createDynamoClients(
        loadConfig({ ...process.env, GOVERNOR_DYNAMODB_ENDPOINT: stack.engines.dynamoEndpoint }),
      ),
      'governor',
    );
    const refusedOnly = [...outcome.refusedCustomers]
      .filter((c) => !outcome.touchedCustomers.has(c))
      .slice(0, 500);
    expect(refusedOnly.length).toBeGreaterThan(100);
    for (const customer of refusedOnly) expect(await store.read(customer), customer).toBeUndefined();
  });

  it('accepted or deferred no message past a cap of the policy in force', async () => {
    // Prepare: the policy every fuzzed message was decided under (the sends are fuzzed before the PUTs)
    const rules = policyRules(before.policy as Parameters<typeof policyRules>[0]);

    // Assess
    let sends = 0;
    let most = 0;
    for (const [customer, ofCustomer] of granted) {
      const all = [...ofCustomer.values()];
      sends += all.length;
      most = Math.max(most, all.length);
      expect(capViolations(rules, all), customer).toEqual([]);
    }
    console.info(
      `sends granted to fuzzed messages, checked against the caps: ${sends} for ${granted.size} customers, at most ${most} for one`,
    );
    // Enough sends, and customers whose caps filled up (where a breach could show).
    expect(sends).toBeGreaterThan(RUNS_PER_ROUTE / 100);
    expect(most).toBeGreaterThanOrEqual(2);
  });

  it('polluted no prototype and logged no payload', () => {
    expect(prototypeKeys()).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(logs).not.toContain(CANARY);
  });

  it('answered sends whose payloads hold characters SQS refuses without a 5xx', () => {
    expect(sqsUnsafeAnswered).toBeGreaterThan(0);
  });

  it('met every kind of answer', () => {
    // What the generators reached, per route: the share of successes and the statuses, in the test output.
    const table = [...outcome.byRoute].map(([route, byStatus]) => {
      const all = [...byStatus.values()].reduce((a, b) => a + b, 0);
      const ok = [...byStatus].filter(([status]) => status < 300).reduce((n, [, count]) => n + count, 0);
      const share = `${((100 * ok) / all).toFixed(1)}% successful`;
      return `${route} ${share} ${JSON.stringify(Object.fromEntries([...byStatus].sort((a, b) => a[0] - b[0])))}`;
    });
    console.info(table.join('\n'));
    // Every route answered successes, not only refusals.
    const withoutSuccess = [...outcome.byRoute]
      .filter(([, byStatus]) => ![...byStatus.keys()].some((status) => status < 300))
      .map(([route]) => route);
    expect(withoutSuccess).toEqual([]);
    const seen = [...outcome.statuses.keys()];
    // Refusals of each kind, and successes: the generators reach past validation too.
    for (const status of [200, 400, 401, 404, 412, 413, 415]) expect(seen).toContain(status);
  });
});
