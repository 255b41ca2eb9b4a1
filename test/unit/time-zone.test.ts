import { describe, expect, it } from 'vitest';
import { addLocalDays, instantOfLocal, isValidTimeZone, localTime } from '#shared/domain/time-zone.ts';
import { at } from './builders.ts';

const hhmm = (h: number, m = 0) => h * 60 + m;

describe('isValidTimeZone', () => {
  it.each(['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'])(
    'accepts the IANA zone %s',
    (zone) => {
      expect(isValidTimeZone(zone)).toBe(true);
    },
  );

  it.each(['Europe/Atlantis', 'Mars/Olympus_Mons', 'not a zone', ''])('refuses %j', (zone) => {
    expect(isValidTimeZone(zone)).toBe(false);
  });
});

describe('localTime', () => {
  it.each([
    ['UTC', '2026-03-02T10:15:00Z', { year: 2026, month: 3, day: 2, minuteOfDay: hhmm(10, 15) }],
    ['Europe/Paris', '2026-03-02T10:15:00Z', { year: 2026, month: 3, day: 2, minuteOfDay: hhmm(11, 15) }],
    ['Europe/Paris', '2026-07-01T22:30:00Z', { year: 2026, month: 7, day: 2, minuteOfDay: hhmm(0, 30) }],
    ['America/New_York', '2026-03-02T03:00:00Z', { year: 2026, month: 3, day: 1, minuteOfDay: hhmm(22) }],
    [
      'America/New_York',
      '2027-01-01T04:59:00Z',
      { year: 2026, month: 12, day: 31, minuteOfDay: hhmm(23, 59) },
    ],
    ['Asia/Kolkata', '2026-03-02T00:00:00Z', { year: 2026, month: 3, day: 2, minuteOfDay: hhmm(5, 30) }],
  ])('in %s reads %s as %o', (zone, iso, expected) => {
    expect(localTime(at(iso), zone)).toEqual(expected);
  });

  it('reads midnight as minute 0, not 24:00', () => {
    expect(localTime(at('2026-03-01T23:00:00Z'), 'Europe/Paris')).toEqual({
      year: 2026,
      month: 3,
      day: 2,
      minuteOfDay: 0,
    });
  });

  it.each([
    ['Europe/Paris', '2026-03-29T00:59:00Z', hhmm(1, 59)],
    ['Europe/Paris', '2026-03-29T01:00:00Z', hhmm(3)],
    ['Europe/Paris', '2026-10-25T00:59:00Z', hhmm(2, 59)],
    ['Europe/Paris', '2026-10-25T01:00:00Z', hhmm(2)],
    ['America/New_York', '2026-03-08T06:59:00Z', hhmm(1, 59)],
    ['America/New_York', '2026-03-08T07:00:00Z', hhmm(3)],
    ['America/New_York', '2026-11-01T05:59:00Z', hhmm(1, 59)],
    ['America/New_York', '2026-11-01T06:00:00Z', hhmm(1)],
  ])('follows the DST change in %s: %s reads as minute %i', (zone, iso, minuteOfDay) => {
    expect(localTime(at(iso), zone).minuteOfDay).toBe(minuteOfDay);
  });
});

