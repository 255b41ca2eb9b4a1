/**
 * How many generated cases a property test runs: `n` in `npm test`, a share of it where
 * GOVERNOR_TEST_PROPERTY_SCALE says (the mutation run sets it, vitest.mutation.config.ts: each mutant
 * reruns the property tests that cover it, and a surviving one runs them whole).
 */
export function propertyRuns(n: number): number {
  const raw = process.env.GOVERNOR_TEST_PROPERTY_SCALE;
  const scale = raw === undefined || raw === '' ? 1 : Number(raw);
  if (!(scale > 0 && scale <= 1))
    throw new Error(`GOVERNOR_TEST_PROPERTY_SCALE must be in (0, 1], got ${raw}`);
  return Math.max(1, Math.round(n * scale));
}
