/**
 * Finance reports: what Governor did not send, why, where, for which campaign, and the send cost that
 * avoided, priced at the policy version each decision was taken under. The queries and answers are zod
 * schemas, the source of both the types and the OpenAPI document.
 */
import * as z from 'zod';
import { type Channel, channelSchema, type Policy, REASONS, type Reason } from '../domain/schemas.ts';
import {
  type DayCounts,
  DECISION_STAGES,
  type Group,
  microsToAmount,
  parseGroupKey,
  unitCostMicros,
} from '../domain/tally.ts';

export const GROUP_BY = ['day', 'reason', 'channel', 'campaign', 'category'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

const day = z.iso.date();
const MAX_DAYS = 366;

/** `GET /v1/reports/suppressed?from&to[&groupBy][&format]`. */
export const suppressedQuery = z
  .object({
    from: day.meta({ description: 'first UTC day, inclusive' }),
    to: day.meta({ description: 'last UTC day, inclusive' }),
    groupBy: z
      .string()
      .default('day,reason,channel')
      .meta({ description: `comma-separated, among ${GROUP_BY.join(', ')}` })
      .transform((s) =>
        s
          .split(',')
          .map((g) => g.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.enum(GROUP_BY)).max(GROUP_BY.length)),
    format: z.enum(['json', 'csv']).optional().meta({ description: 'csv: as Accept: text/csv does' }),
  })
  .refine((q) => q.from <= q.to, { message: 'from must not be after to', path: ['from'] })
  .refine((q) => (Date.parse(q.to) - Date.parse(q.from)) / 86_400_000 < MAX_DAYS, {
    message: `the period is at most ${MAX_DAYS} days`,
    path: ['to'],
  });

/** `GET /v1/reports/summary?month=YYYY-MM`. */
/** `GET /v1/reports/summary`: a month (with the month before, for comparison), or one UTC day. */
export const summaryQuery = z
  .object({
    month: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM')
      .optional(),
    day: day.optional(),
  })
  .refine((q) => (q.month === undefined) !== (q.day === undefined), {
    message: 'give either month (YYYY-MM) or day (YYYY-MM-DD)',
    path: ['month'],
  });

/** `POST /v1/reports/reconcile`. */
export const reconcileBody = z.strictObject({ days: z.array(day).min(1).max(7) });

export const reconcileResultSchema = z.object({
  days: z.array(day),
  customers: z.int().min(0),
  inLogs: z.int().meta({ description: "decisions of those days in the customers' logs and archives" }),
  counted: z.int().meta({ description: 'decisions of those days counted before this run' }),
  corrected: z.int().meta({ description: 'counts added or removed by the correction (0: none missing)' }),
  forgotten: z.int().meta({
    description:
      "decisions of those days that flooded customers' logs no longer remember: their counts cannot be rebuilt",
  }),
});

export interface ReportDeps {
  tallies: { read(days: string[]): Promise<DayCounts> };
  policy: (version: number) => Promise<Policy>;
}

const amount = z.number().meta({ description: 'in the currency of the report, exact to the millionth' });

export const suppressedRowSchema = z.object({
  day: day.optional(),
  reason: z.enum(REASONS).optional(),
  channel: channelSchema.optional(),
  campaignId: z.string().optional(),
  category: z.string().optional(),
  count: z.int(),
  avoidedCost: amount,
  /** Only when the period mixes currencies (the report's currency is then MIXED). */
  currency: z.string().optional(),
});
export type SuppressedRow = z.infer<typeof suppressedRowSchema>;

export const suppressedReportSchema = z.object({
  period: z.object({ from: day, to: day }),
  groupBy: z.array(z.enum(GROUP_BY)),
  currency: z.string().meta({ description: 'ISO 4217, or MIXED (then each row names its own)' }),
  rows: z.array(suppressedRowSchema),
  totals: z.object({ count: z.int(), avoidedCost: amount }),
  policyVersions: z.array(z.int()),
});
export type SuppressedReport = z.infer<typeof suppressedReportSchema>;

export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

export interface Priced {
  group: Group;
  count: number;
  micros: number;
  currency: string;
}

/** The decisions' groups (DECISION_STAGES), priced. */
const priced = async (deps: ReportDeps, counts: DayCounts) =>
  (await pricedAll(deps, counts)).filter((p) => DECISION_STAGES.has(p.group.stage));

export async function pricedAll(deps: ReportDeps, counts: DayCounts): Promise<Priced[]> {
  const groups: { group: Group; count: number }[] = [];
  for (const [day, byKey] of counts) {
    for (const [key, count] of byKey) if (count !== 0) groups.push({ group: parseGroupKey(day, key), count });
  }
  const versions = [...new Set(groups.map((g) => g.group.policyVersion))];
  const policies = new Map(await Promise.all(versions.map(async (v) => [v, await deps.policy(v)] as const)));
  return groups.map(({ group, count }) => {
    const policy = policies.get(group.policyVersion) as Policy;
    return {
      group,
      count,
      micros: count * unitCostMicros(policy, group.channel),
      currency: policy.channelCosts.currency,
    };
  });
}

/** Suppressed messages over [from, to] (UTC days, inclusive), grouped as asked. */
export async function suppressedReport(
  deps: ReportDeps,
  from: string,
  to: string,
  groupBy: GroupBy[],
): Promise<SuppressedReport> {
  const all = await priced(deps, await deps.tallies.read(daysBetween(from, to)));
  const suppressed = all.filter((p) => p.group.outcome === 'suppressed');
  const currencies = [...new Set(suppressed.map((p) => p.currency))];
  const mixed = currencies.length > 1;
  const rows = new Map<string, SuppressedRow & { micros: number }>();
  for (const p of suppressed) {
    const row: SuppressedRow & { micros: number } = { count: 0, avoidedCost: 0, micros: 0 };
    if (groupBy.includes('day')) row.day = p.group.day;
    // Counts are stored under the reasons decisions gave (suppressed ones always have one).
    if (groupBy.includes('reason')) row.reason = p.group.reason as Reason;
    if (groupBy.includes('channel')) row.channel = p.group.channel;
    if (groupBy.includes('campaign')) row.campaignId = p.group.campaignId;
    if (groupBy.includes('category')) row.category = p.group.category;
    if (mixed) row.currency = p.currency;
    const key = JSON.stringify([
      row.day,
      row.reason,
      row.channel,
      row.campaignId,
      row.category,
      row.currency,
    ]);
    const existing = rows.get(key) ?? row;
    existing.count += p.count;
    existing.micros += p.micros;
    rows.set(key, existing);
  }
  const out = [...rows.values()]
    .map(({ micros, ...row }) => ({ ...row, avoidedCost: microsToAmount(micros) }))
    .sort((a, b) => JSON.stringify(Object.values(a)).localeCompare(JSON.stringify(Object.values(b))));
  return {
    period: { from, to },
    groupBy,
    currency: mixed ? 'MIXED' : (currencies[0] ?? (await deps.policy(0)).channelCosts.currency),
    rows: out,
    totals: {
      count: suppressed.reduce((n, p) => n + p.count, 0),
      avoidedCost: microsToAmount(suppressed.reduce((n, p) => n + p.micros, 0)),
    },
    policyVersions: [...new Set(suppressed.map((p) => p.group.policyVersion))].sort((a, b) => a - b),
  };
}

export const monthFiguresSchema = z.object({
  month: z.string(),
  requested: z.int(),
  accepted: z.int(),
  deferred: z.int(),
  suppressed: z.int(),
  suppressedByReason: z.partialRecord(z.enum(REASONS), z.int()),
  suppressionRate: z.number(),
  /**
   * Deferred messages resolved at their release: sent, suppressed (by reason), or delivered inside a
   * digest besides the item that counts as the digest's send (`digested`).
   */
  released: z.object({ accepted: z.int(), suppressed: z.int(), digested: z.int() }),
  digested: z.int().meta({
    description:
      'items delivered inside a digest whose send they saved (a digest of n items: 1 accepted, n - 1 digested); ' +
      'their sends are avoided cost, and they are not counted as suppressed',
  }),
  erased: z.int(),
  avoidedCostByChannel: z.partialRecord(channelSchema, amount),
  avoidedCost: amount,
  currency: z.string(),
});
export type MonthFigures = z.infer<typeof monthFiguresSchema>;

const change = z
  .number()
  .nullable()
  .meta({ description: 'relative change; null when the month before had none' });
export const monthlySummarySchema = monthFiguresSchema.extend({
  previousMonth: monthFiguresSchema,
  change: z.object({
    requested: change,
    suppressed: change,
    suppressionRate: z.number().meta({ description: 'difference of the rates' }),
    avoidedCost: change,
  }),
});
export type MonthlySummary = z.infer<typeof monthlySummarySchema>;

function monthDays(month: string): string[] {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return daysBetween(`${month}-01`, `${month}-${String(last).padStart(2, '0')}`);
}

export function previousMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const d = new Date(Date.UTC(y, m - 2, 1));
  return d.toISOString().slice(0, 7);
}