describe('instantOfLocal', () => {
  it.each([
    ['UTC', 2026, 3, 2, hhmm(8), '2026-03-02T08:00:00Z'],
    ['Europe/Paris', 2026, 3, 2, hhmm(8), '2026-03-02T07:00:00Z'],
    ['Europe/Paris', 2026, 7, 1, hhmm(8), '2026-07-01T06:00:00Z'],
    ['Europe/Paris', 2026, 3, 29, hhmm(8), '2026-03-29T06:00:00Z'],
    ['Europe/Paris', 2026, 10, 25, hhmm(8), '2026-10-25T07:00:00Z'],
    ['America/New_York', 2026, 3, 8, hhmm(8), '2026-03-08T12:00:00Z'],
    ['America/New_York', 2026, 11, 1, hhmm(8), '2026-11-01T13:00:00Z'],
    ['America/New_York', 2026, 12, 31, hhmm(23, 30), '2027-01-01T04:30:00Z'],
    ['Asia/Kolkata', 2026, 3, 2, hhmm(0), '2026-03-01T18:30:00Z'],
  ])('in %s, %i-%i-%i at minute %i is %s', (zone, year, month, day, minute, iso) => {
    expect(instantOfLocal(year, month, day, minute, zone)).toBe(at(iso));
  });

  it.each([
    ['Europe/Paris', 2026, 3, 29, hhmm(2, 30), '2026-03-29T01:00:00Z'],
    ['Europe/Paris', 2026, 3, 29, hhmm(2), '2026-03-29T01:00:00Z'],
    ['America/New_York', 2026, 3, 8, hhmm(2, 30), '2026-03-08T07:00:00Z'],
  ])(
    'in %s, a local time skipped by the clock (%i-%i-%i minute %i) resolves forward to the jump, %s',
    (zone, year, month, day, minute, iso) => {
      expect(instantOfLocal(year, month, day, minute, zone)).toBe(at(iso));
    },
  );

  it.each([
    ['Europe/Paris', 2026, 10, 25, hhmm(2, 30), '2026-10-25T00:30:00Z'],
    ['Europe/Paris', 2026, 10, 25, hhmm(2), '2026-10-25T00:00:00Z'],
    ['America/New_York', 2026, 11, 1, hhmm(1, 30), '2026-11-01T05:30:00Z'],
    ['America/New_York', 2026, 11, 1, hhmm(1), '2026-11-01T05:00:00Z'],
  ])(
    'in %s, a local time the clock shows twice (%i-%i-%i minute %i) is its earlier instant, %s',
    (zone, year, month, day, minute, iso) => {
      expect(instantOfLocal(year, month, day, minute, zone)).toBe(at(iso));
    },
  );
});

describe('addLocalDays', () => {
  it.each([
    [{ year: 2026, month: 3, day: 2 }, 1, { year: 2026, month: 3, day: 3 }],
    [{ year: 2026, month: 2, day: 28 }, 1, { year: 2026, month: 3, day: 1 }],
    [{ year: 2028, month: 2, day: 28 }, 1, { year: 2028, month: 2, day: 29 }],
    [{ year: 2026, month: 12, day: 31 }, 1, { year: 2027, month: 1, day: 1 }],
    [{ year: 2026, month: 3, day: 1 }, -1, { year: 2026, month: 2, day: 28 }],
  ])('moves %o by %i day(s) to %o, keeping the time of day', (date, days, expected) => {
    expect(addLocalDays({ ...date, minuteOfDay: hhmm(8) }, days)).toEqual({
      ...expected,
      minuteOfDay: hhmm(8),
    });
  });
});

describe('instantOfLocal and localTime together', () => {
  it.each([
    ['Europe/Paris', '2026-03-27T00:00:00Z'],
    ['Europe/Paris', '2026-10-23T00:00:00Z'],
    ['America/New_York', '2026-03-06T00:00:00Z'],
    ['America/New_York', '2026-10-30T00:00:00Z'],
    ['Australia/Lord_Howe', '2026-04-03T00:00:00Z'],
    ['Australia/Lord_Howe', '2026-10-02T00:00:00Z'],
  ])('in %s, every quarter hour of the four days from %s maps back to its earliest instant', (zone, from) => {
    // Prepare
    const start = at(from);
    const mismatches: string[] = [];

    // Act
    for (let instant = start; instant < start + 4 * 24 * 3600 * 1000; instant += 15 * 60 * 1000) {
      const local = localTime(instant, zone);
      const back = instantOfLocal(local.year, local.month, local.day, local.minuteOfDay, zone);
      const sameWall = JSON.stringify(localTime(back, zone)) === JSON.stringify(local);
      if (!sameWall || back > instant) mismatches.push(new Date(instant).toISOString());
    }

    // Assess
    expect(mismatches).toEqual([]);
  });
});
