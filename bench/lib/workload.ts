/**
 * The bench's workload, the same for every line: random customers among N, a campaign mix over four
 * channels with relevance scores of which a realistic share passes, some messages with an expiry (so
 * that a full cap defers rather than suppresses), a few transactional ones, and a fifth of the customers
 * with preferences. Deterministic per seed; each line uses its own customer ids so that each starts from
 * the same state.
 */
import {
  type Channel,
  type MessageInput,
  type PolicyDocumentInput,
  type PreferencesInput,
  policyDocumentSchema,
} from '#shared/domain/schemas.ts';

/** mulberry32: small, fast, good enough for a workload. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHANNEL_COSTS = { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' } as const;

/** Three caps (one per channel), a minGap rule, relevance rising with pressure; no quiet hours. */
export const BENCH_POLICY: PolicyDocumentInput = {
  caps: [
    { id: 'marketing-weekly', limit: 5, window: 'P7D', match: {} },
    { id: 'marketing-daily', limit: 2, window: 'P1D', match: {} },
    { id: 'sms-weekly', limit: 1, window: 'P7D', match: { channel: 'sms' } },
    { id: 'min-gap', minGap: 'PT2H', match: {} },
  ],
  relevance: {
    default: 0.3,
    byChannel: { sms: 0.5, whatsapp: 0.5 },
    byCategory: { 'cart-reminder': 0.2 },
    pressureSlope: 0.4,
  },
  channelCosts: CHANNEL_COSTS,
};

/**
 * The bench policy with fatigue and a two-arm experiment whose arms decide as the policy does (the
 * current policy, and its own caps as an alternative): the same decisions, with the work of scoring
 * engagement and assigning an arm on each one.
 */
export const ENGAGED_POLICY: PolicyDocumentInput = {
  ...BENCH_POLICY,
  fatigue: { threshold: 0.1 },
  experiments: [
    {
      id: 'bench-lift',
      salt: 'bench-salt',
      arms: [
        { id: 'current', share: 0.5, policy: 'current' },
        { id: 'same-caps', share: 0.5, policy: { caps: BENCH_POLICY.caps ?? [] } },
      ],
    },
  ],
};

/** The same shape with room for 20 sends a week, for the item-size measurement. */
export const ROOMY_POLICY: PolicyDocumentInput = {
  ...BENCH_POLICY,
  caps: [
    { id: 'marketing-weekly', limit: 25, window: 'P7D', match: {} },
    { id: 'marketing-daily', limit: 25, window: 'P1D', match: {} },
    { id: 'sms-weekly', limit: 1, window: 'P7D', match: { channel: 'sms' } },
  ],
};

export const parsePolicy = (p: PolicyDocumentInput) => policyDocumentSchema.parse(p);

/** Campaign ids as platforms make them (20 characters); categories as marketers name them. */
export const CAMPAIGNS = Array.from(
  { length: 12 },
  (_, i) => `cmp-2026w47-${String(i + 1).padStart(8, '0')}`,
);
const CATEGORIES = ['promotions', 'newsletter', 'new-arrivals', 'loyalty', 'cart-reminder'];

export const customerId = (line: string, index: number) =>
  `cus_${line}_${index.toString(36).padStart(6, '0')}`;

export interface Workload {
  /** The customer index of each decision. */
  customers: Uint32Array;
  message(line: string, i: number, now: number): MessageInput;
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

export function workload(seed: number, customers: number, decisions: number): Workload {
  const rand = random(seed);
  const who = new Uint32Array(decisions);
  const shapes = Array.from({ length: decisions }, (_, i) => {
    who[i] = Math.floor(rand() * customers);
    const transactional = rand() < 0.05;
    const c = rand();
    const channel: Channel = c < 0.65 ? 'email' : c < 0.85 ? 'push' : c < 0.95 ? 'sms' : 'whatsapp';
    return {
      transactional,
      channel,
      alternate: channel === 'email' && rand() < 0.1,
      category: pick(rand, CATEGORIES),
      campaignId: pick(rand, CAMPAIGNS),
      // Skewed low: about 60% reach the default threshold of 0.3 at zero pressure.
      relevance: Math.round(rand() ** 1.3 * 100) / 100,
      expires: rand() < 0.35,
    };
  });
  return {
    customers: who,
    message(line, i, now) {
      const s = shapes[i]!;
      const base = {
        messageId: `${line}-${s.campaignId}-${i}`,
        customerId: customerId(line, who[i]!),
        channel: s.channel,
        payload: { template: `${s.campaignId}-${s.channel}`, locale: 'fr-FR', vars: { offer: 'BF26' } },
      };
      if (s.transactional) return { ...base, kind: 'transactional', category: 'order-update' };
      return {
        ...base,
        category: s.category,
        campaignId: s.campaignId,
        relevance: s.relevance,
        ...(s.alternate ? { alternateChannels: ['push'] } : {}),
        ...(s.expires ? { expiresAt: new Date(now + 48 * 3600_000).toISOString() } : {}),
      };
    },
  };
}

/** Preferences for a fifth of the customers: channel opt-outs, topic opt-outs, a weekly maximum. */
export function preferencesOf(seed: number, customers: number): Map<number, PreferencesInput> {
  const rand = random(seed ^ 0x5eed);
  const out = new Map<number, PreferencesInput>();
  for (let i = 0; i < customers; i++) {
    if (rand() >= 0.2) continue;
    const kind = rand();
    if (kind < 0.35) out.set(i, { channels: { sms: { optIn: false } }, topics: {} });
    else if (kind < 0.65) out.set(i, { channels: {}, topics: { promotions: false } });
    else if (kind < 0.9) out.set(i, { channels: {}, topics: {}, maxPerWeek: 2 });
    else
      out.set(i, {
        channels: { email: { optIn: true } },
        topics: { newsletter: false },
        preferredChannels: ['push', 'email'],
      });
  }
  return out;
}
