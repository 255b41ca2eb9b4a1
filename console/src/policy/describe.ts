/** A policy in a marketer's words: "3 per 7 days", "at least 4 hours apart", "Marketing messages by SMS". */
import type { Cap, CapMatch, PolicyDocument, QuietHours } from '../api/types.ts';
import { channelLabel } from '../labels.ts';
import { durationWords } from './durations.ts';

type NumberFormat = (n: number) => string;

/** "3 per 7 days"; undefined for a cap without a limit. */
export function limitWords(cap: Cap, number: NumberFormat = String): string | undefined {
  if (cap.limit === undefined || cap.window === undefined) return undefined;
  return `${number(cap.limit)} per ${durationWords(cap.window, number)}`;
}

/** "at least 4 hours apart"; undefined for a cap without a minimum gap. */
export function gapWords(cap: Cap, number: NumberFormat = String): string | undefined {
  return cap.minGap === undefined ? undefined : `at least ${durationWords(cap.minGap, number)} apart`;
}

/** The messages a cap counts: "Marketing messages by SMS, category “promotions”". */
export function scopeWords(match: CapMatch | undefined): string {
  const m = match ?? {};
  const parts = [
    `${m.kind === 'transactional' ? 'Transactional' : 'Marketing'} messages`,
    m.channel ? `by ${channelLabel(m.channel)}` : 'on every channel',
  ];
  let text = parts.join(' ');
  if (m.category !== undefined) text += `, category “${m.category}”`;
  if (m.campaignId !== undefined) text += `, campaign “${m.campaignId}”`;
  return text;
}

/** The whole rule in one phrase: "3 per 7 days and at least 4 hours apart". */
export function ruleWords(cap: Cap, number: NumberFormat = String): string {
  const words = [limitWords(cap, number), gapWords(cap, number)].filter((w): w is string => w !== undefined);
  return words.length > 0 ? words.join(' and ') : 'no limit';
}

export function quietHoursWords(quiet: QuietHours | undefined): string {
  if (!quiet) return 'none';
  return `${quiet.start}–${quiet.end}, ${quiet.defaultTimezone ?? 'UTC'} unless the customer set a time zone`;
}

/** A one-line summary for the overview: "4 caps · quiet hours 21:00–08:00 (Europe/Paris)". */
export function policySummary(policy: PolicyDocument): string {
  const caps = policy.caps?.length ?? 0;
  const quiet = policy.quietHours
    ? `quiet hours ${policy.quietHours.start}–${policy.quietHours.end} (${policy.quietHours.defaultTimezone ?? 'UTC'})`
    : 'no quiet hours';
  return `${caps} ${caps === 1 ? 'cap' : 'caps'} · ${quiet}`;
}
