/**
 * Finance: for a period, the suppressed volume per day stacked by reason, channel or campaign; the
 * breakdowns by reason, channel and campaign with their avoided cost; the monthly summary. Every table is
 * one query of the reports API shown as it answered, and its CSV download is that very query's CSV.
 */
import { useMemo, useState } from 'preact/hooks';
import type {
  ExperimentReport,
  GroupBy,
  MonthSummary,
  SuppressedQuery,
  SuppressedReport,
  SuppressedRow,
} from '../api/types.ts';
import { type BarSeries, StackedBars } from '../components/stacked-bars.tsx';
import { Card, ErrorNotice, Figure, Loading, Notice, useLoad } from '../components/ui.tsx';
import { useConsole } from '../context.ts';
import type { Format } from '../format.ts';
import { channelLabel, GROUP_LABELS, reasonLabel } from '../labels.ts';

type Dimension = 'reason' | 'channel' | 'campaign';
const DIMENSIONS: Dimension[] = ['reason', 'channel', 'campaign'];
const MAX_SERIES = 8;

const addDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const monthOf = (day: string) => day.slice(0, 7);
const lastDayOfMonth = (month: string) => addDays(`${nextMonth(month)}-01`, -1);
function nextMonth(month: string): string {
  const [y = 1970, m = 1] = month.split('-').map(Number);
  return new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 7);
}
function previousMonth(month: string): string {
  const [y = 1970, m = 1] = month.split('-').map(Number);
  return new Date(Date.UTC(y, m - 2, 1)).toISOString().slice(0, 7);
}

export function daysOf(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = from; day <= to && days.length < 400; day = addDays(day, 1)) days.push(day);
  return days;
}

/** A row's value for a dimension, in words. */
function dimensionValue(row: SuppressedRow, dimension: Dimension): string {
  if (dimension === 'reason') return reasonLabel(row.reason ?? '');
  if (dimension === 'channel') return channelLabel(row.channel ?? '');
  return row.campaignId ? row.campaignId : '(no campaign)';
}

const rowKey = (row: SuppressedRow) =>
  [row.day, row.reason, row.channel, row.campaignId, row.category, row.currency].join('|');

