/**
 * A synthetic customer base of a French brand, shaped by the survey figures in SURVEYS.md. Each figure
 * that shapes a draw is quoted next to it; where the surveys give no figure the number is an assumption
 * and says so. `simulate` prints the figures the population actually shows so the shape can be checked.
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

/**
 * Some customers live in other time zones (overseas departments, French Canada, expatriates). The surveys
 * give no figure: 8% is an assumption. Campaigns are scheduled on Paris time, so their messages often
 * land in these customers' night.
 */
const OTHER_TIME_ZONES = {
  'Indian/Reunion': 2.5,
  'America/Martinique': 1.5,
  'America/Montreal': 1.5,
  'Europe/London': 1,
  'America/Cayenne': 1,
  'Pacific/Noumea': 0.5,
} as const;
const OTHER_TIME_ZONE_SHARE = Object.values(OTHER_TIME_ZONES).reduce((a, b) => a + b, 0) / 100;

export interface SimCustomer {
  id: string;
  /** The preferences Governor holds (the brand's preference centre writes them). */
  preferences: Preferences;
  /** The zone the customer lives in (Europe/Paris unless `preferences.timezone` says otherwise). */
  timeZone: string;
  /** Over-solicited: in many campaign audiences (the 75% "contacted too often"). */
  heavy: boolean;
  /** Interested in few categories (the 86% who get "too much that does not interest them"). */
  uninterested: boolean;
  /** The relevance a message of each category has for this customer before campaign effects and noise. */
  interest: Record<Category, number>;
  /** How many marketing messages a week the customer would like, at most. */
  wantedPerWeek: number;
  usesPreferenceCentre: boolean;
  /** In the brand's SMS audience (consent collected by the campaign platform). */
  smsAudience: boolean;
  /** Has the app, so can receive push. */
  hasApp: boolean;
}

function optOut(channel: Channel): Preferences['channels'] {
  return { [channel]: { optIn: false, source: 'preference-centre' } };
}

export function createCustomer(seed: number, index: number): SimCustomer {
  const random = createRandom(derive(seed, 1, index));

  // 75% say brands contact them too often: 63% of customers sit in many campaign audiences and get far
  // more than anyone wants; the others are light targets, a third of whom still get more than they want.
  // (The printed "contacted more than they want" figure checks that the two add up to about 75%.)
  const heavy = random.chance(0.63);

  // 86% say brands send too much that does not interest them, 79% that brands speak without saying
  // anything, and only 8% feel brands know their needs: for 86% of customers only about one category
  // in seven is of real interest; the other 14% care about half of them.
  const uninterested = random.chance(0.86);
  const interest = {} as Record<Category, number>;
  for (const category of CATEGORIES) {
    const interested = random.chance(uninterested ? 0.14 : 0.5);
    interest[category] = interested ? random.uniform(0.5, 0.9) : random.uniform(0.03, 0.3);
  }

  // What they would accept: one to five marketing messages a week (an assumption; the surveys only say
  // that most get more than that).
  let wantedPerWeek = Number(random.weighted({ '1': 15, '2': 30, '3': 30, '4': 15, '5': 10 }));

  // Channels. 73% refuse to be contacted except in an emergency and SMS is the most intrusive channel:
  // the platform's SMS audience (consent collected) is 30% of customers. Smartphone apps are a minority
  // channel (8% of customer-service contacts); 25% having the app is an assumption.
  const smsAudience = random.chance(0.3);
  const hasApp = random.chance(0.25);

  // 42% feel recognised when they choose the moment, the place and the topics of the interaction: 42%
  // use the preference centre, whose choices only Governor knows (the platform keeps sending).
  const usesPreferenceCentre = random.chance(0.42);
  let preferences: Preferences = { channels: {}, topics: {} };
  if (usesPreferenceCentre) {
    // Topics: they turn off their least interesting category (60% of them).
    if (random.chance(0.6)) {
      const least = [...CATEGORIES].sort((a, b) => interest[a] - interest[b])[0];
      if (least) preferences.topics = { [least]: false };
    }
    // Frequency: 35% of them set a maximum per week, which is then what they want.
    if (random.chance(0.35)) {
      preferences.maxPerWeek = random.int(1, 3);
      wantedPerWeek = preferences.maxPerWeek;
    }
    // Moment: 20% of them choose their own quiet hours.
    if (random.chance(0.2))
      preferences.quietHours = random.pick([
        { start: '20:00', end: '09:00' },
        { start: '22:00', end: '10:00' },
      ]);
    // Channel: some opt out of a channel (some opt-outs: 25% of them for SMS, 8% for e-mail, 30% for push).
    if (smsAudience && random.chance(0.25))
      preferences.channels = { ...preferences.channels, ...optOut('sms') };
    if (random.chance(0.08)) preferences.channels = { ...preferences.channels, ...optOut('email') };
    if (hasApp && random.chance(0.3)) preferences.channels = { ...preferences.channels, ...optOut('push') };
  }

  let timeZone = HOME_TIME_ZONE;
  if (random.chance(OTHER_TIME_ZONE_SHARE)) {
    timeZone = random.weighted(OTHER_TIME_ZONES);
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
    usesPreferenceCentre,
    smsAudience,
    hasApp,
  };
}
