/**
 * The policies the simulation compares. Both go through the policy schema, so they are policies
 * Governor would accept over its API.
 */
import { type Policy, type PolicyDocumentInput, policyDocumentSchema } from '#shared/domain/schemas.ts';
import { HOME_TIME_ZONE } from './population.ts';

export interface RelevanceSettings {
  default: number;
  sms: number;
  pressureSlope: number;
}

/** The governor's relevance settings, tuned on seed 42 (see the sweep in the README section). */
export const GOVERNOR_RELEVANCE: RelevanceSettings = { default: 0.2, sms: 0.4, pressureSlope: 0.3 };

function document(relevance: RelevanceSettings): PolicyDocumentInput {
  return {
    caps: [
      { id: 'email.week', limit: 3, window: 'P7D', match: { channel: 'email' } },
      { id: 'email.day', limit: 1, window: 'P1D', match: { channel: 'email' } },
      { id: 'sms.week', limit: 2, window: 'P7D', match: { channel: 'sms' } },
      { id: 'push.week', limit: 3, window: 'P7D', match: { channel: 'push' } },
      { id: 'marketing.gap', minGap: 'PT4H' },
    ],
    relevance: {
      default: relevance.default,
      // SMS is the most intrusive and the dearest channel (73% refuse contact except in an emergency).
      byChannel: relevance.sms === relevance.default ? undefined : { sms: relevance.sms },
      pressureSlope: relevance.pressureSlope,
    },
    quietHours: { start: '21:00', end: '08:00', defaultTimezone: HOME_TIME_ZONE },
    channelCosts: { email: 0.002, sms: 0.045, push: 0.0005, whatsapp: 0.06, currency: 'EUR' },
  };
}

function policy(relevance: RelevanceSettings, author: string): Policy {
  return {
    ...policyDocumentSchema.parse(document(relevance)),
    version: 1,
    createdAt: '2026-03-01T00:00:00Z',
    author,
  };
}

export function governorPolicy(relevance: RelevanceSettings = GOVERNOR_RELEVANCE): Policy {
  return policy(relevance, 'simulation:governor');
}

/** First come, first served: the same caps, quiet hours and deferral, no relevance threshold. */
export function fcfsPolicy(): Policy {
  return policy({ default: 0, sms: 0, pressureSlope: 0 }, 'simulation:fcfs');
}
