/**
 * What customers do with what they receive. For each delivered marketing message:
 *
 * - open (read) with probability `open × (0.5 + r) / (1 + λ·x)`, and once opened click with
 *   probability `clickGivenOpen × r`: both rise with the message's relevance r, and both fall with x,
 *   the pressure above the customer's hidden wish (an over-solicited customer ignores more of what they
 *   get; what they do with what they open depends on what it is);
 * - complain with probability `complaint × (1 + κ·x) × (1.5 − r)`, else unsubscribe from the channel
 *   with probability `unsubscribe × (1 + μ·x) × (1.5 − r)`: both rise with over-pressure (and with
 *   irrelevance);
 *
 * where x = max(0, n − wish) / wish, n the marketing messages the customer received in the rolling
 * 7 days up to and including this one (all channels), and wish their `wantedPerWeek`. The rates are
 * assumptions (the surveys give no open, click or unsubscribe rate); `assumptions.ts` lists them.
 *
 * The draws are common random numbers: each message of a customer has its own four uniforms, drawn
 * once from the seed, so two strategies delivering the same message under the same pressure get the same
 * reaction — the comparison between strategies is not blurred by sampling noise.
 */
import type { Channel } from '#shared/domain/schemas.ts';
import type { SimMessage } from './campaigns.ts';
import type { SimCustomer } from './population.ts';
import { createRandom, derive } from './random.ts';

const DAY_MS = 24 * 3600_000;

export interface ChannelEngagement {
  /** Chance of an open (a read) at relevance 0.5 without over-pressure. */
  open: number;
  /** Whether the provider reports opens: SES does for e-mail and push SDKs report taps; SMS has no open. */
  opensReported: boolean;
  /** Chance of a click once opened, at relevance 1 without over-pressure. */
  clickGivenOpen: number;
  /** Chance of an unsubscribe from the channel per message, at relevance 0.5 without over-pressure. */
  unsubscribe: number;
  /** Chance of a complaint (spam report) per message, at relevance 0.5 without over-pressure. */
  complaint: number;
}

export const ENGAGEMENT = {
  channels: {
    email: { open: 0.2, opensReported: true, clickGivenOpen: 0.3, unsubscribe: 0.0008, complaint: 0.0001 },
    sms: { open: 0.95, opensReported: false, clickGivenOpen: 0.15, unsubscribe: 0.003, complaint: 0.0002 },
    push: { open: 0.08, opensReported: true, clickGivenOpen: 0.5, unsubscribe: 0.002, complaint: 0 },
    whatsapp: { open: 0.9, opensReported: true, clickGivenOpen: 0.15, unsubscribe: 0.003, complaint: 0.0002 },
  } satisfies Record<Channel, ChannelEngagement>,
  /** λ: how fast opens (and so clicks) fall with over-pressure (at twice the wish, to 1 / (1 + λ)). */
  engagementDecay: 0.5,
  /** μ: how fast unsubscribes rise with over-pressure (at twice the wish, by 1 + μ). */
  unsubscribeGrowth: 1,
  /** κ: how fast complaints rise with over-pressure (at twice the wish, by 1 + κ). */
  complaintGrowth: 2,
  /** How long after delivery an unsubscribe, a complaint, an open or a click reaches Governor. */
  feedbackDelayMs: 3600_000,
  /** The rolling window the pressure is counted over. */
  pressureWindowMs: 7 * DAY_MS,
} as const;

export interface Reaction {
  opened: boolean;
  /** Opened and reported as such by the provider. */
  openReported: boolean;
  clicked: boolean;
  unsubscribed: boolean;
  complained: boolean;
}

/** The uniforms of each of a customer's messages, in the order of `messagesFor`: open, click, unsubscribe, complaint. */
export function drawsFor(seed: number, index: number, messages: readonly SimMessage[]): Float64Array {
  const random = createRandom(derive(seed, 4, index));
  const draws = new Float64Array(messages.length * 4);
  for (let i = 0; i < draws.length; i++) draws[i] = random.next();
  return draws;
}

/** The probabilities of a reaction to one message (exported for tests and the assumptions table). */
export function probabilities(
  channel: Channel,
  relevance: number,
  received7d: number,
  wish: number,
): { open: number; clickGivenOpen: number; unsubscribe: number; complaint: number } {
  const c = ENGAGEMENT.channels[channel];
  const over = Math.max(0, received7d - wish) / Math.max(1, wish);
  const damp = 1 / (1 + ENGAGEMENT.engagementDecay * over);
  const irrelevance = 1.5 - relevance;
  return {
    open: Math.min(1, c.open * (0.5 + relevance) * damp),
    clickGivenOpen: Math.min(1, c.clickGivenOpen * relevance),
    unsubscribe: Math.min(1, c.unsubscribe * (1 + ENGAGEMENT.unsubscribeGrowth * over) * irrelevance),
    complaint: Math.min(1, c.complaint * (1 + ENGAGEMENT.complaintGrowth * over) * irrelevance),
  };
}

/**
 * One customer's reactions under one strategy. Deliveries must be shown in time order: the pressure of
 * each counts the ones before it.
 */
export class CustomerReactions {
  private readonly times: number[] = [];
  private first = 0;

  constructor(
    private readonly customer: SimCustomer,
    private readonly draws: Float64Array,
  ) {}

  /** The reaction to the message at `index` (its position in the customer's messages) delivered at `at`. */
  react(index: number, channel: Channel, relevance: number, at: number): Reaction {
    this.times.push(at);
    while ((this.times[this.first] ?? at) <= at - ENGAGEMENT.pressureWindowMs) this.first++;
    const received7d = this.times.length - this.first;
    const p = probabilities(channel, relevance, received7d, this.customer.wantedPerWeek);
    const u = (k: number) => this.draws[index * 4 + k] ?? 1;
    const opened = u(0) < p.open;
    const clicked = opened && u(1) < p.clickGivenOpen;
    const complained = u(3) < p.complaint;
    const unsubscribed = !complained && u(2) < p.unsubscribe;
    return {
      opened,
      openReported: opened && ENGAGEMENT.channels[channel].opensReported,
      clicked,
      unsubscribed,
      complained,
    };
  }
}
