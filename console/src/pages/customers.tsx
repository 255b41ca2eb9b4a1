/**
 * Customers (support): look up a customer id and see what Governor holds about them — consents with
 * their source and time, hard suppressions, deferred messages, and the recent decisions with their
 * reasons in words, filtered by campaign, channel and outcome; "what became of this message?" by its
 * messageId; erasure after a confirmation that names its consequences.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { CustomerDecision, CustomerLookup } from '../api/types.ts';
import { CHANNELS } from '../api/types.ts';
import { SelectField, TextField } from '../components/fields.tsx';
import { Card, ErrorNotice, Loading, Notice, problemText } from '../components/ui.tsx';
import { useConsole } from '../context.ts';
import { decisionWords, deferredWaitWords, OUTCOME_LABELS, reasonCell } from '../customers/why.ts';
import { CHANNEL_LABELS, channelLabel, REASON_LABELS } from '../labels.ts';

type Asked = { customerId: string; messageId?: string };
type State =
  | { state: 'idle' }
  | { state: 'loading'; asked: Asked }
  | { state: 'done'; asked: Asked; data: CustomerLookup }
  | { state: 'error'; asked: Asked; error: unknown };

const SOURCE_WORDS: Record<string, string> = {
  bounced_hard: 'a hard bounce reported by the provider',
  complained: 'a complaint reported by the provider',
  unsubscribed: 'an unsubscribe event',
};
const sourceWords = (source: string | undefined) =>
  source === undefined ? 'no source recorded' : (SOURCE_WORDS[source] ?? `“${source}”`);

export function CustomersPage() {
  const { api, can } = useConsole();
  const [customerId, setCustomerId] = useState('');
  const [messageId, setMessageId] = useState('');
  const [result, setResult] = useState<State>({ state: 'idle' });
  const [erased, setErased] = useState<string | undefined>();

  const lookUp = async (asked: Asked) => {
    setResult({ state: 'loading', asked });
    try {
      const { data } = await api.call('get', '/v1/customers/{customerId}', {
        path: { customerId: asked.customerId },
        ...(asked.messageId ? { query: { messageId: asked.messageId } } : {}),
      });
      setResult({ state: 'done', asked, data });
    } catch (error) {
      setResult({ state: 'error', asked, error });
    }
  };

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Customers</h1>
          <p class="muted">What Governor holds about one customer, and why each message went or did not.</p>
        </div>
      </header>
      <Card title="Look up a customer" id="lookup">
        <form
          class="row"
          onSubmit={(event) => {
            event.preventDefault();
            const id = customerId.trim();
            if (!id) return;
            setErased(undefined);
            void lookUp({ customerId: id, ...(messageId.trim() ? { messageId: messageId.trim() } : {}) });
          }}
        >
          <TextField
            id="customer-id"
            label="Customer id"
            value={customerId}
            onChange={setCustomerId}
            width="long"
          />
          <TextField
            id="message-id"
            label="Message id (optional)"
            value={messageId}
            onChange={setMessageId}
            hint="To find what became of one message."
          />
          <div class="row-action">
            <button type="submit" class="button button-primary" disabled={!customerId.trim()}>
              Look up
            </button>
          </div>
        </form>
      </Card>
      {erased ? (
        <Notice tone="success" title="Customer erased">
          Governor no longer holds anything about “{erased}”; only anonymous counts remain.
        </Notice>
      ) : null}
      {result.state === 'loading' ? <Loading what={`customer “${result.asked.customerId}”`} /> : null}
      {result.state === 'error' ? (
        <ErrorNotice error={result.error} retry={() => void lookUp(result.asked)} />
      ) : null}
      {result.state === 'done' ? (
        <Customer
          lookup={result.data}
          canErase={can('preferences:write')}
          onErased={() => {
            setErased(result.data.customerId);
            setResult({ state: 'idle' });
            setCustomerId('');
            setMessageId('');
          }}
        />
      ) : null}
    </div>
  );
}

function Customer({
  lookup,
  canErase,
  onErased,
}: {
  lookup: CustomerLookup;
  canErase: boolean;
  onErased: () => void;
}) {
  const { format } = useConsole();
  const [confirming, setConfirming] = useState(false);
  if (!lookup.known)
    return (
      <Notice tone="info" title={`Governor holds nothing about “${lookup.customerId}”`}>
        It never saw this customer, or the customer was erased.
      </Notice>
    );
  const { preferences } = lookup;
  const channels = CHANNELS.filter((c) => preferences.channels[c] !== undefined);
  const topics = Object.entries(preferences.topics);
  return (
    <>
      {lookup.message ? (
        <Notice tone={lookup.message.found ? 'info' : 'warn'} title={`Message “${lookup.message.messageId}”`}>
          {lookup.message.found
            ? decisionWords(
                lookup.decisions.find((d) => d.messageId === lookup.message?.messageId) as CustomerDecision,
                format,
              )
            : 'Governor’s log of this customer does not remember this message: it was never sent for this customer, or its decision is older than the log keeps.'}
        </Notice>
      ) : null}
      <div class="grid grid-today">
        <Card title="Preferences and consents" id="consents">
          {channels.length === 0 && topics.length === 0 ? (
            <p class="muted">No consent recorded: the policy’s defaults apply.</p>
          ) : (
            <table class="data">
              <caption class="visually-hidden">Consents by channel and topic</caption>
              <thead>
                <tr>
                  <th scope="col">Channel or topic</th>
                  <th scope="col">Consent</th>
                  <th scope="col">Source</th>
                  <th scope="col">Since</th>
                </tr>
              </thead>
              <tbody>
                {channels.map((channel) => {
                  const consent = preferences.channels[channel];
                  return (
                    <tr key={channel}>
                      <th scope="row">{CHANNEL_LABELS[channel]}</th>
                      <td>{consent?.optIn ? 'Opted in' : 'Opted out'}</td>
                      <td>{sourceWords(consent?.source)}</td>
                      <td>{consent?.at ? format.dateTime(consent.at) : '–'}</td>
                    </tr>
                  );
                })}
                {topics.map(([topic, allowed]) => (
                  <tr key={`topic-${topic}`}>
                    <th scope="row">Topic “{topic}”</th>
                    <td>{allowed ? 'Opted in' : 'Opted out'}</td>
                    <td>–</td>
                    <td>–</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <dl class="pairs">
            {preferences.maxPerWeek !== undefined ? (
              <>
                <dt>At most per week</dt>
                <dd>{format.number(preferences.maxPerWeek)}</dd>
              </>
            ) : null}
            {preferences.quietHours ? (
              <>
                <dt>Quiet hours</dt>
                <dd>
                  {preferences.quietHours.start}–{preferences.quietHours.end}
                  {preferences.timezone ? ` (${preferences.timezone})` : ''}
                </dd>
              </>
            ) : null}
            {preferences.pausedUntil ? (
              <>
                <dt>Marketing paused until</dt>
                <dd>{format.dateTime(preferences.pausedUntil)}</dd>
              </>
            ) : null}
          </dl>
        </Card>
        <Card title="Hard suppressions" id="suppressions">
          {lookup.suppressions.length === 0 ? (
            <p class="muted">No channel is blocked.</p>
          ) : (
            <ul>
              {lookup.suppressions.map((s) => (
                <li key={s.channel}>
                  {channelLabel(s.channel)}: {REASON_LABELS[s.reason]} — blocked even for transactional
                  messages.
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
      <Card title="Deferred messages" id="deferred">
        {lookup.deferred.length === 0 ? (
          <p class="muted">No message waits for this customer.</p>
        ) : (
          <table class="data">
            <caption class="visually-hidden">Deferred messages, soonest release first</caption>
            <thead>
              <tr>
                <th scope="col">Message</th>
                <th scope="col">Channel</th>
                <th scope="col">Category</th>
                <th scope="col">Campaign</th>
                <th scope="col">Goes at</th>
                <th scope="col">Waits for</th>
              </tr>
            </thead>
            <tbody>
              {lookup.deferred.map((d) => (
                <tr key={d.messageId}>
                  <th scope="row">
                    <code>{d.messageId}</code>
                  </th>
                  <td>{channelLabel(d.channel)}</td>
                  <td>{d.category ?? '–'}</td>
                  <td>{d.campaignId ?? '–'}</td>
                  <td>{format.dateTime(d.releaseAt)}</td>
                  <td>{deferredWaitWords(d)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <Decisions decisions={lookup.decisions} />
      {canErase ? (
        <Card title="Erase the customer" id="erase">
          <p>Erasure deletes everything Governor holds about this customer. It cannot be undone.</p>
          <button type="button" class="button button-danger" onClick={() => setConfirming(true)}>
            Erase “{lookup.customerId}”…
          </button>
        </Card>
      ) : null}
      {confirming ? (
        <EraseDialog
          lookup={lookup}
          onClose={() => setConfirming(false)}
          onErased={() => {
            setConfirming(false);
            onErased();
          }}
        />
      ) : null}
    </>
  );
}

const ALL = '';

function Decisions({ decisions }: { decisions: CustomerLookup['decisions'] }) {
  const { format } = useConsole();
  const [campaign, setCampaign] = useState(ALL);
  const [channel, setChannel] = useState(ALL);
  const [outcome, setOutcome] = useState(ALL);
  const campaigns = [...new Set(decisions.flatMap((d) => (d.campaignId ? [d.campaignId] : [])))].sort();
  const channels = CHANNELS.filter((c) => decisions.some((d) => d.channel === c));
  const shown = decisions.filter(
    (d) =>
      (campaign === ALL || d.campaignId === campaign) &&
      (channel === ALL || d.channel === channel) &&
      (outcome === ALL || d.outcome === outcome),
  );
  return (
    <Card title="Recent decisions" id="decisions">
      <p class="muted">
        Newest first: the decisions this customer’s log still remembers. The log keeps a keyed hash of each
        message id, so a message is named only when it is still deferred or when you asked about it.
      </p>
      {decisions.length === 0 ? (
        <p class="muted">No decision is remembered.</p>
      ) : (
        <>
          <div class="row">
            <SelectField
              id="filter-campaign"
              label="Campaign"
              value={campaign}
              onChange={setCampaign}
              options={[[ALL, 'All campaigns'], ...campaigns.map((c) => [c, c] as const)]}
            />
            <SelectField
              id="filter-channel"
              label="Channel"
              value={channel}
              onChange={setChannel}
              options={[[ALL, 'All channels'], ...channels.map((c) => [c, CHANNEL_LABELS[c]] as const)]}
            />
            <SelectField
              id="filter-outcome"
              label="Outcome"
              value={outcome}
              onChange={setOutcome}
              options={[
                [ALL, 'All outcomes'],
                ...(['accepted', 'deferred', 'suppressed'] as const).map(
                  (o) => [o, OUTCOME_LABELS[o]] as const,
                ),
              ]}
            />
          </div>
          <p class="muted" aria-live="polite">
            {shown.length === decisions.length
              ? `${format.number(decisions.length)} decisions`
              : `${format.number(shown.length)} of ${format.number(decisions.length)} decisions`}
          </p>
          <table class="data">
            <caption class="visually-hidden">Recent decisions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Outcome</th>
                <th scope="col">Reason</th>
                <th scope="col">Channel</th>
                <th scope="col">Campaign</th>
                <th scope="col">Category</th>
                <th scope="col" class="num">
                  Policy
                </th>
                <th scope="col">What happened</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((d, i) => (
                <tr key={`${d.at}-${i}`}>
                  <th scope="row">{format.dateTime(d.at)}</th>
                  <td>{OUTCOME_LABELS[d.outcome]}</td>
                  <td>
                    {reasonCell(d)}
                    {d.rule && d.outcome !== 'accepted' ? (
                      <div class="muted">
                        rule <code>{d.rule}</code>
                      </div>
                    ) : null}
                  </td>
                  <td>{channelLabel(d.channel)}</td>
                  <td>{d.campaignId ?? '–'}</td>
                  <td>{d.category ?? '–'}</td>
                  <td class="num">v{d.policyVersion}</td>
                  <td>
                    {d.messageId ? (
                      <div>
                        <code>{d.messageId}</code>
                      </div>
                    ) : null}
                    {decisionWords(d, format)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Card>
  );
}

function EraseDialog({
  lookup,
  onClose,
  onErased,
}: {
  lookup: CustomerLookup;
  onClose: () => void;
  onErased: () => void;
}) {
  const { api, format } = useConsole();
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    element.showModal();
    element.addEventListener('close', onClose);
    return () => element.removeEventListener('close', onClose);
  }, []);

  const erase = async () => {
    setBusy(true);
    setProblem(undefined);
    try {
      await api.call('delete', '/v1/customers/{customerId}', { path: { customerId: lookup.customerId } });
      onErased();
    } catch (error) {
      setProblem(problemText(error));
      setBusy(false);
    }
  };

  const waiting = lookup.deferred.length;
  return (
    <dialog ref={dialog} class="dialog" aria-labelledby="erase-title" aria-describedby="erase-consequences">
      <h2 id="erase-title">Erase the customer “{lookup.customerId}”?</h2>
      <div id="erase-consequences">
        <p>This deletes everything Governor holds about the customer:</p>
        <ul>
          <li>their preferences and consents, and the hard suppressions;</li>
          <li>their history of decisions, which the caps count;</li>
          <li>
            {waiting === 0
              ? 'any message still queued for them, which will not be delivered.'
              : `${format.number(waiting)} deferred ${waiting === 1 ? 'message' : 'messages'} and anything queued for delivery: they will not be delivered.`}
          </li>
        </ul>
        <p>
          Only anonymous counts remain. <strong>This cannot be undone.</strong>
        </p>
      </div>
      {problem ? <Notice tone="error">{problem}</Notice> : null}
      <div class="dialog-actions">
        <button type="button" class="button" onClick={() => dialog.current?.close()} disabled={busy}>
          Cancel
        </button>
        <button type="button" class="button button-danger" onClick={() => void erase()} disabled={busy}>
          {busy ? 'Erasing…' : 'Erase for good'}
        </button>
      </div>
    </dialog>
  );
}
