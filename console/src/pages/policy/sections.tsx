/**
 * The policy's sections as the marketer edits them: caps (a table, each cap edited in a dialog),
 * relevance thresholds (with the pressure slope in words), quiet hours and the default time zone,
 * fatigue, and channel costs. Each edits the draft document only.
 */
import { useState } from 'preact/hooks';
import {
  type Cap,
  CHANNELS,
  type Channel,
  type ChannelCosts,
  type Fatigue,
  type PolicyDocument,
  type QuietHours,
  type Relevance,
} from '../../api/types.ts';
import {
  CheckboxField,
  ErrorList,
  NumberField,
  TextField,
  TimeField,
  useFieldErrors,
} from '../../components/fields.tsx';
import { Card } from '../../components/ui.tsx';
import { useConsole } from '../../context.ts';
import { CHANNEL_LABELS } from '../../labels.ts';
import { gapWords, limitWords, scopeWords } from '../../policy/describe.ts';
import { CapEditor } from './cap-editor.tsx';

type Edit = (change: (draft: PolicyDocument) => PolicyDocument) => void;

interface SectionProps {
  draft: PolicyDocument;
  edit: Edit;
  readOnly: boolean;
}

function CellErrors({ paths, id }: { paths: string[]; id: string }) {
  const a = useFieldErrors(paths[0]);
  const b = useFieldErrors(paths[1]);
  return <ErrorList id={id} messages={[...a, ...b]} />;
}