function saveFile(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function FinancePage() {
  const { api, format, today } = useConsole();
  const now = today();
  const [period, setPeriod] = useState({ from: `${monthOf(now)}-01`, to: now });
  const [draft, setDraft] = useState(period);
  const [stack, setStack] = useState<Dimension>('reason');
  const [month, setMonth] = useState(monthOf(now));
  const [experiment, setExperiment] = useState('');
  const [experimentDraft, setExperimentDraft] = useState('');

  const query = (groupBy: GroupBy[]): SuppressedQuery => ({ ...period, groupBy: groupBy.join(',') });
  const report = (groupBy: GroupBy[]) => async () =>
    (await api.call('get', '/v1/reports/suppressed', { query: query(groupBy) })).data;

  const byReason = useLoad(report(['reason']), [period.from, period.to]);
  const byChannel = useLoad(report(['channel']), [period.from, period.to]);
  const byCampaign = useLoad(report(['campaign']), [period.from, period.to]);
  const perDay = useLoad(report(['day', stack]), [period.from, period.to, stack]);
  const summary = useLoad(async () => {
    const { data } = await api.call('get', '/v1/reports/summary', { query: { month } });
    return 'month' in data ? (data as MonthSummary) : undefined;
  }, [month]);

  // The experiments the policy names, when the key may read it (a finance key may not: then typed).
  const named = useLoad(async () => {
    try {
      const { data } = await api.call('get', '/v1/policy', {});
      return (data.experiments ?? []).map((e) => e.id);
    } catch {
      return [];
    }
  }, []);
  const chosen = experiment || (named.data?.[0] ?? '');
  const lift = useLoad(
    async () =>
      chosen === ''
        ? undefined
        : (await api.call('get', '/v1/reports/experiments/{id}', { path: { id: chosen }, query: period }))
            .data,
    [chosen, period.from, period.to],
  );

  const download = async (groupBy: GroupBy[]) => {
    const csv = await api.text('/v1/reports/suppressed', { query: query(groupBy) });
    saveFile(
      `governor-suppressed-by-${groupBy.join('-')}-${period.from}-to-${period.to}.csv`,
      csv,
      'text/csv',
    );
  };

  const choose = (from: string, to: string) => {
    setDraft({ from, to });
    setPeriod({ from, to });
  };
  const presets: [string, string, string][] = [
    ['Last 7 days', addDays(now, -6), now],
    ['Last 30 days', addDays(now, -29), now],
    ['This month', `${monthOf(now)}-01`, now],
    ['Last month', `${previousMonth(monthOf(now))}-01`, lastDayOfMonth(previousMonth(monthOf(now)))],
  ];

  const totals = byReason.state === 'done' ? byReason.data : undefined;
  const digested = totals ? digestedOf(totals) : undefined;
  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Finance</h1>
          <p class="muted">
            What Governor did not send, why, and the sending cost that avoided. Days are UTC days, as the
            reports count them; costs are each channel’s unit cost in the policy version that decided.
          </p>
        </div>
      </header>

      <form
        class="card period"
        aria-label="Period"
        onSubmit={(event) => {
          event.preventDefault();
          setPeriod(draft);
        }}
      >
        <div class="field field-inline">
          <label for="period-from">From</label>
          <input
            id="period-from"
            type="date"
            value={draft.from}
            max={draft.to}
            onInput={(event) => setDraft({ ...draft, from: event.currentTarget.value })}
          />
        </div>
        <div class="field field-inline">
          <label for="period-to">To</label>
          <input
            id="period-to"
            type="date"
            value={draft.to}
            min={draft.from}
            onInput={(event) => setDraft({ ...draft, to: event.currentTarget.value })}
          />
        </div>
        <button type="submit" class="button button-primary">
          Show
        </button>
        <fieldset class="presets">
          <legend class="visually-hidden">Quick periods</legend>
          {presets.map(([label, from, to]) => (
            <button
              key={label}
              type="button"
              class="button button-small"
              aria-pressed={period.from === from && period.to === to}
              onClick={() => choose(from, to)}
            >
              {label}
            </button>
          ))}
        </fieldset>
      </form>

      {byReason.state === 'error' ? <ErrorNotice error={byReason.error} retry={byReason.reload} /> : null}

      <section class="figures figures-wide" aria-label="Totals for the period">
        <Figure
          label="Suppressed messages"
          value={totals ? format.number(totals.totals.count) : '…'}
          detail={format.days(period.from, period.to)}
        />
        <Figure
          label="Avoided sending cost"
          value={
            totals
              ? totals.currency === 'MIXED'
                ? 'several currencies'
                : format.money(totals.totals.avoidedCost, totals.currency)
              : '…'
          }
          detail={totals && totals.currency !== 'MIXED' ? format.currencyName(totals.currency) : undefined}
          tone="good"
        />
        <Figure
          label={
            totals?.policyVersions.length === 1
              ? 'Policy version that decided'
              : 'Policy versions that decided'
          }
          value={totals ? (totals.policyVersions.length > 0 ? totals.policyVersions.join(', ') : '–') : '…'}
          detail={totals?.policyVersions.includes(0) ? 'version 0 is the built-in default' : undefined}
        />
        <Figure
          label="Delivered inside a digest"
          value={digested && totals ? format.number(digested.count) : '…'}
          detail={
            digested && totals
              ? `${format.number(digested.count)} sends avoided, ${
                  totals.currency === 'MIXED'
                    ? 'in several currencies'
                    : format.money(digested.avoidedCost, totals.currency)
                }`
              : undefined
          }
          tone="good"
        />
      </section>
      {totals?.currency === 'MIXED' ? (
        <Notice tone="warn" title="Several currencies">
          The channel costs changed currency during this period: each row shows its own currency, and the
          total cannot be added up in one.
        </Notice>
      ) : null}

      <Card
        title="Suppressed per day"
        id="per-day"
        actions={
          <div class="field field-inline">
            <label for="stack-by">Stack by</label>
            <select
              id="stack-by"
              value={stack}
              onChange={(event) => setStack(event.currentTarget.value as Dimension)}
            >
              {DIMENSIONS.map((d) => (
                <option key={d} value={d}>
                  {GROUP_LABELS[d]}
                </option>
              ))}
            </select>
          </div>
        }
      >
        {perDay.state === 'error' ? (
          <ErrorNotice error={perDay.error} retry={perDay.reload} />
        ) : perDay.state === 'loading' && !perDay.data ? (
          <Loading what="the days" />
        ) : perDay.data ? (
          <PerDay report={perDay.data} dimension={stack} format={format} onDownload={download} />
        ) : null}
      </Card>

      <div class="grid grid-2">
        {(
          [
            ['reason', byReason],
            ['channel', byChannel],
            ['campaign', byCampaign],
          ] as const
        ).map(([dimension, loaded]) => (
          <Card
            key={dimension}
            title={`By ${GROUP_LABELS[dimension].toLowerCase()}`}
            id={`by-${dimension}`}
            className={dimension === 'campaign' ? 'span-all' : ''}
            actions={
              <button type="button" class="button button-small" onClick={() => void download([dimension])}>
                Download CSV
              </button>
            }
          >
            {loaded.state === 'error' ? (
              <ErrorNotice error={loaded.error} retry={loaded.reload} />
            ) : !loaded.data ? (
              <Loading what="the figures" />
            ) : (
              <Breakdown report={loaded.data} dimension={dimension} format={format} />
            )}
          </Card>
        ))}
      </div>

      <Card
        title="Monthly summary"
        id="monthly"
        actions={
          <div class="field field-inline">
            <label for="summary-month">Month</label>
            <input
              id="summary-month"
              type="month"
              value={month}
              max={monthOf(now)}
              onChange={(event) => {
                if (/^\d{4}-\d{2}$/.test(event.currentTarget.value)) setMonth(event.currentTarget.value);
              }}
            />
          </div>
        }
      >
        {summary.state === 'error' ? (
          <ErrorNotice error={summary.error} retry={summary.reload} />
        ) : !summary.data ? (
          <Loading what="the month" />
        ) : (
          <>
            <Monthly summary={summary.data} format={format} />
            <p class="hint">
              Change is against the month before; – where the month before had none. The rate’s change is in
              percentage points.
            </p>
          </>
        )}
      </Card>

      <Card
        title="Holdout experiments"
        id="experiments"
        actions={
          <form
            class="field field-inline"
            onSubmit={(event) => {
              event.preventDefault();
              setExperiment(experimentDraft.trim());
            }}
          >
            <label for="experiment-id">Experiment</label>
            <input
              id="experiment-id"
              list="experiment-ids"
              value={experimentDraft || chosen}
              onInput={(event) => setExperimentDraft(event.currentTarget.value)}
            />
            <datalist id="experiment-ids">
              {(named.data ?? []).map((id) => (
                <option key={id} value={id} />
              ))}
            </datalist>
            <button type="submit" class="button button-small">
              Show
            </button>
          </form>
        }
      >
        {chosen === '' ? (
          <p class="muted">No experiment in the policy: name one to see its arms.</p>
        ) : lift.state === 'error' ? (
          <ErrorNotice error={lift.error} retry={lift.reload} />
        ) : !lift.data ? (
          <Loading what="the experiment" />
        ) : (
          <Experiment report={lift.data} format={format} />
        )}
      </Card>
    </div>
  );
}

