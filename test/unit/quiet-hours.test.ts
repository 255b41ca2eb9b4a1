import { describe, expect, it } from 'vitest';
import { quietHoursEnd } from '#shared/domain/quiet-hours.ts';
import { at, HOUR } from './builders.ts';

const night = { start: '21:00', end: '08:00' };
const lunch = { start: '12:00', end: '14:00' };

describe('quietHoursEnd', () => {
  describe('a quiet period within one day', () => {
    it.each([
      ['just before it starts', '2026-03-02T11:59:00Z', undefined],
      ['when it starts (start is inclusive)', '2026-03-02T12:00:00Z', '2026-03-02T14:00:00Z'],
      ['in the middle', '2026-03-02T13:00:00Z', '2026-03-02T14:00:00Z'],
      ['in its last minute', '2026-03-02T13:59:59Z', '2026-03-02T14:00:00Z'],
      ['when it ends (end is exclusive)', '2026-03-02T14:00:00Z', undefined],
    ])('%s (%s) gives %s', (_, now, expected) => {
      // Act
      const end = quietHoursEnd(at(now), lunch, 'UTC');

      // Assess
      expect(end).toBe(expected === undefined ? undefined : at(expected));
    });
  });

  describe('a quiet night wrapping past midnight, in Europe/Paris (UTC+1 in winter)', () => {
    it.each([
      ['20:59 local', '2026-03-02T19:59:00Z', undefined],
      ['21:00 local, the start', '2026-03-02T20:00:00Z', '2026-03-03T07:00:00Z'],
      ['23:59 local, before midnight', '2026-03-02T22:59:00Z', '2026-03-03T07:00:00Z'],
      ['00:00 local, after midnight', '2026-03-02T23:00:00Z', '2026-03-03T07:00:00Z'],
      ['07:59 local', '2026-03-03T06:59:00Z', '2026-03-03T07:00:00Z'],
      ['08:00 local, the end', '2026-03-03T07:00:00Z', undefined],
      ['noon local', '2026-03-03T11:00:00Z', undefined],
    ])('at %s (%s) ends at %s', (_, now, expected) => {
      expect(quietHoursEnd(at(now), night, 'Europe/Paris')).toBe(
        expected === undefined ? undefined : at(expected),
      );
    });

    it('ends on the next month when the night spans the end of one', () => {
      expect(quietHoursEnd(at('2026-03-31T21:00:00Z'), night, 'Europe/Paris')).toBe(
        at('2026-04-01T06:00:00Z'),
      );
    });
  });

  it('reads the quiet hours on the customer’s clock, not on UTC', () => {
    // Prepare: 22:00 UTC is 17:00 in New York
    const now = at('2026-03-02T22:00:00Z');

    // Act / Assess
    expect(quietHoursEnd(now, night, 'UTC')).toBe(at('2026-03-03T08:00:00Z'));
    expect(quietHoursEnd(now, night, 'America/New_York')).toBeUndefined();
  });

  it('treats a start equal to the end as no quiet hours at all', () => {
    expect(
      quietHoursEnd(at('2026-03-02T10:00:00Z'), { start: '10:00', end: '10:00' }, 'UTC'),
    ).toBeUndefined();
  });

  describe('across a daylight saving time change', () => {
    it.each([
      // Europe/Paris springs forward on 2026-03-29 (02:00 CET -> 03:00 CEST): a 10-hour night
      ['Europe/Paris', 'spring', '2026-03-28T20:00:00Z', '2026-03-29T06:00:00Z', 10],
      // and falls back on 2026-10-25 (03:00 CEST -> 02:00 CET): a 12-hour night
      ['Europe/Paris', 'autumn', '2026-10-24T19:00:00Z', '2026-10-25T07:00:00Z', 12],
      // America/New_York springs forward on 2026-03-08 (02:00 EST -> 03:00 EDT)
      ['America/New_York', 'spring', '2026-03-08T02:00:00Z', '2026-03-08T12:00:00Z', 10],
      // and falls back on 2026-11-01 (02:00 EDT -> 01:00 EST)
      ['America/New_York', 'autumn', '2026-11-01T01:00:00Z', '2026-11-01T13:00:00Z', 12],
    ])(
      'in %s in %s, a night starting at %s ends at 08:00 local, %s (%i hours)',
      (zone, _, start, end, hours) => {
        // Act
        const endsAt = quietHoursEnd(at(start), night, zone);

        // Assess
        expect(endsAt).toBe(at(end));
        expect(((endsAt ?? 0) - at(start)) / HOUR).toBe(hours);
      },
    );

    it('ends at the jump when its end falls in the hour the clock skips', () => {
      // Prepare: 02:30 does not exist in Paris on 2026-03-29; 01:30 CET is 00:30 UTC
      const quiet = { start: '22:00', end: '02:30' };

      // Act
      const end = quietHoursEnd(at('2026-03-29T00:30:00Z'), quiet, 'Europe/Paris');

      // Assess: 03:00 CEST
      expect(end).toBe(at('2026-03-29T01:00:00Z'));
    });

    it.each([
      // Paris shows 02:00-02:59 twice on 2026-10-25: first at UTC+2 (00:00-00:59Z), then at UTC+1
      ['Europe/Paris', { start: '22:00', end: '02:30' }, '2026-10-25T00:00:00Z', '2026-10-25T00:30:00Z'],
      // New York shows 01:00-01:59 twice on 2026-11-01: first at UTC-4 (05:00-05:59Z), then at UTC-5
      ['America/New_York', { start: '22:00', end: '01:30' }, '2026-11-01T05:00:00Z', '2026-11-01T05:30:00Z'],
    ])(
      'in %s, ends at the first time the clock shows its end when that time occurs twice',
      (zone, quiet, now, expected) => {
        expect(quietHoursEnd(at(now), quiet, zone)).toBe(at(expected));
      },
    );

    it.each([
      ['Europe/Paris', { start: '22:00', end: '02:30' }, '2026-10-25T01:00:00Z'],
      ['America/New_York', { start: '22:00', end: '01:30' }, '2026-11-01T06:00:00Z'],
    ])(
      'in %s, is over once its end has passed, even when the clock shows a quiet time again',
      (zone, quiet, now) => {
        expect(quietHoursEnd(at(now), quiet, zone)).toBeUndefined();
      },
    );
  });
});
