import type { QuietHours } from './schemas.ts';
import { addLocalDays, instantOfLocal, localTime } from './time-zone.ts';

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

/**
 * When `instant` falls inside the quiet hours (local time in `timeZone`, start inclusive, end exclusive,
 * wrapping past midnight when start is after end), the instant they end; otherwise undefined.
 */
export function quietHoursEnd(instant: number, quiet: QuietHours, timeZone: string): number | undefined {
  const start = minutes(quiet.start);
  const end = minutes(quiet.end);
  if (start === end) return undefined;
  const local = localTime(instant, timeZone);
  const m = local.minuteOfDay;
  const wraps = start > end;
  const inside = wraps ? m >= start || m < end : m >= start && m < end;
  if (!inside) return undefined;
  const endDay = wraps && m >= start ? addLocalDays(local, 1) : local;
  const endsAt = instantOfLocal(endDay.year, endDay.month, endDay.day, end, timeZone);
  return endsAt > instant ? endsAt : undefined;
}
