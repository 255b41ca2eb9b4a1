import { describe, expect, it } from 'vitest';
import { browserLocale, decimalsOf, formatFor } from '../../console/src/format.ts';

describe("the console's formats", () => {
  it.each([
    [1.4525, 4],
    [0.001, 3],
    [2, 0],
    [60.2, 1],
    [0.000045, 6],
    [1234.5678, 4],
  ])('shows %s exactly with %d decimals', (amount, digits) => {
    expect(decimalsOf(amount)).toBe(digits);
  });

  it('gives a column of amounts one number of decimals, the most any needs and at least the currency’s', () => {
    const column = formatFor('en-US').moneyColumn([1.4525, 0.0155, 1.437], 'EUR');

    expect([1.4525, 0.0155, 1.437].map(column)).toEqual(['€1.4525', '€0.0155', '€1.4370']);
    expect(formatFor('en-US').moneyColumn([3, 1.5], 'EUR')(3)).toBe('€3.00');
  });

  it('follows the locale: French and English numbers, amounts and days', () => {
    const fr = formatFor('fr-FR');
    const en = formatFor('en-GB');
    const frenchAmount = new Intl.NumberFormat('fr-FR', { style: 'currency', currency: 'EUR' }).format(
      1234.5,
    );

    expect(fr.money(1234.5, 'EUR')).toBe(frenchAmount);
    expect(en.money(1234.5, 'EUR')).toBe('€1,234.50');
    expect(fr.number(1234567)).toBe(new Intl.NumberFormat('fr-FR').format(1234567));
    expect(fr.day('2026-12-01', 'long')).toBe('mardi 1 décembre 2026');
    expect(en.day('2026-12-01', 'long')).toBe('Tuesday, 1 December 2026');
    expect(en.days('2026-12-01', '2026-12-08')).toMatch(/^1\s?–\s?8 Dec 2026$/);
  });

  it('takes the first of the browser’s languages that Intl knows', () => {
    expect(browserLocale(['fr-FR', 'en-US'])).toBe('fr-FR');
    expect(browserLocale([])).toBe('en');
  });
});
