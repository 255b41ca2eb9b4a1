/**
 * A synthetic customer base of a French brand, shaped by the survey figures in SURVEYS.md. Every number
 * that shapes a draw is a named constant below; `assumptions.ts` lists each with its source (a survey
 * figure, or "assumption"), and `simulate` prints what the population actually shows so the shape can
 * be checked.
 */
import type { Channel, Preferences } from '#shared/domain/schemas.ts';
import { createRandom, derive } from './random.ts';

export const CATEGORIES = [
  'promotions',
  'new-arrivals',
  'newsletter',
  'loyalty',
  'events',
  'partners',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** The policy's default zone: most customers live there and have no time zone of their own. */
export const HOME_TIME_ZONE = 'Europe/Paris';

/** The numbers the population is drawn from (see `assumptions.ts` for where each comes from). */
export const POPULATION = {
  /** In many campaign audiences: over-solicited. */
  heavyShare: 0.63,
  /** Interested in few categories. */
  uninterestedShare: 0.86,
  /** The chance each category is of real interest, for the uninterested and for the others. */
  categoryInterestChance: { uninterested: 0.14, others: 0.5 },
  /** The relevance of a category of interest, and of one of no interest (uniform draws). */
  interestRelevance: { interested: [0.5, 0.9], other: [0.03, 0.3] },
  /** Weights of the most marketing messages a week the customer would accept (all channels). */
  wishPerWeekWeights: { '1': 15, '2': 30, '3': 30, '4': 15, '5': 10 },
  /** In the brand's SMS audience (consent collected by the campaign platform). */
  smsAudienceShare: 0.3,
  /** Has the brand's app, so can receive push. */
  appShare: 0.25,
  /** Uses the preference centre, and then states their wish there as `maxPerWeek`. */
  preferenceCentreShare: 0.42,
  /** Of the preference-centre users: turn off their least interesting topic. */
  topicOptOutShare: 0.6,
  /** Of the preference-centre users: choose their own quiet hours (one of two windows). */
  ownQuietHoursShare: 0.2,
  /** Of the preference-centre users: opt out of a channel (SMS of those in the SMS audience, …). */
  channelOptOutShare: { sms: 0.25, email: 0.08, push: 0.3 },
  /** Live in another time zone than Paris, by zone, in % of customers. */
  otherTimeZones: {
    'Indian/Reunion': 2.5,
    'America/Martinique': 1.5,
    'America/Montreal': 1.5,
    'Europe/London': 1,
    'America/Cayenne': 1,
    'Pacific/Noumea': 0.5,
  },
} as const;

const OTHER_TIME_ZONE_SHARE = Object.values(POPULATION.otherTimeZones).reduce((a, b) => a + b, 0) / 100;

export interface SimCustomer {
  id: string;
  /** The preferences Governor holds (the brand's preference centre writes them). */
  preferences: Preferences;
  /** The zone the customer lives in (Europe/Paris unless `preferences.timezone` says otherwise). */
  timeZone: string;
  /** Over-solicited: in many campaign audiences. */
  heavy: boolean;
  /** Interested in few categories. */
  uninterested: boolean;
  /** The relevance a message of each category has for this customer before campaign effects and noise. */
  interest: Record<Category, number>;
  /** How many marketing messages a week the customer would accept, at most (hidden unless stated). */
  wantedPerWeek: number;
  /** Uses the preference centre: their wish is stated there (`preferences.maxPerWeek`). */
  statedWish: boolean;
  /** In the brand's SMS audience (consent collected by the campaign platform). */
  smsAudience: boolean;
  /** Has the app, so can receive push. */
  hasApp: boolean;
}

function optOut(channel: Channel): Preferences['channels'] {
  return { [channel]: { optIn: false, source: 'preference-centre' } };
}

export function createCustomer(seed: number, index: number): SimCustomer {
  const P = POPULATION;
  const random = createRandom(derive(seed, 1, index));

  const heavy = random.chance(P.heavyShare);

  const uninterested = random.chance(P.uninterestedShare);
  const interest = {} as Record<Category, number>;
  for (const category of CATEGORIES) {
    const interested = random.chance(
      uninterested ? P.categoryInterestChance.uninterested : P.categoryInterestChance.others,
    );
    const [low, high] = interested ? P.interestRelevance.interested : P.interestRelevance.other;
    interest[category] = random.uniform(low, high);
  }

  const wantedPerWeek = Number(random.weighted(P.wishPerWeekWeights));
  const smsAudience = random.chance(P.smsAudienceShare);
  const hasApp = random.chance(P.appShare);

  // The preference centre's choices reach Governor only: without it the platform keeps sending.
  const statedWish = random.chance(P.preferenceCentreShare);
  let preferences: Preferences = { channels: {}, topics: {} };
  if (statedWish) {
    preferences.maxPerWeek = wantedPerWeek;
    if (random.chance(P.topicOptOutShare)) {
      const least = [...CATEGORIES].sort((a, b) => interest[a] - interest[b])[0];
      if (least) preferences.topics = { [least]: false };
    }
    if (random.chance(P.ownQuietHoursShare))
      preferences.quietHours = random.pick([
        { start: '20:00', end: '09:00' },
        { start: '22:00', end: '10:00' },
      ]);
    const shares = P.channelOptOutShare;
    if (smsAudience && random.chance(shares.sms))
      preferences.channels = { ...preferences.channels, ...optOut('sms') };
    if (random.chance(shares.email)) preferences.channels = { ...preferences.channels, ...optOut('email') };
    if (hasApp && random.chance(shares.push))
      preferences.channels = { ...preferences.channels, ...optOut('push') };
  }

  let timeZone = HOME_TIME_ZONE;
  if (random.chance(OTHER_TIME_ZONE_SHARE)) {
    timeZone = random.weighted(P.otherTimeZones);
    preferences = { ...preferences, timezone: timeZone };
  }

  return {
    id: `c${String(index).padStart(6, '0')}`,
    preferences,
    timeZone,
    heavy,
    uninterested,
    interest,
    wantedPerWeek,
    statedWish,
    smsAudience,
    hasApp,
  };
}

/** Whether the customer's stated preferences let a marketing message of this channel and category through. */
export function allowedByPreferences(customer: SimCustomer, channel: Channel, category: string): boolean {
  const { channels, topics } = customer.preferences;
  return channels[channel]?.optIn !== false && topics[category] !== false;
}