const perCustomer = (x: number | null, format: Format) =>
  x === null ? '–' : format.number(Math.round(x * 100) / 100);

/** A holdout experiment's arms, as the API answered them, and the differences between them. */
function Experiment({ report, format }: { report: ExperimentReport; format: Format }) {
  if (report.arms.length === 0) return <p class="muted">No customer joined this experiment in the period.</p>;
  const money = (amount: number) =>
    report.currency === 'MIXED' ? format.number(amount) : format.money(amount, report.currency);
  const LABELS: Record<string, string> = {
    deliveredPerCustomer: 'Delivered per customer',
    opensPer1000: 'Opens per 1,000',
    clicksPer1000: 'Clicks per 1,000',
    unsubscribesPer1000: 'Unsubscribes per 1,000',
    complaintsPer1000: 'Complaints per 1,000',
  };
  return (
    <>
      <div class="table-scroll">
        <table class="data">
          <caption class="visually-hidden">Arms of {report.experiment}</caption>
          <thead>
            <tr>
              <th scope="col">Arm</th>
              <th scope="col" class="num">
                Customers
              </th>
              <th scope="col" class="num">
                Delivered per customer
              </th>
              <th scope="col" class="num">
                Opens per 1,000
              </th>
              <th scope="col" class="num">
                Clicks per 1,000
              </th>
              <th scope="col" class="num">
                Unsubscribes per 1,000
              </th>
              <th scope="col" class="num">
                Complaints per 1,000
              </th>
              <th scope="col" class="num">
                Avoided cost
              </th>
            </tr>
          </thead>
          <tbody>
            {report.arms.map((arm) => (
              <tr key={arm.arm}>
                <th scope="row">{arm.arm}</th>
                <td class="num">{format.number(arm.customers)}</td>
                <td class="num">{perCustomer(arm.deliveredPerCustomer, format)}</td>
                <td class="num">{perCustomer(arm.opensPer1000, format)}</td>
                <td class="num">{perCustomer(arm.clicksPer1000, format)}</td>
                <td class="num">{perCustomer(arm.unsubscribesPer1000, format)}</td>
                <td class="num">{perCustomer(arm.complaintsPer1000, format)}</td>
                <td class="num">{money(arm.avoidedCost)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {report.differences.length > 0 ? (
        <table class="data">
          <caption>Differences between arms, with 95% confidence intervals</caption>
          <thead>
            <tr>
              <th scope="col">Arms</th>
              <th scope="col">Figure</th>
              <th scope="col" class="num">
                Difference
              </th>
              <th scope="col" class="num">
                95% interval
              </th>
            </tr>
          </thead>
          <tbody>
            {report.differences.map((d) => (
              <tr key={`${d.arm}-${d.versus}-${d.metric}`}>
                <th scope="row">
                  {d.arm} − {d.versus}
                </th>
                <td>{LABELS[d.metric] ?? d.metric}</td>
                <td class="num">{perCustomer(d.difference, format)}</td>
                <td class="num">
                  {perCustomer(d.low, format)} to {perCustomer(d.high, format)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <p class="hint">Intervals: {report.method}.</p>
    </>
  );
}

/**
 * What the report's rows with reason `digest` hold: the items delivered inside a digest besides the one
 * that was its send, each a send avoided, priced as such (the API counts them among the report's rows).
 */
function digestedOf(report: SuppressedReport): { count: number; avoidedCost: number } {
  const rows = report.rows.filter((row) => row.reason === 'digest');
  return {
    count: rows.reduce((n, row) => n + row.count, 0),
    avoidedCost: rows.reduce((n, row) => n + row.avoidedCost, 0),
  };
}

/** The avoided costs of a report's rows (and total), with one number of decimals for the column. */
function amountsOf(report: SuppressedReport, format: Format): (row: SuppressedRow | undefined) => string {
  const columns = new Map<string, (amount: number) => string>();
  const currencies = new Set(report.rows.map((row) => row.currency ?? report.currency));
  for (const currency of currencies) {
    const amounts = report.rows
      .filter((r) => (r.currency ?? report.currency) === currency)
      .map((r) => r.avoidedCost);
    if (currency === report.currency) amounts.push(report.totals.avoidedCost);
    columns.set(currency, format.moneyColumn(amounts, currency));
  }
  const total =
    columns.get(report.currency) ?? format.moneyColumn([report.totals.avoidedCost], report.currency);
  return (row) => {
    if (!row) return report.currency === 'MIXED' ? '–' : total(report.totals.avoidedCost);
    const currency = row.currency ?? report.currency;
    return (columns.get(currency) ?? ((amount: number) => format.money(amount, currency)))(row.avoidedCost);
  };
}

/** One report as a table: one row per value of `dimension`, the API's rows in the API's figures. */
function Breakdown({
  report,
  dimension,
  format,
}: {
  report: SuppressedReport;
  dimension: Dimension;
  format: Format;
}) {
  const rows = [...report.rows].sort((a, b) => b.count - a.count);
  const amount = amountsOf(report, format);
  if (rows.length === 0) return <p class="muted">Nothing was suppressed in this period.</p>;
  const caption = `Suppressed messages by ${GROUP_LABELS[dimension].toLowerCase()}`;
  return (
    <table class="data">
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{GROUP_LABELS[dimension]}</th>
          <th scope="col" class="num">
            Messages
          </th>
          <th scope="col" class="num">
            Avoided cost
          </th>
          <th scope="col" class="num">
            Share
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={rowKey(row)}>
            <th scope="row">{dimensionValue(row, dimension)}</th>
            <td class="num">{format.number(row.count)}</td>
            <td class="num">{amount(row)}</td>
            <td class="num">
              {format.percent(report.totals.count === 0 ? 0 : row.count / report.totals.count)}
            </td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row">Total</th>
          <td class="num">{format.number(report.totals.count)}</td>
          <td class="num">{amount(undefined)}</td>
          <td class="num">{format.percent(1)}</td>
        </tr>
      </tfoot>
    </table>
  );
}

function PerDay({
  report,
  dimension,
  format,
  onDownload,
}: {
  report: SuppressedReport;
  dimension: Dimension;
  format: Format;
  onDownload: (groupBy: GroupBy[]) => Promise<void>;
}) {
  const days = useMemo(() => daysOf(report.period.from, report.period.to), [report]);
  const series = useMemo<BarSeries[]>(() => {
    const index = new Map(days.map((day, i) => [day, i]));
    const byValue = new Map<string, number[]>();
    for (const row of report.rows) {
      const name = dimensionValue(row, dimension);
      const values = byValue.get(name) ?? days.map(() => 0);
      const i = index.get(row.day ?? '');
      if (i !== undefined) values[i] = (values[i] ?? 0) + row.count;
      byValue.set(name, values);
    }
    const ranked = [...byValue].sort(
      (a, b) => b[1].reduce((s, v) => s + v, 0) - a[1].reduce((s, v) => s + v, 0),
    );
    const shown = ranked.slice(0, MAX_SERIES).map(([label, values]) => ({ label, values }));
    const rest = ranked.slice(MAX_SERIES);
    if (rest.length > 0) {
      shown.push({
        label: 'Others',
        values: days.map((_, i) => rest.reduce((s, [, v]) => s + (v[i] ?? 0), 0)),
      });
    }
    return shown;
  }, [report, days, dimension]);

  const rows = [...report.rows].sort((a, b) => (a.day ?? '').localeCompare(b.day ?? '') || b.count - a.count);
  const amount = amountsOf(report, format);
  const label = `Suppressed messages per day from ${format.day(report.period.from, 'long')} to ${format.day(report.period.to, 'long')}, stacked by ${GROUP_LABELS[dimension].toLowerCase()}; the figures are in the table below.`;
  return (
    <>
      {report.rows.length === 0 ? (
        <p class="muted">Nothing was suppressed in this period.</p>
      ) : (
        <StackedBars days={days} series={series} format={format} label={label} />
      )}
      <details class="chart-data">
        <summary>The chart’s figures, day by day ({format.number(rows.length)} rows)</summary>
        <div class="details-actions">
          <button
            type="button"
            class="button button-small"
            onClick={() => void onDownload(['day', dimension])}
          >
            Download CSV
          </button>
        </div>
        <table class="data">
          <caption class="visually-hidden">
            Suppressed messages per day and {GROUP_LABELS[dimension].toLowerCase()}
          </caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">{GROUP_LABELS[dimension]}</th>
              <th scope="col" class="num">
                Messages
              </th>
              <th scope="col" class="num">
                Avoided cost
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={rowKey(row)}>
                <td>{format.day(row.day ?? '')}</td>
                <th scope="row">{dimensionValue(row, dimension)}</th>
                <td class="num">{format.number(row.count)}</td>
                <td class="num">{amount(row)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  );
}

function Monthly({ summary, format }: { summary: MonthSummary; format: Format }) {
  const previous = summary.previousMonth;
  const money = format.moneyColumn(
    [
      summary.avoidedCost,
      previous.avoidedCost,
      ...Object.values(summary.avoidedCostByChannel),
      ...Object.values(previous.avoidedCostByChannel),
    ],
    summary.currency,
  );
  const change = (value: number | null) =>
    value === null ? '–' : `${value > 0 ? '+' : ''}${format.percent(value)}`;
  const points = (value: number) => `${value > 0 ? '+' : ''}${format.decimal(value * 100, 1)} pt`;
  const channels = [
    ...new Set([...Object.keys(summary.avoidedCostByChannel), ...Object.keys(previous.avoidedCostByChannel)]),
  ];
  const lines: [string, string, string, string][] = [
    [
      'Messages decided',
      format.number(summary.requested),
      format.number(previous.requested),
      change(summary.change.requested),
    ],
    ['Accepted at once', format.number(summary.accepted), format.number(previous.accepted), ''],
    ['Deferred', format.number(summary.deferred), format.number(previous.deferred), ''],
    [
      'Deferred, then sent',
      format.number(summary.released.accepted),
      format.number(previous.released.accepted),
      '',
    ],
    [
      'Deferred, then suppressed',
      format.number(summary.released.suppressed),
      format.number(previous.released.suppressed),
      '',
    ],
    [
      'Suppressed (all stages)',
      format.number(summary.suppressed),
      format.number(previous.suppressed),
      change(summary.change.suppressed),
    ],
    [
      'Suppression rate',
      format.percent(summary.suppressionRate),
      format.percent(previous.suppressionRate),
      points(summary.change.suppressionRate),
    ],
    ['Dropped at erasure', format.number(summary.erased), format.number(previous.erased), ''],
    ['Delivered inside a digest', format.number(summary.digested), format.number(previous.digested), ''],
    [
      'Avoided sending cost',
      money(summary.avoidedCost),
      money(previous.avoidedCost),
      change(summary.change.avoidedCost),
    ],
    ...channels.map((channel): [string, string, string, string] => [
      `  of which ${channelLabel(channel)}`,
      money(summary.avoidedCostByChannel[channel] ?? 0),
      money(previous.avoidedCostByChannel[channel] ?? 0),
      '',
    ]),
  ];
  return (
    <table class="data monthly">
      <caption class="visually-hidden">Monthly summary of {format.month(summary.month)}</caption>
      <thead>
        <tr>
          <th scope="col">Figure</th>
          <th scope="col" class="num">
            {format.month(summary.month)}
          </th>
          <th scope="col" class="num">
            {format.month(previous.month)}
          </th>
          <th scope="col" class="num">
            Change
          </th>
        </tr>
      </thead>
      <tbody>
        {lines.map(([name, now, before, delta]) => (
          <tr key={name} class={name.startsWith('  ') ? 'sub' : undefined}>
            <th scope="row">{name.trim()}</th>
            <td class="num">{now}</td>
            <td class="num">{before}</td>
            <td class="num">{delta}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
