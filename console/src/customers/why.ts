/**
 * A customer's decisions in support's words: what happened to a message and why ("Suppressed, not sent: the cap
 * “marketing-weekly” was full"), from the fields the API answers (outcome, reason, rule, channel) —
 * nothing the browser decides itself.
 */
import type { CustomerDecision, DeferredSummary } from '../api/types.ts';
import type { Format } from '../format.ts';
import { channelLabel, reasonLabel } from '../labels.ts';

type Verdict = Pick<CustomerDecision, 'outcome' | 'reason' | 'rule' | 'channel' | 'releaseAt'>;

export const OUTCOME_LABELS: Record<CustomerDecision['outcome'], string> = {
  accepted: 'Accepted',
  deferred: 'Deferred',
  suppressed: 'Suppressed',
};

/** What a deferred message waits for: "the end of the quiet hours", "a free slot under the cap “x”". */
export function waitWords(rule: string | undefined): string {
  if (rule === 'quietHours') return 'the end of the customer’s quiet hours';
  if (rule === 'notBefore') return 'the time the platform asked it not to go before';
  if (rule === undefined) return 'its release time';
  return `a free slot under the cap “${rule}”`;
}

/** Why a message was not sent, in a sentence without its final stop. */
export function suppressionWords(verdict: Verdict, category?: string): string {
  const channel = channelLabel(verdict.channel);
  const rule = verdict.rule;
  switch (verdict.reason) {
    case 'frequency_cap':
      return rule
        ? `the cap “${rule}” was full, and the message could not wait for a slot before it expired`
        : 'a frequency cap was full, and the message could not wait for a slot before it expired';
    case 'min_gap':
      return rule
        ? `it came too soon after the last message counted by “${rule}”, and could not wait`
        : 'it came too soon after the last message, and could not wait';
    case 'relevance_below_threshold':
      return 'its relevance was below the threshold its channel needed at this customer’s pressure';
    case 'opted_out':
      return `the customer opted out of ${channel}`;
    case 'topic_opted_out':
      return category
        ? `the customer opted out of the topic “${category}”`
        : 'the customer opted out of its topic';
    case 'paused':
      return 'the customer paused marketing messages';
    case 'quiet_hours_expired':
      return 'it would have expired before the customer’s quiet hours ended';
    case 'expired':
      return rule === 'expiresAt' ? 'it expired before its release' : 'it expired before it could go';
    case 'hard_bounce':
      return `the customer’s ${channel} address bounced hard`;
    case 'complained':
      return `the customer complained about ${channel} messages`;
    case 'erased':
      return 'the customer was erased';
    default:
      return verdict.reason ? reasonLabel(verdict.reason) : 'no reason was recorded';
  }
}

/** One decision in a sentence: "Not sent: the customer opted out of SMS." */
export function decisionWords(d: CustomerDecision, format: Format): string {
  const instead =
    d.requestedChannel && d.requestedChannel !== d.channel
      ? ` (by ${channelLabel(d.channel)} instead of ${channelLabel(d.requestedChannel)})`
      : '';
  if (d.outcome === 'accepted') return `Accepted${instead}: queued for delivery at once.`;
  if (d.outcome === 'suppressed')
    return `Suppressed, not sent${instead}: ${suppressionWords(d, d.category)}.`;
  const at = d.releaseAt ? format.dateTime(d.releaseAt) : 'later';
  let text = `Deferred${instead} until ${at}, waiting for ${waitWords(d.rule)}.`;
  if (d.pending) text += ' It is still waiting.';
  else if (d.release) {
    const released = d.release;
    if (released.outcome === 'accepted')
      text += ` Then sent at its release, ${format.dateTime(released.at)}.`;
    else if (released.outcome === 'suppressed')
      text += ` Then not sent at its release: ${suppressionWords(released, d.category)}.`;
    else
      text += ` At its release it was deferred again, until ${released.releaseAt ? format.dateTime(released.releaseAt) : 'later'}.`;
  }
  return text;
}

/** The short form for a table cell: "Opted out of the channel", "Held for quiet hours". */
export function reasonCell(d: Pick<CustomerDecision, 'outcome' | 'reason' | 'rule'>): string {
  if (d.outcome === 'accepted') return '–';
  if (d.outcome === 'suppressed') return d.reason ? reasonLabel(d.reason) : 'No reason recorded';
  if (d.rule === 'quietHours') return 'Quiet hours';
  if (d.rule === 'notBefore') return 'Not before a set time';
  return 'Cap full: waits for a slot';
}

/** What a deferred message waits for, for its table. */
export const deferredWaitWords = (d: DeferredSummary) => waitWords(d.rule);
