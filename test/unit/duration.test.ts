import { describe, expect, it } from 'vitest';
import { durationMs, parseDuration } from '#shared/domain/duration.ts';
import { DAY, HOUR, MINUTE, SECOND, WEEK } from './builders.ts';

describe('parseDuration', () => {
  it.each([
    ['PT30S', 30 * SECOND],
    ['PT0.5S', 500],
    ['PT1.25S', 1250],
    ['PT30M', 30 * MINUTE],
    ['PT1H', HOUR],
    ['PT1H30M', 90 * MINUTE],
    ['PT36H', 36 * HOUR],
    ['P1D', DAY],
    ['P1DT12H', 36 * HOUR],
    ['P7D', WEEK],
    ['P1W', WEEK],
    ['P1W2D', 9 * DAY],
    ['P90D', 90 * DAY],
    ['PT0S', 0],
  ])('reads %s as a fixed span of %i ms', (text, expected) => {
    // Act
    const ms = parseDuration(text);

    // Assess
    expect(ms).toBe(expected);
  });

  it.each([
    ['an empty string', ''],
    ['a lone P', 'P'],
    ['a lone PT', 'PT'],
    ['a trailing T', 'P1DT'],
    ['months, which have no fixed length', 'P1M'],
    ['years, which have no fixed length', 'P1Y'],
    ['a time part without T', 'P1H'],
    ['minutes written as months', 'P30M'],
    ['a fraction outside seconds', 'P1.5D'],
    ['a negative duration', '-P1D'],
    ['lower-case designators', 'pt30m'],
    ['units out of order', 'PT30M1H'],
    ['surrounding spaces', ' PT1H'],
    ['plain milliseconds', '3600000'],
  ])('refuses %s (%j)', (_, text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('durationMs', () => {
  it('returns the length of a valid duration', () => {
    expect(durationMs('P1DT1H')).toBe(DAY + HOUR);
  });

  it('throws a RangeError on a malformed duration', () => {
    expect(() => durationMs('P1M')).toThrow(RangeError);
  });
});