async function monthFigures(deps: ReportDeps, month: string): Promise<MonthFigures> {
  return { month, ...(await figuresOf(deps, monthDays(month))) };
}

/** One UTC day's figures (the console's "today"), counted as the monthly summary counts a month. */
export async function daySummary(deps: ReportDeps, day: string): Promise<DayFigures> {
  return { day, ...(await figuresOf(deps, [day])) };
}

export const dayFiguresSchema = monthFiguresSchema.omit({ month: true }).extend({ day: z.iso.date() });
export type DayFigures = z.infer<typeof dayFiguresSchema>;

async function figuresOf(deps: ReportDeps, days: string[]): Promise<Omit<MonthFigures, 'month'>> {
  const all = await priced(deps, await deps.tallies.read(days));
  const figures: Omit<MonthFigures, 'month'> = {
    requested: 0,
    accepted: 0,
    deferred: 0,
    suppressed: 0,
    suppressedByReason: {},
    suppressionRate: 0,
    released: { accepted: 0, suppressed: 0, digested: 0 },
    digested: 0,
    erased: 0,
    avoidedCostByChannel: {},
    avoidedCost: 0,
    currency: all[0]?.currency ?? (await deps.policy(0)).channelCosts.currency,
  };
  const micros: Partial<Record<Channel, number>> = {};
  for (const { group, count, micros: m } of all) {
    // Folded into a digest (at its release): a send avoided, not a message withheld.
    if (group.outcome === 'suppressed' && group.reason === 'digest') {
      figures.digested += count;
      figures.released.digested += count;
      micros[group.channel] = (micros[group.channel] ?? 0) + m;
      continue;
    }
    if (group.stage === 'decision') {
      figures.requested += count;
      figures[group.outcome] += count;
    } else if (group.stage === 'release') {
      if (group.outcome === 'accepted') figures.released.accepted += count;
      if (group.outcome === 'suppressed') figures.released.suppressed += count;
    } else if (group.stage === 'erasure') {
      figures.erased += count;
    }
    if (group.outcome === 'suppressed') {
      if (group.stage !== 'decision') figures.suppressed += count;
      const reason = group.reason as Reason;
      figures.suppressedByReason[reason] = (figures.suppressedByReason[reason] ?? 0) + count;
      micros[group.channel] = (micros[group.channel] ?? 0) + m;
    }
  }
  figures.suppressionRate = figures.requested === 0 ? 0 : figures.suppressed / figures.requested;
  for (const [channel, m] of Object.entries(micros)) {
    figures.avoidedCostByChannel[channel as Channel] = microsToAmount(m);
  }
  figures.avoidedCost = microsToAmount(Object.values(micros).reduce((n, m) => n + m, 0));
  return figures;
}

