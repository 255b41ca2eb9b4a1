import { describe, expect, it } from 'vitest';
import {
  batchSchema,
  capSchema,
  decisionSchema,
  durationSchema,
  eventSchema,
  idSchema,
  MAX_BATCH,
  MAX_PAYLOAD_BYTES,
  messageSchema,
  policyDocumentSchema,
  preferencesSchema,
  timeOfDaySchema,
  timeZoneSchema,
} from '#shared/domain/schemas.ts';

const aMessage = (overrides: Record<string, unknown> = {}) => ({
  messageId: 'msg-1',
  customerId: 'cust-1',
  channel: 'email',
  payload: { subject: 'Spring sale' },
  ...overrides,
});

const aPolicyDocument = (overrides: Record<string, unknown> = {}) => ({
  channelCosts: { email: 0.001, sms: 0.05, push: 0, whatsapp: 0.03, currency: 'EUR' },
  ...overrides,
});

/** The paths of the issues zod reports, for assertions that name the offending field. */
function issuePaths(result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) {
  return result.error?.issues.map((i) => i.path.join('.')) ?? [];
}

describe('idSchema', () => {
  it.each(['a', 'cust-42', 'x'.repeat(128), 'email:abc@def|42'])('accepts %j', (id) => {
    expect(idSchema.safeParse(id).success).toBe(true);
  });

  it.each(['', 'x'.repeat(129), 'has space', 'tab\there', 'accentué', 'new\nline'])('refuses %j', (id) => {
    expect(idSchema.safeParse(id).success).toBe(false);
  });
});

describe('messageSchema', () => {
  it('defaults the kind to marketing', () => {
    // Act
    const message = messageSchema.parse(aMessage());

    // Assess
    expect(message.kind).toBe('marketing');
  });

  it('accepts every documented field', () => {
    // Prepare
    const input = aMessage({
      kind: 'transactional',
      category: 'orders',
      campaignId: 'spring-2026',
      relevance: 0.7,
      notBefore: '2026-03-02T10:00:00Z',
      expiresAt: '2026-03-02T12:00:00+01:00',
      alternateChannels: ['sms', 'push'],
    });

    // Act
    const result = messageSchema.safeParse(input);

    // Assess
    expect(result.success).toBe(true);
  });

  it.each([
    ['an unknown channel', { channel: 'fax' }, 'channel'],
    ['an unknown kind', { kind: 'promotional' }, 'kind'],
    ['a relevance above 1', { relevance: 1.01 }, 'relevance'],
    ['a negative relevance', { relevance: -0.1 }, 'relevance'],
    ['a timestamp without offset', { expiresAt: '2026-03-02T10:00:00' }, 'expiresAt'],
    ['a date without time', { notBefore: '2026-03-02' }, 'notBefore'],
    ['an unknown alternate channel', { alternateChannels: ['pigeon'] }, 'alternateChannels.0'],
    [
      'more alternates than channels',
      { alternateChannels: ['sms', 'push', 'email', 'whatsapp', 'sms'] },
      'alternateChannels',
    ],
    ['an unknown field', { priority: 'high' }, ''],
    ['a missing payload', { payload: undefined }, 'payload'],
    ['a payload that is not an object', { payload: 'hello' }, 'payload'],
    ['a customer id with a space', { customerId: 'cust 1' }, 'customerId'],
    [
      'notBefore after expiresAt',
      { notBefore: '2026-03-02T12:00:00Z', expiresAt: '2026-03-02T11:00:00Z' },
      'notBefore',
    ],
  ])('refuses %s, naming the field', (_, overrides, path) => {
    // Act
    const result = messageSchema.safeParse(aMessage(overrides));

    // Assess
    expect(result.success).toBe(false);
    expect(issuePaths(result)).toContain(path);
  });

  it('compares notBefore and expiresAt as instants, whatever their offsets', () => {
    // Prepare: 12:00+02:00 is 10:00Z, before 11:00Z
    const input = aMessage({ notBefore: '2026-03-02T12:00:00+02:00', expiresAt: '2026-03-02T11:00:00Z' });

    // Act / Assess
    expect(messageSchema.safeParse(input).success).toBe(true);
  });

  it('accepts notBefore equal to expiresAt', () => {
    const input = aMessage({ notBefore: '2026-03-02T11:00:00Z', expiresAt: '2026-03-02T11:00:00Z' });

    expect(messageSchema.safeParse(input).success).toBe(true);
  });

  it.each([
    ['exactly the limit', 0, true],
    ['one byte over the limit', 1, false],
  ])('takes a payload of %s', (_, extra, ok) => {
    // Prepare: {"x":"…"} is 8 bytes of JSON around the string
    const payload = { x: 'a'.repeat(MAX_PAYLOAD_BYTES - 8 + extra) };

    // Act
    const result = messageSchema.safeParse(aMessage({ payload }));

    // Assess
    expect(result.success).toBe(ok);
  });

  it('measures the payload in UTF-8 bytes, not characters', () => {
    // Prepare: é is two bytes
    const payload = { x: 'é'.repeat((MAX_PAYLOAD_BYTES - 8) / 2 + 1) };

    // Act / Assess
    expect(messageSchema.safeParse(aMessage({ payload })).success).toBe(false);
  });
});

