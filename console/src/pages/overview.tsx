/**
 * Overview: today's decisions (accepted, deferred, suppressed) and the top suppression reasons from the
 * reports API, the policy version in force, and the delivery queue's and DLQ's depths.
 */
import { useEffect, useState } from 'preact/hooks';
import type { DaySummary } from '../api/types.ts';
import { Card, ErrorNotice, Figure, Loading, NeedsScope, Notice, useLoad } from '../components/ui.tsx';
import { useConsole } from '../context.ts';
import { authorLabel, reasonLabel } from '../labels.ts';
import { policySummary } from '../policy/describe.ts';

const REFRESH_MS = 60_000;

export function OverviewPage() {
  const { api, can, format, today, now } = useConsole();
  const [round, setRound] = useState(0);
  const [updated, setUpdated] = useState(now());
  const day = today();

  useEffect(() => {
    const timer = setInterval(() => setRound((r) => r + 1), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  useEffect(() => setUpdated(now()), [round]);

  const summary = useLoad(async () => {
    if (!can('reports:read')) return undefined;
    const { data } = await api.call('get', '/v1/reports/summary', { query: { day } });
    return 'day' in data ? (data as DaySummary) : undefined;
  }, [day, round]);
  const policy = useLoad(async () => {
    if (!can('policy:read')) return undefined;
    return (await api.call('get', '/v1/policy')).data;
  }, [round]);
  const queues = useLoad(async () => {
    if (!can('reports:read')) return undefined;
    return (await api.call('get', '/v1/operations/queues')).data;
  }, [round]);

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Overview</h1>
          <p class="muted">
            Today, {format.day(day, 'long')} (UTC, as the reports count days) · updated {format.time(updated)}
          </p>
        </div>
        <button type="button" class="button" onClick={() => setRound((r) => r + 1)}>
          Refresh
        </button>
      </header>

      {!can('reports:read') ? (
        <NeedsScope scope="reports:read" what="Today’s decisions and the delivery queues" />
      ) : summary.state === 'error' ? (
        <ErrorNotice error={summary.error} retry={summary.reload} />
      ) : !summary.data ? (
        <Loading what="today’s decisions" />
      ) : (
        <Today summary={summary.data} />
      )}

      <div class="grid grid-today">
        <Card title="Policy in force" id="policy-in-force">
          {!can('policy:read') ? (
            <NeedsScope scope="policy:read" what="The policy" />
          ) : policy.state === 'error' ? (
            <ErrorNotice error={policy.error} retry={policy.reload} />
          ) : !policy.data ? (
            <Loading what="the policy" />
          ) : (
            <>
              <p class="big-line">
                Version <strong>{policy.data.version}</strong>
              </p>
              <p class="muted">
                {policy.data.version === 0
                  ? 'The built-in default policy: nobody has saved one yet.'
                  : `Saved ${format.dateTime(policy.data.createdAt)} by ${authorLabel(policy.data.author)}.`}
              </p>
              <p>{policySummary(policy.data)}</p>
              <a href="#/policy">Open the policy</a>
            </>
          )}
        </Card>

        <Card title="Delivery" id="delivery">
          {!can('reports:read') ? (
            <NeedsScope scope="reports:read" what="The delivery queues" />
          ) : queues.state === 'error' ? (
            <ErrorNotice error={queues.error} retry={queues.reload} />
          ) : !queues.data ? (
            <Loading what="the delivery queues" />
          ) : (
            <>
              <dl class="pairs">
                <dt>Waiting to be delivered</dt>
                <dd>{format.number(queues.data.delivery.visible)}</dd>
                <dt>Being delivered</dt>
                <dd>{format.number(queues.data.delivery.inFlight)}</dd>
                <dt>Waiting to retry</dt>
                <dd>{format.number(queues.data.delivery.delayed)}</dd>
                <dt>Dead-letter queue</dt>
                <dd>
                  <strong>{format.number(queues.data.deadLetter.visible)}</strong>
                </dd>
              </dl>
              {queues.data.deadLetter.visible === 0 ? (
                <Notice tone="success">No failed delivery waits for an operator.</Notice>
              ) : (
                <Notice tone="warn" title="Deliveries failed">
                  {queues.data.deadLetter.visible === 1
                    ? '1 message could not be delivered and waits in the dead-letter queue for an operator to inspect and redrive it'
                    : `${format.number(queues.data.deadLetter.visible)} messages could not be delivered and wait in the dead-letter queue for an operator to inspect and redrive them`}{' '}
                  (README, “The dead-letter queue”).
                </Notice>
              )}
            </>
          )}
        </Card>
      </div>
    </div>
  );
}

function Today({ summary }: { summary: DaySummary }) {
  const { format } = useConsole();
  const reasons = Object.entries(summary.suppressedByReason)
    .filter(([, count]) => (count ?? 0) > 0)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
    .slice(0, 5) as [string, number][];
  const top = reasons[0]?.[1] ?? 0;
  const share = (n: number) =>
    summary.requested === 0 ? '' : `${format.percent(n / summary.requested)} of requests`;
  return (
    <div class="grid grid-today">
      <section class="card" aria-labelledby="today-title">
        <h2 id="today-title">Today’s decisions</h2>
        <div class="figures">
          <Figure label="Accepted" value={format.number(summary.accepted)} detail={share(summary.accepted)} />
          <Figure label="Deferred" value={format.number(summary.deferred)} detail={share(summary.deferred)} />
          <Figure
            label="Suppressed"
            value={format.number(summary.suppressed)}
            detail={summary.requested === 0 ? '' : `${format.percent(summary.suppressionRate)} of requests`}
          />
        </div>
        <p class="muted">
          {summary.requested === 0
            ? 'No message decided yet today.'
            : `${format.number(summary.requested)} ${summary.requested === 1 ? 'message' : 'messages'} decided today.`}
          {summary.released.accepted > 0
            ? ` ${format.number(summary.released.accepted)} deferred earlier went out at their release.`
            : ''}{' '}
          {summary.suppressed > 0
            ? `Suppression avoided ${format.money(summary.avoidedCost, summary.currency)} of sending cost.`
            : ''}
        </p>
      </section>
      <section class="card" aria-labelledby="reasons-title">
        <h2 id="reasons-title">Top suppression reasons today</h2>
        {reasons.length === 0 ? (
          <p class="muted">Nothing was suppressed today.</p>
        ) : (
          <table class="bars">
            <caption class="visually-hidden">Top suppression reasons today</caption>
            <thead>
              <tr>
                <th scope="col">Reason</th>
                <th scope="col" class="num">
                  Messages
                </th>
                <th scope="col">
                  <span class="visually-hidden">Share</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {reasons.map(([reason, count]) => (
                <tr key={reason}>
                  <th scope="row">{reasonLabel(reason)}</th>
                  <td class="num">{format.number(count)}</td>
                  <td class="bar-cell" aria-hidden="true">
                    <span class="bar" style={{ width: `${Math.max(4, (100 * count) / top)}%` }} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