const relative = (now: number, before: number) => (before === 0 ? null : (now - before) / before);

export async function monthlySummary(deps: ReportDeps, month: string): Promise<MonthlySummary> {
  const [current, previous] = await Promise.all([
    monthFigures(deps, month),
    monthFigures(deps, previousMonth(month)),
  ]);
  return {
    ...current,
    previousMonth: previous,
    change: {
      requested: relative(current.requested, previous.requested),
      suppressed: relative(current.suppressed, previous.suppressed),
      suppressionRate: current.suppressionRate - previous.suppressionRate,
      avoidedCost: relative(current.avoidedCost, previous.avoidedCost),
    },
  };
}

/**
 * A text cell a spreadsheet would read as a formula (OWASP's CSV injection list: = + - @ tab, carriage
 * return) is prefixed with a single quote, so that it shows as the text it is. Numbers are left as
 * numbers: -0.5 stays a number a spreadsheet can add up.
 */
export function neutralizeFormula(value: string | number | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return String(value);
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/**
 * RFC 4180: a header row, CRLF line ends, fields quoted when they hold a comma, quote or line break;
 * text cells neutralized against formula injection first.
 */
export function toCsv(header: string[], rows: (string | number | undefined)[][]): string {
  const field = (v: string | number | undefined) => {
    const s = neutralizeFormula(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return `${[header, ...rows].map((r) => r.map(field).join(',')).join('\r\n')}\r\n`;
}

export function suppressedCsv(report: SuppressedReport): string {
  const columns: { name: string; value: (r: SuppressedRow) => string | number | undefined }[] = [];
  if (report.groupBy.includes('day')) columns.push({ name: 'day', value: (r) => r.day });
  if (report.groupBy.includes('reason')) columns.push({ name: 'reason', value: (r) => r.reason });
  if (report.groupBy.includes('channel')) columns.push({ name: 'channel', value: (r) => r.channel });
  if (report.groupBy.includes('campaign')) columns.push({ name: 'campaignId', value: (r) => r.campaignId });
  if (report.groupBy.includes('category')) columns.push({ name: 'category', value: (r) => r.category });
  columns.push({ name: 'count', value: (r) => r.count });
  columns.push({ name: 'avoidedCost', value: (r) => r.avoidedCost });
  columns.push({ name: 'currency', value: (r) => r.currency ?? report.currency });
  return toCsv(
    columns.map((c) => c.name),
    report.rows.map((r) => columns.map((c) => c.value(r))),
  );
}
