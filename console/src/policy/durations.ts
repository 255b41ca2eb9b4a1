/**
 * ISO 8601 durations (what the policy stores) as amounts and units (what a marketer reads and edits):
 * `P7D` ↔ 7 days, `PT4H` ↔ 4 hours. The lengths come from the API's own parser.
 */
import { parseDuration } from '../../../shared/domain/duration.ts';

export const UNITS = ['minutes', 'hours', 'days', 'weeks'] as const;
export type Unit = (typeof UNITS)[number] | 'seconds';

const MS: Record<Unit, number> = {
  seconds: 1000,
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
  weeks: 7 * 86_400_000,
};

const SINGULAR: Record<Unit, string> = {
  seconds: 'second',
  minutes: 'minute',
  hours: 'hour',
  days: 'day',
  weeks: 'week',
};

export interface Amount {
  amount: number;
  unit: Unit;
}

/**
 * The amount and unit a duration reads best in: weeks only when written in weeks (a marketer who wrote
 * P7D thinks "7 days"), else the largest unit that divides it exactly.
 */
export function toAmount(iso: string): Amount | undefined {
  const ms = parseDuration(iso);
  if (ms === undefined || ms <= 0) return undefined;
  if (/^P\d+W$/.test(iso)) return { amount: ms / MS.weeks, unit: 'weeks' };
  for (const unit of ['days', 'hours', 'minutes', 'seconds'] as const) {
    if (ms % MS[unit] === 0) return { amount: ms / MS[unit], unit };
  }
  return { amount: ms / 1000, unit: 'seconds' };
}

export function toIso({ amount, unit }: Amount): string {
  switch (unit) {
    case 'weeks':
      return `P${amount}W`;
    case 'days':
      return `P${amount}D`;
    case 'hours':
      return `PT${amount}H`;
    case 'minutes':
      return `PT${amount}M`;
    case 'seconds':
      return `PT${amount}S`;
  }
}

export function unitWord(unit: Unit, amount: number): string {
  return amount === 1 ? SINGULAR[unit] : unit;
}

/** `P7D` → "7 days", `PT1H` → "1 hour", with the number in the locale's format. */
export function durationWords(iso: string, number: (n: number) => string = String): string {
  const parts = toAmount(iso);
  if (!parts) return iso;
  return `${number(parts.amount)} ${unitWord(parts.unit, parts.amount)}`;
}