export function CapsSection({ draft, edit, readOnly }: SectionProps) {
  const { format } = useConsole();
  const caps = draft.caps ?? [];
  const [editing, setEditing] = useState<{ index: number; isNew: boolean } | undefined>();
  const tableErrors = useFieldErrors('caps', true);

  const replace = (index: number, cap: Cap) =>
    edit((d) => {
      const next = [...(d.caps ?? [])];
      if (index >= next.length) next.push(cap);
      else next[index] = cap;
      return { ...d, caps: next };
    });
  const remove = (index: number) =>
    edit((d) => ({ ...d, caps: (d.caps ?? []).filter((_, i) => i !== index) }));
  const newCap = (): Cap => {
    const ids = new Set(caps.map((c) => c.id));
    let n = caps.length + 1;
    while (ids.has(`cap-${n}`)) n++;
    return { id: `cap-${n}`, limit: 1, window: 'P1D', match: {} };
  };
  const [fresh, setFresh] = useState<Cap | undefined>();

  return (
    <Card
      title="Frequency caps"
      id="caps"
      actions={
        readOnly ? null : (
          <button
            type="button"
            class="button"
            onClick={() => {
              setFresh(newCap());
              setEditing({ index: caps.length, isNew: true });
            }}
          >
            Add a cap
          </button>
        )
      }
    >
      <p class="muted">
        Every cap applies to the messages it counts; a message goes only when all of them allow it. A
        customer’s own maximum per week, when stricter, wins.
      </p>
      <ErrorList id="caps-errors" messages={tableErrors} />
      {caps.length === 0 ? (
        <p>No caps: nothing limits how often a customer is contacted.</p>
      ) : (
        <table class="data caps">
          <caption class="visually-hidden">Frequency caps</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">How many</th>
              <th scope="col">Minimum gap</th>
              <th scope="col">Applies to</th>
              {readOnly ? null : (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {caps.map((cap, index) => (
              <tr key={`${index}-${cap.id}`}>
                <th scope="row">
                  <code>{cap.id}</code>
                  <CellErrors paths={[`caps.${index}.id`]} id={`cap-${index}-id-errors`} />
                </th>
                <td>
                  {limitWords(cap, format.number) ?? <span class="muted">no limit</span>}
                  <CellErrors
                    paths={[`caps.${index}.limit`, `caps.${index}.window`]}
                    id={`cap-${index}-limit-errors`}
                  />
                </td>
                <td>
                  {gapWords(cap, format.number) ?? <span class="muted">none</span>}
                  <CellErrors paths={[`caps.${index}.minGap`]} id={`cap-${index}-gap-errors`} />
                </td>
                <td>
                  {scopeWords(cap.match)}
                  <CellErrors paths={[`caps.${index}.match`]} id={`cap-${index}-match-errors`} />
                </td>
                {readOnly ? null : (
                  <td class="actions">
                    <button
                      type="button"
                      class="button button-small"
                      aria-label={`Edit ${cap.id}`}
                      onClick={() => setEditing({ index, isNew: false })}
                    >
                      Edit
                    </button>
                    <button
                      type="button"
                      class="button button-small button-danger"
                      aria-label={`Remove ${cap.id}`}
                      onClick={() => remove(index)}
                    >
                      Remove
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing ? (
        <CapEditor
          cap={editing.isNew ? (fresh ?? newCap()) : (caps[editing.index] ?? newCap())}
          index={editing.index}
          isNew={editing.isNew}
          onApply={(cap) => replace(editing.index, cap)}
          onClose={() => setEditing(undefined)}
        />
      ) : null}
    </Card>
  );
}

/** The pressure slope in words, with the draft's own numbers (the README's formula, worked through). */
function slopeWords(
  draft: PolicyDocument,
  relevance: Relevance,
  decimal: (n: number, digits?: number) => string,
): string {
  const base = relevance.byChannel?.email ?? relevance.default;
  const slope = relevance.pressureSlope ?? 0;
  const threshold = (pressure: number) => decimal(Math.min(1, base + slope * pressure));
  if (slope === 0) {
    return `With a slope of 0 the threshold does not move: an email needs relevance ${decimal(base)} whether it is the customer’s first message of the week or the last one a cap allows.`;
  }
  // The last slot of the first cap that counts several messages: its pressure is (limit − 1) / limit.
  const cap = (draft.caps ?? []).find((c) => (c.limit ?? 0) >= 2 && c.match?.kind !== 'transactional');
  const last =
    cap?.limit !== undefined
      ? `, and ${threshold((cap.limit - 1) / cap.limit)} for the last slot of “${cap.id}” (${cap.limit - 1} of ${cap.limit} used)`
      : '';
  return (
    `The threshold rises with the customer’s pressure: how full their fullest cap already is, from 0 (nothing sent) to 1 (full). ` +
    `A message needs its threshold plus ${decimal(slope)} × the pressure: an email (threshold ${decimal(base)}) needs relevance ${threshold(0)} when the customer has had nothing, ` +
    `${threshold(0.5)} once a cap is half used${last}. The scarce last slots go to the messages that matter most.`
  );
}

export function RelevanceSection({ draft, edit, readOnly }: SectionProps) {
  const { format } = useConsole();
  const relevance: Relevance = draft.relevance ?? { default: 0 };
  const set = (patch: Partial<Relevance>) =>
    edit((d) => ({ ...d, relevance: { ...(d.relevance ?? { default: 0 }), ...patch } }));
  const setChannel = (channel: Channel, value: number | undefined) => {
    const byChannel = { ...(relevance.byChannel ?? {}) };
    if (value === undefined) delete byChannel[channel];
    else byChannel[channel] = value;
    set({ byChannel });
  };
  const categories = Object.entries(relevance.byCategory ?? {});
  const setCategories = (entries: [string, number][]) => set({ byCategory: Object.fromEntries(entries) });

  return (
    <Card title="Relevance thresholds" id="relevance">
      <p class="muted">
        A message whose relevance (0 to 1, from the campaign platform’s scoring) is below its threshold is not
        sent. The threshold is the stricter of its channel’s and its category’s; when neither is set, the
        default. Messages sent without a relevance are not held to it.
      </p>
      <div class="row">
        <NumberField
          id="relevance-default"
          label="Default threshold"
          value={relevance.default}
          onChange={(value) => set({ default: value as number })}
          step={0.05}
          min={0}
          max={1}
          path="relevance.default"
          disabled={readOnly}
        />
        {CHANNELS.map((channel) => (
          <NumberField
            key={channel}
            id={`relevance-${channel}`}
            label={`${CHANNEL_LABELS[channel]} threshold`}
            value={relevance.byChannel?.[channel]}
            onChange={(value) => setChannel(channel, value)}
            step={0.05}
            min={0}
            max={1}
            placeholder="default"
            path={`relevance.byChannel.${channel}`}
            disabled={readOnly}
          />
        ))}
      </div>

      <fieldset class="group">
        <legend>Thresholds by category</legend>
        {categories.length === 0 ? (
          <p class="muted">None: categories use their channel’s threshold.</p>
        ) : null}
        {categories.map(([category, value], index) => (
          <div class="row" key={index}>
            <TextField
              id={`category-${index}-name`}
              label="Category"
              value={category}
              onChange={(name) =>
                setCategories(categories.map((entry, i) => (i === index ? [name, entry[1]] : entry)))
              }
              path={`relevance.byCategory.${category}`}
              disabled={readOnly}
            />
            <NumberField
              id={`category-${index}-threshold`}
              label={`Threshold for “${category}”`}
              value={value}
              onChange={(threshold) =>
                setCategories(
                  categories.map((entry, i) => (i === index ? [entry[0], threshold as number] : entry)),
                )
              }
              step={0.05}
              min={0}
              max={1}
              disabled={readOnly}
            />
            {readOnly ? null : (
              <button
                type="button"
                class="button button-small button-danger row-action"
                onClick={() => setCategories(categories.filter((_, i) => i !== index))}
              >
                Remove “{category}”
              </button>
            )}
          </div>
        ))}
        {readOnly ? null : (
          <button
            type="button"
            class="button button-small"
            onClick={() => {
              let n = categories.length + 1;
              while (categories.some(([c]) => c === `category-${n}`)) n++;
              setCategories([...categories, [`category-${n}`, relevance.default]]);
            }}
          >
            Add a category threshold
          </button>
        )}
      </fieldset>

      <div class="row">
        <NumberField
          id="relevance-slope"
          label="Pressure slope"
          value={relevance.pressureSlope}
          onChange={(pressureSlope) => set({ pressureSlope: pressureSlope as number })}
          step={0.05}
          min={0}
          max={1}
          path="relevance.pressureSlope"
          disabled={readOnly}
        />
      </div>
      <p class="explanation" id="slope-explanation">
        {slopeWords(draft, relevance, format.decimal)}
      </p>
    </Card>
  );
}

const TIME_ZONES: readonly string[] = (() => {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['UTC', 'Europe/Paris'];
  }
})();

export function QuietHoursSection({ draft, edit, readOnly }: SectionProps) {
  const quiet = draft.quietHours;
  const set = (patch: Partial<QuietHours>) =>
    edit((d) => {
      const current: Partial<QuietHours> = d.quietHours ?? {};
      const start = patch.start ?? current.start ?? '21:00';
      const end = patch.end ?? current.end ?? '08:00';
      const defaultTimezone = patch.defaultTimezone ?? current.defaultTimezone ?? 'UTC';
      return { ...d, quietHours: { start, end, defaultTimezone } };
    });
  return (
    <Card title="Quiet hours" id="quiet-hours">
      <CheckboxField
        id="quiet-on"
        label="No marketing messages during quiet hours"
        checked={quiet !== undefined}
        disabled={readOnly}
        onChange={(on) =>
          edit((d) => {
            if (!on) {
              const { quietHours: _, ...rest } = d;
              return rest as PolicyDocument;
            }
            return {
              ...d,
              quietHours: {
                start: '21:00',
                end: '08:00',
                defaultTimezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
              },
            };
          })
        }
        hint="A message that arrives during quiet hours waits for them to end, or is suppressed if it expires first. Transactional messages are never held."
      />
      {quiet ? (
        <div class="row">
          <TimeField
            id="quiet-start"
            label="From"
            value={quiet.start}
            onChange={(start) => set({ start })}
            path="quietHours.start"
            disabled={readOnly}
          />
          <TimeField
            id="quiet-end"
            label="Until"
            value={quiet.end}
            onChange={(end) => set({ end })}
            path="quietHours.end"
            disabled={readOnly}
          />
          <TextField
            id="quiet-timezone"
            label="Default time zone"
            value={quiet.defaultTimezone ?? ''}
            onChange={(defaultTimezone) => set({ defaultTimezone })}
            list="time-zones"
            width="long"
            path="quietHours.defaultTimezone"
            hint="In the customer’s local time; this zone for customers who have not set theirs."
            disabled={readOnly}
          />
          <datalist id="time-zones">
            {TIME_ZONES.map((zone) => (
              <option key={zone} value={zone} />
            ))}
          </datalist>
        </div>
      ) : (
        <p class="muted">No quiet hours: marketing goes out at any hour.</p>
      )}
      {quiet && quiet.start > quiet.end ? (
        <p class="hint">
          From {quiet.start} to {quiet.end} the next morning.
        </p>
      ) : null}
    </Card>
  );
}

/** The fatigue section's defaults: what the API applies to fields left out. */
const FATIGUE_DEFAULTS: Required<Fatigue> = {
  threshold: 0.1,
  minDelivered: 5,
  capScale: 0.5,
  relevanceBoost: 0.2,
  unengagedRun: 5,
  runCapScale: 0.25,
  runRelevanceBoost: 0.3,
};

export function FatigueSection({ draft, edit, readOnly }: SectionProps) {
  const fatigue = draft.fatigue ? { ...FATIGUE_DEFAULTS, ...draft.fatigue } : undefined;
  const set = (patch: Partial<Fatigue>) =>
    edit((d) => ({ ...d, fatigue: { ...FATIGUE_DEFAULTS, ...d.fatigue, ...patch } }));
  const field = (key: keyof Fatigue, label: string, step: number, hint?: string) =>
    fatigue ? (
      <NumberField
        id={`fatigue-${key}`}
        label={label}
        value={fatigue[key]}
        onChange={(value) => set({ [key]: value as number })}
        step={step}
        min={0}
        width="medium"
        path={`fatigue.${key}`}
        hint={hint}
        disabled={readOnly}
      />
    ) : null;
  return (
    <Card title="Fatigue" id="fatigue">
      <CheckboxField
        id="fatigue-on"
        label="Send less to customers who stopped engaging"
        checked={fatigue !== undefined}
        disabled={readOnly}
        onChange={(on) =>
          edit((d) => {
            if (!on) {
              const { fatigue: _, ...rest } = d;
              return rest as PolicyDocument;
            }
            return { ...d, fatigue: { ...FATIGUE_DEFAULTS } };
          })
        }
        hint="From each customer’s opens and clicks per delivered message (half-life 14 days). A click or a preference change restores the customer; new customers start neutral."
      />
      {fatigue ? (
        <>
          <div class="row">
            {field(
              'threshold',
              'Engagement threshold',
              0.01,
              'Opens and clicks per delivered, below which a customer is fatigued',
            )}
            {field('minDelivered', 'Deliveries before it counts', 1)}
            {field('capScale', 'Caps scaled by', 0.05)}
            {field('relevanceBoost', 'Relevance threshold raised by', 0.05)}
          </div>
          <div class="row">
            {field(
              'unengagedRun',
              'Deliveries with no engagement',
              1,
              'After this many in a row, back off further',
            )}
            {field('runCapScale', 'Then caps scaled by', 0.05)}
            {field('runRelevanceBoost', 'Then threshold raised by', 0.05)}
          </div>
        </>
      ) : (
        <p class="muted">Off: engagement changes no decision.</p>
      )}
    </Card>
  );
}

export function CostsSection({ draft, edit, readOnly }: SectionProps) {
  const { format } = useConsole();
  const costs = draft.channelCosts;
  const set = (patch: Partial<ChannelCosts>) =>
    edit((d) => ({ ...d, channelCosts: { ...d.channelCosts, ...patch } }));
  const name = format.currencyName(costs.currency);
  return (
    <Card title="Channel costs" id="costs">
      <p class="muted">
        What one message costs to send on each channel. Finance’s avoided cost is each suppressed message at
        its channel’s cost in the version that suppressed it, so a change here does not rewrite past months.
      </p>
      <div class="row">
        {CHANNELS.map((channel) => (
          <NumberField
            key={channel}
            id={`cost-${channel}`}
            label={`${CHANNEL_LABELS[channel]}, per message`}
            value={costs[channel]}
            onChange={(value) => set({ [channel]: value as number })}
            step={0.0001}
            min={0}
            width="medium"
            path={`channelCosts.${channel}`}
            disabled={readOnly}
          />
        ))}
        <TextField
          id="cost-currency"
          label="Currency"
          value={costs.currency}
          onChange={(currency) => set({ currency: currency.toUpperCase() })}
          maxLength={3}
          width="short"
          path="channelCosts.currency"
          hint={name && name !== costs.currency ? name : 'ISO 4217 code, such as EUR'}
          disabled={readOnly}
        />
      </div>
      <p class="hint">
        {format.number(1000)} suppressed SMS avoid{' '}
        {format.money(1000 * (costs.sms ?? 0), /^[A-Z]{3}$/.test(costs.currency) ? costs.currency : 'EUR')}.
      </p>
    </Card>
  );
}
