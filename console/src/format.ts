/**
 * Numbers, amounts, dates and times in the browser's locale (French, English, …) with Intl. The words
 * around them stay English; only their formats follow the locale.
 */

export interface Format {
  locale: string;
  number(value: number): string;
  /** A relevance or threshold: up to two decimals. */
  decimal(value: number, digits?: number): string;
  percent(ratio: number): string;
  /**
   * An amount in `currency` (ISO 4217), with the decimals it has: the reports' amounts are exact to the
   * millionth (a suppressed e-mail avoids €0.001), and rounding them to cents would make rows that do not
   * add up to their total.
   */
  money(amount: number, currency: string): string;
  /**
   * A formatter for a column of amounts: all with the same number of decimals (the most any of them
   * needs, at least the currency's), so that they line up and visibly add up.
   */
  moneyColumn(amounts: readonly number[], currency: string): (amount: number) => string;
  /** A period of UTC days: "1–8 Dec 2026". */
  days(from: string, to: string): string;
  /** A UTC day `YYYY-MM-DD`, as the reports count it. */
  day(day: string, style?: 'short' | 'long'): string;
  /** A month `YYYY-MM`. */
  month(month: string): string;
  /** A moment, in the browser's time zone. */
  dateTime(iso: string): string;
  time(date: Date): string;
  currencyName(code: string): string | undefined;
}

const cache = new Map<string, Format>();

/** The decimals an amount exact to the millionth needs: 1.4525 → 4, 2 → 0. */
export function decimalsOf(amount: number): number {
  for (let digits = 0; digits < 6; digits++) {
    const scaled = amount * 10 ** digits;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-7 * Math.max(1, Math.abs(scaled))) return digits;
  }
  return 6;
}

export function formatFor(locale: string): Format {
  const known = cache.get(locale);
  if (known) return known;
  const number = new Intl.NumberFormat(locale);
  const percent = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 });
  const shortDay = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', timeZone: 'UTC' });
  const longDay = new Intl.DateTimeFormat(locale, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });
  const mediumDay = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' });
  const month = new Intl.DateTimeFormat(locale, { month: 'long', year: 'numeric', timeZone: 'UTC' });
  const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
  const time = new Intl.DateTimeFormat(locale, { timeStyle: 'medium' });
  const decimals = new Map<number, Intl.NumberFormat>();
  const money = new Map<string, Intl.NumberFormat>();
  const format: Format = {
    locale,
    number: (value) => number.format(value),
    decimal(value, digits = 2) {
      let f = decimals.get(digits);
      if (!f) {
        f = new Intl.NumberFormat(locale, { maximumFractionDigits: digits });
        decimals.set(digits, f);
      }
      return f.format(value);
    },
    percent: (ratio) => percent.format(ratio),
    money(amount, currency) {
      if (!/^[A-Z]{3}$/.test(currency)) return `${number.format(amount)} ${currency}`;
      let f = money.get(currency);
      if (!f) {
        const digits = new Intl.NumberFormat(locale, { style: 'currency', currency }).resolvedOptions()
          .minimumFractionDigits;
        f = new Intl.NumberFormat(locale, {
          style: 'currency',
          currency,
          minimumFractionDigits: digits,
          maximumFractionDigits: Math.max(6, digits ?? 0),
        });
        money.set(currency, f);
      }
      return f.format(amount);
    },
    moneyColumn(amounts, currency) {
      if (!/^[A-Z]{3}$/.test(currency)) return (amount) => `${number.format(amount)} ${currency}`;
      const base =
        new Intl.NumberFormat(locale, { style: 'currency', currency }).resolvedOptions()
          .minimumFractionDigits ?? 2;
      const digits = Math.max(base, ...amounts.map(decimalsOf));
      const f = new Intl.NumberFormat(locale, {
        style: 'currency',
        currency,
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      });
      return (amount) => f.format(amount);
    },
    days: (from, to) => mediumDay.formatRange(new Date(`${from}T00:00:00Z`), new Date(`${to}T00:00:00Z`)),
    day: (day, style = 'short') =>
      (style === 'long' ? longDay : shortDay).format(new Date(`${day}T00:00:00Z`)),
    month: (m) => month.format(new Date(`${m}-01T00:00:00Z`)),
    dateTime: (iso) => dateTime.format(new Date(iso)),
    time: (date) => time.format(date),
    currencyName(code) {
      try {
        return new Intl.DisplayNames(locale, { type: 'currency' }).of(code);
      } catch {
        return undefined;
      }
    },
  };
  cache.set(locale, format);
  return format;
}

/** The browser's preferred locale that Intl supports. */
export function browserLocale(languages: readonly string[]): string {
  return Intl.NumberFormat.supportedLocalesOf([...languages])[0] ?? 'en';
}