describe('batchSchema', () => {
  it.each([
    [0, false],
    [1, true],
    [MAX_BATCH, true],
    [MAX_BATCH + 1, false],
  ])('with %i messages: %s', (count, ok) => {
    expect(batchSchema.safeParse({ messages: Array(count).fill({}) }).success).toBe(ok);
  });
});

describe('durationSchema', () => {
  it.each(['PT30S', 'PT1H', 'P1D', 'P7D', 'P1W', 'P90D', 'P12W6D', 'PT2160H'])('accepts %s', (d) => {
    expect(durationSchema.safeParse(d).success).toBe(true);
  });

  it.each([
    ['zero', 'PT0S'],
    ['more than 90 days', 'P91D'],
    ['more than 90 days in weeks', 'P13W'],
    ['a millisecond more than 90 days', 'P90DT0.001S'],
    ['months', 'P3M'],
    ['not a duration', '1 day'],
  ])('refuses %s (%s)', (_, d) => {
    expect(durationSchema.safeParse(d).success).toBe(false);
  });
});

describe('timeOfDaySchema', () => {
  it.each(['00:00', '08:00', '21:30', '23:59'])('accepts %s', (t) => {
    expect(timeOfDaySchema.safeParse(t).success).toBe(true);
  });

  it.each(['24:00', '8:00', '08:60', '0800', '08:00:00', ''])('refuses %j', (t) => {
    expect(timeOfDaySchema.safeParse(t).success).toBe(false);
  });
});

describe('timeZoneSchema', () => {
  it.each(['UTC', 'Europe/Paris', 'America/New_York'])('accepts %s', (z) => {
    expect(timeZoneSchema.safeParse(z).success).toBe(true);
  });

  it.each(['Europe/Lutece', '', 'x'.repeat(65)])('refuses %j', (z) => {
    expect(timeZoneSchema.safeParse(z).success).toBe(false);
  });
});

describe('capSchema', () => {
  it.each([
    ['a limit per window', { id: 'daily', limit: 3, window: 'P1D' }],
    ['a minimum gap', { id: 'gap', minGap: 'PT4H' }],
    ['both', { id: 'both', limit: 3, window: 'P1D', minGap: 'PT4H' }],
    ['a limit of zero', { id: 'never', limit: 0, window: 'P1D', match: { channel: 'sms' } }],
    [
      'a full scope',
      {
        id: 's',
        limit: 1,
        window: 'P1D',
        match: { kind: 'transactional', channel: 'sms', category: 'otp', campaignId: 'c' },
      },
    ],
  ])('accepts %s', (_, cap) => {
    expect(capSchema.safeParse(cap).success).toBe(true);
  });

  it('matches everything marketing when it names no scope', () => {
    expect(capSchema.parse({ id: 'daily', limit: 3, window: 'P1D' }).match).toEqual({});
  });

  it.each([
    ['a limit without window', { id: 'c', limit: 3 }],
    ['a window without limit', { id: 'c', window: 'P1D' }],
    ['neither limit nor gap', { id: 'c' }],
    ['a negative limit', { id: 'c', limit: -1, window: 'P1D' }],
    ['a fractional limit', { id: 'c', limit: 1.5, window: 'P1D' }],
    ['a window over 90 days', { id: 'c', limit: 1, window: 'P100D' }],
    ['a gap over 90 days', { id: 'c', minGap: 'P100D' }],
    ['an id with a space', { id: 'my cap', minGap: 'PT1H' }],
    ['an unknown scope field', { id: 'c', minGap: 'PT1H', match: { audience: 'vip' } }],
    ['an unknown channel in scope', { id: 'c', minGap: 'PT1H', match: { channel: 'fax' } }],
  ])('refuses %s', (_, cap) => {
    expect(capSchema.safeParse(cap).success).toBe(false);
  });
});

