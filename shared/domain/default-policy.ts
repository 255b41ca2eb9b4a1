import type { Policy } from './schemas.ts';

/**
 * The policy of a fresh install (version 0), until a marketer stores one. Its defaults come from what
 * customers say: 75% find brands contact them too often and 86% receive too much that does not interest
 * them, so marketing is capped at 3 messages a week and 1 a day, SMS (the most intrusive channel: 48%
 * answer within a minute) at 1 a week, with 4 hours between two messages, a relevance floor that rises
 * as a customer's week fills up, and no marketing at night.
 */
export const DEFAULT_POLICY: Policy = {
  version: 0,
  createdAt: '1970-01-01T00:00:00.000Z',
  author: 'default',
  caps: [
    { id: 'marketing-weekly', limit: 3, window: 'P7D', match: {} },
    { id: 'marketing-daily', limit: 1, window: 'P1D', match: {} },
    { id: 'sms-weekly', limit: 1, window: 'P7D', match: { channel: 'sms' } },
    { id: 'min-gap', minGap: 'PT4H', match: {} },
  ],
  relevance: { default: 0.3, byChannel: { sms: 0.5, whatsapp: 0.5 }, pressureSlope: 0.4 },
  quietHours: { start: '21:00', end: '08:00', defaultTimezone: 'Europe/Paris' },
  channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
};
