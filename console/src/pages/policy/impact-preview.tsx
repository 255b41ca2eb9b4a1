/**
 * The impact preview: before saving, the draft is replayed on the last 7 or 30 days of archived traffic
 * (POST /v1/policy/dry-runs, then GET /v1/policy/dry-runs/{id} until done, with its progress), and the
 * policy in force and the draft are shown side by side — as a table, as a chart, and in words. A draft
 * the API finds invalid has its errors shown next to its fields, as a save's are.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type FieldProblem } from '../../api/client.ts';
import type { DryRun, PolicyDocument, StoredPolicy } from '../../api/types.ts';
import { SelectField } from '../../components/fields.tsx';
import { type BarSeries, StackedBars } from '../../components/stacked-bars.tsx';
import { Card, Notice, problemText } from '../../components/ui.tsx';
import { useConsole } from '../../context.ts';
import type { Format } from '../../format.ts';
import { reasonLabel } from '../../labels.ts';
import { type ImpactRow, type ImpactSide, impactRows, impactWords, reasonsOf } from '../../policy/impact.ts';

export interface ImpactPreviewProps {
  draft: PolicyDocument;
  current: StoredPolicy;
  /** Whether the draft differs from the version in force. */
  changed: boolean;
  /** The API's errors about the draft (paths as the save's: `caps.0.limit`), or [] once valid. */
  onInvalid: (errors: FieldProblem[]) => void;
}

const POLL_MS = 500;
const DAY = 86_400_000;
type Days = '7' | '30';

type State =
  | { state: 'idle' }
  | { state: 'running'; run: DryRun | undefined }
  | { state: 'done'; run: DryRun; days: Days }
  | { state: 'invalid'; detail: string }
  | { state: 'failed'; message: string };

/** The dry-run's errors name the request's fields (`policy.caps.0.limit`); the editor's, the policy's. */
const asPolicyErrors = (errors: readonly FieldProblem[]) =>
  errors.map((e) => ({ ...e, path: e.path.replace(/^policy\./, '') }));

