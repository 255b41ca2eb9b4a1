/**
 * Why a preview decided what it did: the relevance threshold it applied (the base, and what the
 * customer's pressure added), the customer's pressure, and how full each applicable cap is. Pure, and
 * computed with the very helpers the decision uses (decision.ts), so that the explanation cannot tell a
 * different story from the decision.
 */
import * as z from 'zod';
import {
  applicableRules,
  type CompiledPolicy,
  type CustomerView,
  countInWindow,
  type MessageFacts,
  nextFreeForGap,
  relevanceThreshold,
} from './decision.ts';
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
      relevance: unit.meta({ description: "the message's relevance" }),
    })
    .optional()
    .meta({ description: 'absent when the message is not held to one (transactional, or no relevance)' }),
  caps: z.array(
    z.object({
      id: z.string().meta({ description: 'the cap id; customer.maxPerWeek for the customer’s own cap' }),
      used: z.int().min(0).meta({ description: 'sends counted in the rolling window ending now' }),
      limit: z.int().min(0),
      window: z.string().meta({ description: 'ISO 8601 duration' }),
      freesAt: timestampSchema
        .optional()
        .meta({ description: 'when the oldest send counted leaves the window (absent: none counted)' }),
    }),
  ),
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
  c: CompiledPolicy,
  channel: Channel,
  now: number,
): Explanation {
  const { counts, gaps } = applicableRules(view, c, facts, channel);
  const start = Math.max(now, facts.notBefore ?? now);
  const threshold = relevanceThreshold(c, channel, facts.category, counts, start);
  const windowOf = (id: string) => c.policy.caps.find((cap) => cap.id === id)?.window ?? 'P7D';
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
        window: windowOf(rule.id),
        ...(counted.length > 0 ? { freesAt: iso(frees) } : {}),
      };
    }),
    gaps: gaps.map(({ rule, sends }) => {
      const frees = nextFreeForGap(rule, sends, start);
      return { id: rule.id, minGap: gapOf(rule.id), ...(frees !== undefined ? { freesAt: iso(frees) } : {}) };
    }),
  };
}