describe('policyDocumentSchema', () => {
  it('fills in no caps, no relevance threshold and no quiet hours', () => {
    // Act
    const policy = policyDocumentSchema.parse(aPolicyDocument());

    // Assess
    expect(policy.caps).toEqual([]);
    expect(policy.relevance).toEqual({ default: 0, pressureSlope: 0 });
    expect(policy.quietHours).toBeUndefined();
  });

  it('defaults the pressure slope to 0 and the quiet hours time zone to UTC', () => {
    // Act
    const policy = policyDocumentSchema.parse(
      aPolicyDocument({ relevance: { default: 0.3 }, quietHours: { start: '21:00', end: '08:00' } }),
    );

    // Assess
    expect(policy.relevance.pressureSlope).toBe(0);
    expect(policy.quietHours).toEqual({ start: '21:00', end: '08:00', defaultTimezone: 'UTC' });
  });

  it.each([
    [
      'duplicate cap ids',
      {
        caps: [
          { id: 'a', minGap: 'PT1H' },
          { id: 'a', minGap: 'PT2H' },
        ],
      },
      'caps',
    ],
    ['a threshold above 1', { relevance: { default: 1.5 } }, 'relevance.default'],
    [
      'a channel threshold for an unknown channel',
      { relevance: { default: 0, byChannel: { fax: 0.5 } } },
      'relevance.byChannel',
    ],
    ['a pressure slope above 1', { relevance: { default: 0, pressureSlope: 2 } }, 'relevance.pressureSlope'],
    [
      'an invalid quiet hours time zone',
      { quietHours: { start: '21:00', end: '08:00', defaultTimezone: 'Mars/Base' } },
      'quietHours.defaultTimezone',
    ],
    ['a malformed quiet hours start', { quietHours: { start: '9pm', end: '08:00' } }, 'quietHours.start'],
    [
      'a lower-case currency',
      { channelCosts: { email: 0, sms: 0, push: 0, whatsapp: 0, currency: 'eur' } },
      'channelCosts.currency',
    ],
    [
      'a negative cost',
      { channelCosts: { email: -1, sms: 0, push: 0, whatsapp: 0, currency: 'EUR' } },
      'channelCosts.email',
    ],
    [
      'more than 50 caps',
      { caps: Array.from({ length: 51 }, (_, i) => ({ id: `c${i}`, minGap: 'PT1H' })) },
      'caps',
    ],
  ])('refuses %s', (_, overrides, path) => {
    // Act
    const result = policyDocumentSchema.safeParse(aPolicyDocument(overrides));

    // Assess
    expect(result.success).toBe(false);
    expect(issuePaths(result)).toContain(path);
  });

  it('requires channel costs', () => {
    expect(policyDocumentSchema.safeParse({}).success).toBe(false);
  });
});

describe('preferencesSchema', () => {
  it('defaults to no channel choices and no topic choices', () => {
    expect(preferencesSchema.parse({})).toEqual({ channels: {}, topics: {} });
  });

  it('accepts every documented field', () => {
    // Prepare
    const input = {
      channels: {
        sms: { optIn: false, source: 'sms-stop', at: '2026-03-01T09:00:00Z' },
        email: { optIn: true },
      },
      topics: { promotions: false, news: true },
      preferredChannels: ['push', 'email'],
      maxPerWeek: 2,
      quietHours: { start: '22:00', end: '07:30' },
      timezone: 'Europe/Paris',
      pausedUntil: '2026-04-01T00:00:00+02:00',
    };

    // Act / Assess
    expect(preferencesSchema.parse(input)).toEqual(input);
  });

  it.each([
    ['an unknown channel', { channels: { fax: { optIn: false } } }],
    ['a consent without optIn', { channels: { sms: { source: 'x' } } }],
    ['a negative maximum per week', { maxPerWeek: -1 }],
    ['a maximum per week over 1000', { maxPerWeek: 1001 }],
    ['a fractional maximum per week', { maxPerWeek: 2.5 }],
    ['an invalid time zone', { timezone: 'Paris' }],
    ['a pause without offset', { pausedUntil: '2026-04-01T00:00:00' }],
    [
      'more than 100 topics',
      { topics: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`t${i}`, true])) },
    ],
    ['an unknown field', { email: 'someone@example.com' }],
  ])('refuses %s', (_, input) => {
    expect(preferencesSchema.safeParse(input).success).toBe(false);
  });
});

describe('eventSchema', () => {
  it.each(['delivered', 'opened', 'clicked', 'unsubscribed', 'complained', 'bounced_hard'])(
    'accepts a %s event',
    (type) => {
      const event = { customerId: 'cust-1', channel: 'email', type, at: '2026-03-02T10:00:00Z' };

      expect(eventSchema.safeParse(event).success).toBe(true);
    },
  );

  it('refuses an unknown event type', () => {
    const event = {
      customerId: 'cust-1',
      channel: 'email',
      type: 'bounced_soft',
      at: '2026-03-02T10:00:00Z',
    };

    expect(eventSchema.safeParse(event).success).toBe(false);
  });
});

describe('decisionSchema', () => {
  it('describes a deferral with its release time and policy version', () => {
    // Prepare
    const response = {
      messageId: 'msg-1',
      decision: 'deferred',
      reason: 'quiet_hours_expired',
      rule: 'quietHours',
      channel: 'email',
      releaseAt: '2026-03-03T07:00:00.000Z',
      policyVersion: 3,
    };

    // Act / Assess
    expect(decisionSchema.parse(response)).toEqual(response);
  });

  it('refuses an undocumented reason', () => {
    const response = {
      messageId: 'm',
      decision: 'suppressed',
      reason: 'too_many',
      channel: 'email',
      policyVersion: 1,
    };

    expect(decisionSchema.safeParse(response).success).toBe(false);
  });
});
