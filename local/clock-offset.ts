/**
 * A testing aid of the local stack, and nothing else: GOVERNOR_LOCAL_CLOCK_OFFSET_MS (milliseconds,
 * positive or negative) shifts `Date.now()` in the process that imports this module first, as if its
 * machine's clock were that far off — what the instances of a deployment see, whose clocks differ by
 * seconds. Only the API and worker processes of `npm start` (local/api-process.ts,
 * local/workers-process.ts) honour it; the deployed functions never import it.
 */
const raw = process.env.GOVERNOR_LOCAL_CLOCK_OFFSET_MS;
export const clockOffsetMs = raw === undefined || raw === '' ? 0 : Number(raw);
if (!Number.isInteger(clockOffsetMs) || Math.abs(clockOffsetMs) > 86_400_000)
  throw new Error(`GOVERNOR_LOCAL_CLOCK_OFFSET_MS must be whole milliseconds within a day, got ${raw}`);
if (clockOffsetMs !== 0) {
  const now = Date.now.bind(Date);
  Date.now = () => now() + clockOffsetMs;
}
