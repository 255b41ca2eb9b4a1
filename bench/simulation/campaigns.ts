/**
 * A month of campaigns as a French brand's campaign platform schedules them (on Paris time), and the
 * messages they make for each customer. Every message carries the platform's relevance score and an
 * expiry, so Governor can defer it rather than lose it.
 */
import type { MessageFacts } from '#shared/domain/decision.ts';
import type { Channel } from '#shared/domain/schemas.ts';
import { addLocalDays, instantOfLocal, localTime } from '#shared/domain/time-zone.ts';
import { CATEGORIES, type Category, HOME_TIME_ZONE, type SimCustomer } from './population.ts';
import { createRandom, derive, type Random } from './random.ts';

const HOUR = 3600_000;

export interface Campaign {
  id: string;
  channel: Channel;
  category: Category;
  /** When the platform starts sending (each customer's message leaves within the next 20 minutes). */
  sendAt: number;
  expiresInMs: number;
  /** Whether the campaign is targeted on the customer's interests (it adds a little relevance). */
  targeted: boolean;
  /** The chance a heavy (over-solicited) or light customer is in the audience. */
  reach: { heavy: number; light: number };
}

export interface SimMessage {
  facts: MessageFacts & { category: Category; relevance: number; expiresAt: number };
  /** When the platform sends it to Governor. */
  at: number;
}

/** The numbers the calendar and the messages are drawn from (see `assumptions.ts` for their sources). */
export const CAMPAIGNS = {
  /** Campaigns targeted on the customer's interests. */
  targetedShare: 0.21,
  /** What targeting adds to a message's relevance, and what an untargeted campaign takes off it. */
  relevanceEffect: { targeted: 0.12, untargeted: -0.03 },
  /** The standard deviation of the per-message noise on relevance. */
  relevanceNoise: 0.1,
  /** The chance a heavy (over-solicited) or light customer is in a campaign's audience, by channel. */
  reach: {
    email: { heavy: 0.6, light: 0.12 },
    sms: { heavy: 0.7, light: 0.2 },
    push: { heavy: 0.6, light: 0.2 },
  },
  /** Expiry by category: a promotion is worth two days, a newsletter a week. */
  expiryHours: {
    promotions: 48,
    'new-arrivals': 72,
    newsletter: 168,
    loyalty: 120,
    events: 96,
    partners: 48,
  } satisfies Record<Category, number>,
} as const;
const EXPIRY_HOURS: Record<Category, number> = CAMPAIGNS.expiryHours;

function parisTime(day: { year: number; month: number; day: number }, hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return instantOfLocal(day.year, day.month, day.day, (h ?? 0) * 60 + (m ?? 0), HOME_TIME_ZONE);
}

function campaign(
  random: Random,
  id: string,
  channel: Channel,
  sendAt: number,
  category: Category,
  expiresInMs: number,
  reach: Campaign['reach'],
): Campaign {
  return {
    id,
    channel,
    category,
    sendAt,
    expiresInMs,
    targeted: random.chance(CAMPAIGNS.targetedShare),
    reach,
  };
}

/**
 * The calendar: e-mail twice a weekday and once a weekend day, SMS flash sales every third day, a push
 * every day. Send times are the platform's habits on Paris time, including a 07:30 breakfast send and a
 * 20:45 evening send — fine in Paris, night in Réunion or Nouméa.
 */
export function createCampaigns(seed: number, start: number, days: number): Campaign[] {
  const random = createRandom(derive(seed, 2));
  const first = localTime(start, HOME_TIME_ZONE);
  const campaigns: Campaign[] = [];
  for (let d = 0; d < days; d++) {
    const day = addLocalDays(first, d);
    const weekday = new Date(Date.UTC(day.year, day.month - 1, day.day)).getUTCDay(); // 0 = Sunday
    const weekend = weekday === 0 || weekday === 6;
    const emails = weekend ? 1 : 2;
    const slots = ['07:30', '10:00', '14:00', '18:30', '20:45'] as const;
    const used = new Set<string>();
    for (let i = 0; i < emails; i++) {
      let slot = random.weighted({ '07:30': 10, '10:00': 35, '14:00': 25, '18:30': 20, '20:45': 10 });
      while (used.has(slot)) slot = random.pick(slots);
      used.add(slot);
      const category = random.weighted({
        promotions: 35,
        'new-arrivals': 20,
        newsletter: 15,
        loyalty: 10,
        events: 10,
        partners: 10,
      });
      campaigns.push(
        campaign(
          random,
          `e${d}-${i}`,
          'email',
          parisTime(day, slot),
          category,
          EXPIRY_HOURS[category] * HOUR,
          CAMPAIGNS.reach.email,
        ),
      );
    }
    if (d % 3 === 1) {
      const flash = random.chance(0.5);
      campaigns.push(
        campaign(
          random,
          `s${d}`,
          'sms',
          parisTime(day, flash ? '18:00' : '12:00'),
          random.pick(['promotions', 'events'] as const),
          (flash ? 8 : 24) * HOUR,
          CAMPAIGNS.reach.sms,
        ),
      );
    }
    campaigns.push(
      campaign(
        random,
        `p${d}`,
        'push',
        parisTime(day, random.chance(0.5) ? '12:30' : '19:30'),
        random.pick(CATEGORIES),
        12 * HOUR,
        CAMPAIGNS.reach.push,
      ),
    );
  }
  return campaigns.sort((a, b) => a.sendAt - b.sendAt || a.id.localeCompare(b.id));
}

/** The messages the platform sends one customer during the month, in the order it sends them. */
export function messagesFor(
  seed: number,
  index: number,
  customer: SimCustomer,
  campaigns: readonly Campaign[],
): SimMessage[] {
  const random = createRandom(derive(seed, 3, index));
  const messages: SimMessage[] = [];
  for (const c of campaigns) {
    if (c.channel === 'sms' && !customer.smsAudience) continue;
    if (c.channel === 'push' && !customer.hasApp) continue;
    if (!random.chance(customer.heavy ? c.reach.heavy : c.reach.light)) continue;
    const at = c.sendAt + Math.floor(random.next() * 20 * 60_000);
    const noise = random.normal(0, CAMPAIGNS.relevanceNoise);
    const effect = c.targeted ? CAMPAIGNS.relevanceEffect.targeted : CAMPAIGNS.relevanceEffect.untargeted;
    const relevance = Math.min(1, Math.max(0, customer.interest[c.category] + effect + noise));
    messages.push({
      at,
      facts: {
        key: `${c.id}:${customer.id}`,
        channel: c.channel,
        kind: 'marketing',
        category: c.category,
        campaignId: c.id,
        relevance: Math.round(relevance * 1000) / 1000,
        expiresAt: c.sendAt + c.expiresInMs,
      },
    });
  }
  return messages.sort((a, b) => a.at - b.at || a.facts.key.localeCompare(b.facts.key));
}
