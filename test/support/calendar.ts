/**
 * The UTC days and months a test's counts can fall on. A test that sends on the real clock and then
 * reads a day's or a month's figures must read every day from the one it started on to the one it is
 * when it asks: a run across midnight UTC (or a month's end) splits its counts.
 */
import { daysBetween } from '#shared/app/reports.ts';

/** The UTC day (YYYY-MM-DD) of an instant, now by default. */
export const utcDay = (instant = Date.now()): string => new Date(instant).toISOString().slice(0, 10);

/** Every UTC day from `first` to today, both included. */
export const daysSince = (first: string): string[] => daysBetween(first, utcDay());

/** The months (YYYY-MM) of those days, in order. */
export const monthsOf = (days: readonly string[]): string[] => [...new Set(days.map((d) => d.slice(0, 7)))];
