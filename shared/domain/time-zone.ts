/**
 * Wall-clock arithmetic in IANA time zones with the platform's Intl data: which local time an instant
 * is, and which instant a local time is (DST gaps resolve forward, overlaps to the earlier instant).
 */
const DAY_MS = 24 * 3600 * 1000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  /** Minutes since local midnight. */
  minuteOfDay: number;
}

export function localTime(instant: number, timeZone: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year ?? 1970,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    minuteOfDay: (parts.hour ?? 0) * 60 + (parts.minute ?? 0),
  };
}

/** The UTC offset of a zone at an instant, in milliseconds (local minus UTC), to the minute. */
function offsetAt(instant: number, timeZone: string): number {
  const local = localTime(instant, timeZone);
  const seconds = new Date(instant).getUTCSeconds();
  const asUtc =
    Date.UTC(local.year, local.month - 1, local.day) + local.minuteOfDay * 60_000 + seconds * 1000;
  return asUtc - (instant - (instant % 1000));
}

/**
 * The first instant at or after which the local clock reads `minuteOfDay` on the given local date. When
 * that local time does not exist (the clock jumps over it), the instant the jump lands on.
 */
export function instantOfLocal(
  year: number,
  month: number,
  day: number,
  minuteOfDay: number,
  timeZone: string,
): number {
  const wall = Date.UTC(year, month - 1, day) + minuteOfDay * 60_000;
  // The offsets in force a day either side of that wall time include both sides of any DST change; each
  // gives a candidate instant, checked earliest first so that overlaps pick the earlier instant.
  const candidates = [wall - DAY_MS, wall, wall + DAY_MS]
    .map((probe) => wall - offsetAt(probe, timeZone))
    .sort((a, b) => a - b);
  for (const candidate of candidates) {
    if (wallOf(candidate, timeZone) === wall) return candidate;
  }
  // The local time falls in a gap (the clock jumps over it): find, to the minute, the first instant whose
  // local wall time is past it, which is the instant of the jump.
  let low = candidates[0] ?? wall;
  let high = candidates[candidates.length - 1] ?? wall;
  while (high - low > 60_000) {
    const mid = low + Math.floor((high - low) / 120_000) * 60_000;
    if (wallOf(mid, timeZone) >= wall) high = mid;
    else low = mid;
  }
  return high;
}

function wallOf(instant: number, timeZone: string): number {
  const local = localTime(instant, timeZone);
  return Date.UTC(local.year, local.month - 1, local.day) + local.minuteOfDay * 60_000;
}

export function addLocalDays(local: LocalTime, days: number): LocalTime {
  const d = new Date(Date.UTC(local.year, local.month - 1, local.day + days));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    minuteOfDay: local.minuteOfDay,
  };
}
