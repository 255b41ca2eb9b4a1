/**
 * The editor of one cap, in a modal dialog: its name, "at most N messages per W", "at least G apart",
 * and the messages it counts. It only shapes the draft; the API judges it when the policy is saved, and
 * its errors come back next to these fields.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Cap, Channel, Kind } from '../../api/types.ts';
import { CheckboxField, NumberField, SelectField, TextField } from '../../components/fields.tsx';
import { useConsole } from '../../context.ts';
import { CHANNEL_LABELS } from '../../labels.ts';
import { ruleWords, scopeWords } from '../../policy/describe.ts';
import { toAmount, toIso, UNITS, type Unit } from '../../policy/durations.ts';

interface Form {
  id: string;
  hasLimit: boolean;
  limit: number | undefined;
  window: number | undefined;
  windowUnit: Unit;
  hasGap: boolean;
  gap: number | undefined;
  gapUnit: Unit;
  kind: Kind;
  channel: Channel | 'any';
  category: string;
  campaignId: string;
}

function formOf(cap: Cap): Form {
  const window = cap.window ? toAmount(cap.window) : undefined;
  const gap = cap.minGap ? toAmount(cap.minGap) : undefined;
  return {
    id: cap.id,
    hasLimit: cap.limit !== undefined || cap.window !== undefined,
    limit: cap.limit,
    window: window?.amount ?? 7,
    windowUnit: window?.unit ?? 'days',
    hasGap: cap.minGap !== undefined,
    gap: gap?.amount ?? 4,
    gapUnit: gap?.unit ?? 'hours',
    kind: cap.match?.kind ?? 'marketing',
    channel: cap.match?.channel ?? 'any',
    category: cap.match?.category ?? '',
    campaignId: cap.match?.campaignId ?? '',
  };
}

function capOf(form: Form): Cap {
  const match: NonNullable<Cap['match']> = {};
  if (form.kind === 'transactional') match.kind = 'transactional';
  if (form.channel !== 'any') match.channel = form.channel;
  if (form.category.trim() !== '') match.category = form.category.trim();
  if (form.campaignId.trim() !== '') match.campaignId = form.campaignId.trim();
  const cap: Cap = { id: form.id.trim(), match };
  if (form.hasLimit) {
    if (form.limit !== undefined) cap.limit = form.limit;
    if (form.window !== undefined) cap.window = toIso({ amount: form.window, unit: form.windowUnit });
  }
  if (form.hasGap && form.gap !== undefined) cap.minGap = toIso({ amount: form.gap, unit: form.gapUnit });
  return cap;
}

const unitOptions = (current: Unit) =>
  [...UNITS, ...(UNITS.includes(current as (typeof UNITS)[number]) ? [] : [current])].map(
    (unit) => [unit, unit] as const,
  );

export function CapEditor({
  cap,
  index,
  isNew,
  onApply,
  onClose,
}: {
  cap: Cap;
  /** The cap's place in the draft: its API errors are `caps.<index>.…`. */
  index: number;
  isNew: boolean;
  onApply: (cap: Cap) => void;
  onClose: () => void;
}) {
  const { format } = useConsole();
  const dialog = useRef<HTMLDialogElement>(null);
  const [form, setForm] = useState(() => formOf(cap));
  const set = (patch: Partial<Form>) => setForm((f) => ({ ...f, ...patch }));
  const path = (field: string) => (isNew ? undefined : `caps.${index}.${field}`);

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    element.showModal();
    const cancel = () => onClose();
    element.addEventListener('close', cancel);
    return () => element.removeEventListener('close', cancel);
  }, []);

  const title = isNew ? 'Add a cap' : `Edit the cap “${cap.id}”`;
  return (
    <dialog ref={dialog} class="dialog" aria-labelledby="cap-editor-title">
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          onApply(capOf(form));
          dialog.current?.close();
        }}
      >
        <h2 id="cap-editor-title">{title}</h2>
        <TextField
          id="cap-id"
          label="Name"
          value={form.id}
          onChange={(id) => set({ id })}
          path={path('id')}
          hint="Letters, digits and _ . : - only. A suppressed or deferred message names the cap that stopped it."
        />

        <fieldset class="group">
          <legend>How many</legend>
          <CheckboxField
            id="cap-has-limit"
            label="Limit the number of messages in a rolling window"
            checked={form.hasLimit}
            onChange={(hasLimit) => set({ hasLimit })}
          />
          {form.hasLimit ? (
            <div class="row">
              <NumberField
                id="cap-limit"
                label="At most (messages)"
                value={form.limit}
                onChange={(limit) => set({ limit })}
                step={1}
                min={0}
                path={path('limit')}
              />
              <NumberField
                id="cap-window"
                label="Per (window length)"
                value={form.window}
                onChange={(window) => set({ window })}
                step={1}
                min={1}
                path={path('window')}
              />
              <SelectField
                id="cap-window-unit"
                label="Window unit"
                value={form.windowUnit}
                onChange={(windowUnit) => set({ windowUnit })}
                options={unitOptions(form.windowUnit)}
              />
            </div>
          ) : null}
          <CheckboxField
            id="cap-has-gap"
            label="Keep a minimum gap between two messages"
            checked={form.hasGap}
            onChange={(hasGap) => set({ hasGap })}
          />
          {form.hasGap ? (
            <div class="row">
              <NumberField
                id="cap-gap"
                label="At least (gap length)"
                value={form.gap}
                onChange={(gap) => set({ gap })}
                step={1}
                min={1}
                path={path('minGap')}
              />
              <SelectField
                id="cap-gap-unit"
                label="Gap unit"
                value={form.gapUnit}
                onChange={(gapUnit) => set({ gapUnit })}
                options={unitOptions(form.gapUnit)}
              />
            </div>
          ) : null}
          <p class="hint">
            Windows are rolling: a message sent at 10:00 frees its slot of a 7-day window at 10:00 seven days
            later. A message over a cap waits for the slot to free when it can still go before it expires.
          </p>
        </fieldset>

        <fieldset class="group">
          <legend>Which messages it counts</legend>
          <div class="row">
            <SelectField
              id="cap-kind"
              label="Kind"
              value={form.kind}
              onChange={(kind) => set({ kind })}
              options={[
                ['marketing', 'Marketing'],
                ['transactional', 'Transactional'],
              ]}
              path={path('match.kind')}
            />
            <SelectField
              id="cap-channel"
              label="Channel"
              value={form.channel}
              onChange={(channel) => set({ channel })}
              options={
                [['any', 'Every channel'], ...Object.entries(CHANNEL_LABELS)] as [Channel | 'any', string][]
              }
              path={path('match.channel')}
            />
          </div>
          <div class="row">
            <TextField
              id="cap-category"
              label="Category"
              value={form.category}
              onChange={(category) => set({ category })}
              placeholder="every category"
              path={path('match.category')}
            />
            <TextField
              id="cap-campaign"
              label="Campaign"
              value={form.campaignId}
              onChange={(campaignId) => set({ campaignId })}
              placeholder="every campaign"
              path={path('match.campaignId')}
            />
          </div>
        </fieldset>

        <p class="explanation" aria-live="polite">
          In words: {ruleWords(capOf(form), format.number)}, counting{' '}
          {scopeWords(capOf(form).match).replace(/^\w/, (c: string) => c.toLowerCase())}.
        </p>

        <div class="dialog-actions">
          <button type="button" class="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="submit" class="button button-primary">
            {isNew ? 'Add to the draft' : 'Apply to the draft'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