export function ImpactPreview({ draft, changed, onInvalid }: ImpactPreviewProps) {
  const { api, now } = useConsole();
  const [days, setDays] = useState<Days>('7');
  const [result, setResult] = useState<State>({ state: 'idle' });
  const round = useRef(0);

  // A preview belongs to the draft it replayed: an edit makes it out of date.
  useEffect(() => {
    round.current++;
    setResult((r) => (r.state === 'idle' ? r : { state: 'idle' }));
  }, [draft]);
  useEffect(
    () => () => {
      round.current++;
    },
    [],
  );

  const preview = async () => {
    const run = ++round.current;
    const to = now();
    const from = new Date(to.getTime() - Number(days) * DAY);
    setResult({ state: 'running', run: undefined });
    onInvalid([]);
    try {
      const started = await api.call('post', '/v1/policy/dry-runs', {
        body: { policy: draft, from: from.toISOString(), to: to.toISOString() },
      });
      const id = started.data.id;
      let view: DryRun | undefined;
      for (;;) {
        const { data } = await api.call('get', '/v1/policy/dry-runs/{id}', { path: { id } });
        view = data;
        if (run !== round.current) return;
        if (data.status === 'done' || data.status === 'failed') break;
        setResult({ state: 'running', run: data });
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      if (view.status === 'failed' || !view.result)
        setResult({ state: 'failed', message: view.error ?? 'the replay failed' });
      else setResult({ state: 'done', run: view, days });
    } catch (error) {
      if (run !== round.current) return;
      if (error instanceof ApiError && error.status === 400) {
        onInvalid(asPolicyErrors(error.problem.errors ?? []));
        setResult({ state: 'invalid', detail: error.problem.detail ?? 'the draft is not valid' });
      } else setResult({ state: 'failed', message: problemText(error) });
    }
  };

  const running = result.state === 'running';
  return (
    <Card title="Impact preview" id="impact-preview">
      <p class="muted">
        Replays the archived traffic of the period with the policy in force and with this draft, to see what
        the draft would have changed before you save it.
      </p>
      <div class="row">
        <SelectField
          id="impact-days"
          label="Traffic of"
          value={days}
          onChange={setDays}
          options={[
            ['7', 'the last 7 days'],
            ['30', 'the last 30 days'],
          ]}
          disabled={running}
        />
        <div class="row-action">
          <button
            type="button"
            class="button button-primary"
            onClick={() => void preview()}
            disabled={running}
          >
            {running
              ? 'Previewing…'
              : changed
                ? 'Preview the draft'
                : 'Preview (the draft has no change yet)'}
          </button>
        </div>
      </div>
      {result.state === 'running' ? <Progress run={result.run} /> : null}
      {result.state === 'invalid' ? (
        <Notice tone="error" title="The draft cannot be previewed">
          {result.detail}: the problems are shown next to their fields.
        </Notice>
      ) : null}
      {result.state === 'failed' ? (
        <Notice tone="error" title="The preview failed">
          {result.message}
        </Notice>
      ) : null}
      {result.state === 'done' && result.run.result ? (
        <Comparison
          current={result.run.result.current}
          draft={result.run.result.draft}
          events={result.run.result.events}
          days={result.days}
        />
      ) : null}
    </Card>
  );
}

function Progress({ run }: { run: DryRun | undefined }) {
  const { format } = useConsole();
  const total = run?.progress.totalEvents ?? 0;
  const done = run?.progress.events ?? 0;
  const label =
    !run || run.status === 'queued' || total === 0
      ? 'Starting the replay…'
      : `Replayed ${format.number(done)} of ${format.number(total)} events`;
  return (
    <div class="impact-progress" role="status">
      <label for="impact-progress">{label}</label>
      <progress
        id="impact-progress"
        max={total > 0 ? total : undefined}
        value={total > 0 ? done : undefined}
      />
    </div>
  );
}

function cell(row: ImpactRow, value: number, currency: string, format: Format): string {
  if (row.kind === 'money') return format.money(value, currency);
  if (row.kind === 'rate') return format.decimal(value, 1);
  return format.number(value);
}

function Comparison({
  current,
  draft,
  events,
  days,
}: {
  current: ImpactSide;
  draft: ImpactSide;
  events: number;
  days: Days;
}) {
  const { format } = useConsole();
  const rows = impactRows(current, draft);
  const words = impactWords(current, draft, format);
  const series: BarSeries[] = [
    { label: 'Delivered', values: [current.accepted, draft.accepted] },
    { label: 'Deferred', values: [current.deferred, draft.deferred] },
    ...reasonsOf(current, draft).map((reason) => ({
      label: `Suppressed: ${reasonLabel(reason)}`,
      values: [current.byReason[reason] ?? 0, draft.byReason[reason] ?? 0],
    })),
  ];
  const sides = ['current', 'draft'];
  const sideLabel = (x: string) => (x === 'current' ? 'Policy in force' : 'Draft');
  return (
    <div class="impact">
      <div class="impact-words" aria-live="polite">
        <p>
          On the last {days} days ({format.number(events)} archived events):
        </p>
        <ul>
          {words.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      </div>
      <div class="grid grid-today">
        <table class="data">
          <caption class="visually-hidden">The policy in force and the draft on the same traffic</caption>
          <thead>
            <tr>
              <th scope="col">Messages</th>
              <th scope="col" class="num">
                Policy in force
              </th>
              <th scope="col" class="num">
                Draft
              </th>
              <th scope="col" class="num">
                Change
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => {
              const delta = row.draft - row.current;
              const sign = delta > 0 ? '+' : delta < 0 ? '−' : '';
              const changeText =
                delta === 0 ? '–' : `${sign}${cell(row, Math.abs(delta), draft.currency, format)}`;
              return (
                <tr key={row.key} class={row.sub ? 'sub' : undefined}>
                  <th scope="row">{row.label}</th>
                  <td class="num">{cell(row, row.current, current.currency, format)}</td>
                  <td class="num">{cell(row, row.draft, draft.currency, format)}</td>
                  <td class="num">{changeText}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <StackedBars
          days={sides}
          series={series}
          format={format}
          label="Messages delivered, deferred and suppressed by reason, under the policy in force and under the draft; the figures are in the table beside it."
          xLabel={sideLabel}
          hint="Point at a bar to read its figures."
        />
      </div>
    </div>
  );
}
