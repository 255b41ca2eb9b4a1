/**
 * Why a preview decided what it did: the relevance threshold it applied (the base, and what the
 * customer's pressure added), the customer's pressure, and how full each applicable cap is. Pure, and
 * computed with the very helpers the decision uses (decision.ts), so that the explanation cannot tell a
 * different story from the decision.
 */
import * as z from 'zod';
import {
  activeFatigue,
  applicableRules,
  type CompiledPolicy,
  type CustomerView,
  countInWindow,
  effectiveAt,
  type MessageFacts,
  nextFreeForGap,
  relevanceThreshold,
} from './decision.ts';
import { fatigueAt, fatiguedLimit } from './fatigue.ts';
import { type Channel, channelSchema, decisionSchema, timestampSchema } from './schemas.ts';

const unit = z.number().min(0).max(1);

export const explanationSchema = z.object({
  channel: channelSchema.meta({ description: 'the channel explained: the one the decision is on' }),
  pressure: unit.meta({ description: "the customer's pressure: how full the fullest applicable cap is" }),
  threshold: z
    .object({
      base: unit.meta({ description: "the channel's or category's threshold (the stricter), else default" }),
      fromPressure: unit.meta({ description: 'pressureSlope × pressure' }),
      required: unit.meta({ description: 'base + fromPressure, at most 1: what relevance must reach' }),
      fromFatigue: unit
        .optional()
        .meta({ description: 'what fatigue adds on top of required (absent: the customer is not fatigued)' }),
      relevance: unit.meta({ description: "the message's relevance" }),
    })
    .optional()
    .meta({ description: 'absent when the message is not held to one (transactional, or no relevance)' }),
  caps: z.array(
    z.object({
      id: z.string().meta({ description: 'the cap id; customer.maxPerWeek for the customer’s own cap' }),
      used: z.int().min(0).meta({ description: 'sends counted in the rolling window ending now' }),
      limit: z.int().min(0),
      effectiveLimit: z
        .int()
        .min(0)
        .optional()
        .meta({ description: 'the limit fatigue scaled the cap down to (absent: the limit holds)' }),
      window: z.string().meta({ description: 'ISO 8601 duration' }),
      freesAt: timestampSchema
        .optional()
        .meta({ description: 'when the oldest send counted leaves the window (absent: none counted)' }),
    }),
  ),
  engagement: z
    .object({
      score: unit.optional().meta({
        description: 'opens and clicks per delivered, decayed (half-life 14 days); absent: neutral',
      }),
      delivered: z.number().min(0).meta({ description: 'decayed deliveries' }),
      run: z.int().min(0).meta({ description: 'deliveries since the last open or click' }),
      fatigue: z
        .string()
        .optional()
        .meta({ description: 'the fatigue rule in force: fatigue.threshold or fatigue.unengagedRun' }),
    })
    .optional()
    .meta({ description: "the customer's engagement, when the policy has a fatigue section" }),
  gaps: z.array(
    z.object({
      id: z.string(),
      minGap: z.string().meta({ description: 'ISO 8601 duration' }),
      freesAt: timestampSchema.optional().meta({
        description: 'when the gap after the last matching send ends (absent: no send is that close)',
      }),
    }),
  ),
});
export type Explanation = z.infer<typeof explanationSchema>;

/** What `POST /v1/decisions/preview` answers: the decision, and why when it was taken now. */
export const previewSchema = decisionSchema.extend({ explanation: explanationSchema.optional() });
export type Preview = z.infer<typeof previewSchema>;

const iso = (t: number) => new Date(t).toISOString();

/** The explanation of a decision on `channel` for `facts` at `now`, from what the decision read. */
export function explain(
  view: CustomerView,
  facts: MessageFacts,
  bound: CompiledPolicy,
  channel: Channel,
  now: number,
): Explanation {
  const c = effectiveAt(bound, now);
  const { counts, gaps } = applicableRules(view, c, facts, channel);
  const start = Math.max(now, facts.notBefore ?? now);
  const threshold = relevanceThreshold(c, channel, facts.category, counts, start);
  const fatigue = activeFatigue(view, c, facts, start);
  const engagement = c.policy.fatigue ? fatigueAt(view.engagement, c.policy.fatigue, start) : undefined;
  const windowOf = (id: string) => c.policy.caps.find((cap) => cap.id === id)?.window ?? 'P7D';
  // Stryker disable next-line OptionalChaining,StringLiteral: equivalent: every gap rule is compiled from a policy cap with a minGap, and cap ids are unique, so the cap is always found and has one
  const gapOf = (id: string) => c.policy.caps.find((cap) => cap.id === id)?.minGap ?? '';
  return {
    channel,
    pressure: threshold.pressure,
    ...(facts.kind === 'marketing' && facts.relevance !== undefined
      ? {
          threshold: {
            base: threshold.base,
            fromPressure: threshold.fromPressure,
            required: threshold.required,
            ...(fatigue ? { fromFatigue: Math.min(1 - threshold.required, fatigue.relevanceBoost) } : {}),
            relevance: facts.relevance,
          },
        }
      : {}),
    caps: counts.map(({ rule, sends }) => {
      // The sends the window counts, by the decision's own test of a send against a window.
      const counted = sends.filter((s) => countInWindow([s], start, rule.windowMs) === 1);
      const frees = Math.min(...counted.map((s) => s.at + rule.windowMs));
      return {
        id: rule.id,
        used: counted.length,
        limit: rule.limit,
        ...(fatigue && fatiguedLimit(rule.limit, fatigue.capScale) < rule.limit
          ? { effectiveLimit: fatiguedLimit(rule.limit, fatigue.capScale) }
          : {}),
        window: windowOf(rule.id),
        ...(counted.length > 0 ? { freesAt: iso(frees) } : {}),
      };
    }),
    ...(engagement
      ? {
          engagement: {
            ...(engagement.score !== undefined ? { score: engagement.score } : {}),
            delivered: engagement.delivered,
            run: engagement.run,
            ...(engagement.rule ? { fatigue: engagement.rule } : {}),
          },
        }
      : {}),
    gaps: gaps.map(({ rule, sends }) => {
      const frees = nextFreeForGap(rule, sends, start);
      return { id: rule.id, minGap: gapOf(rule.id), ...(frees !== undefined ? { freesAt: iso(frees) } : {}) };
    }),
  };
}
