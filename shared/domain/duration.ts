/**
 * ISO 8601 durations as fixed lengths of time. Days are 24 hours and weeks 7 days (rolling windows are
 * exact spans of time, not calendar periods); years and months are not accepted because they have no
 * fixed length.
 */
const DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Milliseconds in an ISO 8601 duration (`PT30M`, `P7D`, `P1W`, `P1DT12H`), or undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (!match || text === 'P' || text.endsWith('T')) return undefined;
  const [, weeks, days, hours, minutes, seconds] = match;
  return (
    Number(weeks ?? 0) * 7 * DAY +
    Number(days ?? 0) * DAY +
    Number(hours ?? 0) * HOUR +
    Number(minutes ?? 0) * MINUTE +
    Math.round(Number(seconds ?? 0) * SECOND)
  );
}

/** Like parseDuration, for durations already validated by the policy schema. */
export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new RangeError(`invalid ISO 8601 duration: ${text}`);
  return ms;
}
