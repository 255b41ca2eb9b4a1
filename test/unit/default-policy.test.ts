/**
 * The policy of a fresh install (shared/domain/default-policy.ts), as the README promises it: marketing
 * capped at 3 a week and 1 a day, SMS at 1 a week, 4 hours between two messages, relevance 0.3 (0.5 for
 * SMS and WhatsApp) rising by 0.4 × pressure, quiet hours 21:00–08:00 Europe/Paris. And a policy the
 * API would store: the schema takes it as it is.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '#shared/domain/default-policy.ts';
import { policySchema } from '#shared/domain/schemas.ts';

describe('the default policy', () => {
  it('is version 0 by "default", a valid policy as the schema reads it', () => {
    expect(policySchema.parse(DEFAULT_POLICY)).toStrictEqual(DEFAULT_POLICY);
    expect(DEFAULT_POLICY).toMatchObject({
      version: 0,
      author: 'default',
      createdAt: '1970-01-01T00:00:00.000Z',
    });
  });

  it('caps marketing at 3 a week and 1 a day, SMS at 1 a week, with 4 hours between two messages', () => {
    expect(DEFAULT_POLICY.caps).toStrictEqual([
      { id: 'marketing-weekly', limit: 3, window: 'P7D', match: {} },
      { id: 'marketing-daily', limit: 1, window: 'P1D', match: {} },
      { id: 'sms-weekly', limit: 1, window: 'P7D', match: { channel: 'sms' } },
      { id: 'min-gap', minGap: 'PT4H', match: {} },
    ]);
  });

  it('asks relevance 0.3 (0.5 of SMS and WhatsApp), rising by 0.4 × pressure, and keeps 21:00–08:00 Paris quiet', () => {
    expect(DEFAULT_POLICY.relevance).toStrictEqual({
      default: 0.3,
      byChannel: { sms: 0.5, whatsapp: 0.5 },
      pressureSlope: 0.4,
    });
    expect(DEFAULT_POLICY.quietHours).toStrictEqual({
      start: '21:00',
      end: '08:00',
      defaultTimezone: 'Europe/Paris',
    });
  });

  it("prices a fresh install's channels in euros: 0.001 an e-mail, 0.05 an SMS, 0.0005 a push, 0.04 a WhatsApp", () => {
    expect(DEFAULT_POLICY.channelCosts).toStrictEqual({
      email: 0.001,
      sms: 0.05,
      push: 0.0005,
      whatsapp: 0.04,
      currency: 'EUR',
    });
  });
});
