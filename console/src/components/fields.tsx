/**
 * Form fields with a visible label (their accessible name), an optional hint, and the API's validation
 * errors for the setting they edit (problem+json `errors[].path`), shown under the field and announced.
 */
import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { FieldProblem } from '../api/client.ts';

/** The API's field errors of the last save, looked up by path (`caps.2.window`). */
export const FieldErrors = createContext<readonly FieldProblem[]>([]);

/** The messages about `path` and, unless `exact`, about the settings inside it. */
export function useFieldErrors(path: string | undefined, exact = false): string[] {
  const errors = useContext(FieldErrors);
  if (path === undefined) return [];
  return errors
    .filter((e) => e.path === path || (!exact && e.path.startsWith(`${path}.`)))
    .map((e) => e.message);
}

export function ErrorList({ id, messages }: { id: string; messages: string[] }) {
  if (messages.length === 0) return null;
  return (
    <ul id={id} class="field-error">
      {messages.map((message) => (
        <li key={message}>{message}</li>
      ))}
    </ul>
  );
}

interface BaseProps {
  id: string;
  label: ComponentChildren;
  hint?: ComponentChildren;
  /** The setting's path in the policy document, to show the API's errors about it. */
  path?: string;
  disabled?: boolean;
  inline?: boolean;
  class?: string;
}

function describedBy(id: string, hint: unknown, errors: string[]): string | undefined {
  const ids = [hint ? `${id}-hint` : '', errors.length > 0 ? `${id}-errors` : ''].filter(Boolean);
  return ids.length > 0 ? ids.join(' ') : undefined;
}

function Frame({
  id,
  label,
  hint,
  errors,
  inline,
  className,
  children,
}: {
  id: string;
  label: ComponentChildren;
  hint?: ComponentChildren;
  errors: string[];
  inline?: boolean | undefined;
  className?: string | undefined;
  children: ComponentChildren;
}) {
  return (
    <div
      class={`field${inline ? ' field-inline' : ''}${errors.length > 0 ? ' field-invalid' : ''} ${className ?? ''}`}
    >
      <label for={id}>{label}</label>
      {children}
      {hint ? (
        <p id={`${id}-hint`} class="hint">
          {hint}
        </p>
      ) : null}
      <ErrorList id={`${id}-errors`} messages={errors} />
    </div>
  );
}

const parseNumber = (text: string): number | undefined => {
  if (text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
};

/** A number; an empty field is no value (undefined), which the API judges. */
export function NumberField({
  value,
  onChange,
  step = 'any',
  min,
  max,
  placeholder,
  width = 'short',
  ...props
}: BaseProps & {
  value: number | undefined;
  onChange: (value: number | undefined) => void;
  step?: number | 'any';
  min?: number;
  max?: number;
  placeholder?: string;
  width?: 'short' | 'medium';
}) {
  const [text, setText] = useState(value === undefined ? '' : String(value));
  // A value changed from outside (discard, restore, re-apply) replaces what is typed.
  useEffect(() => {
    if (parseNumber(text) !== value) setText(value === undefined ? '' : String(value));
  }, [value]);
  const errors = useFieldErrors(props.path);
  return (
    <Frame {...props} className={props.class} errors={errors}>
      <input
        id={props.id}
        class={`input-${width}`}
        type="number"
        inputMode="decimal"
        step={step}
        min={min}
        max={max}
        placeholder={placeholder}
        value={text}
        disabled={props.disabled}
        aria-invalid={errors.length > 0 ? 'true' : undefined}
        aria-describedby={describedBy(props.id, props.hint, errors)}
        onInput={(event) => {
          const next = event.currentTarget.value;
          setText(next);
          onChange(parseNumber(next));
        }}
      />
    </Frame>
  );
}

export function TextField({
  value,
  onChange,
  placeholder,
  list,
  maxLength,
  width = 'medium',
  autocomplete = 'off',
  ...props
}: BaseProps & {
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  list?: string;
  maxLength?: number;
  width?: 'short' | 'medium' | 'long';
  autocomplete?: string;
}) {
  const errors = useFieldErrors(props.path);
  return (
    <Frame {...props} className={props.class} errors={errors}>
      <input
        id={props.id}
        class={`input-${width}`}
        type="text"
        value={value}
        placeholder={placeholder}
        list={list}
        maxLength={maxLength}
        autocomplete={autocomplete}
        spellcheck={false}
        disabled={props.disabled}
        aria-invalid={errors.length > 0 ? 'true' : undefined}
        aria-describedby={describedBy(props.id, props.hint, errors)}
        onInput={(event) => onChange(event.currentTarget.value)}
      />
    </Frame>
  );
}

export function TimeField({
  value,
  onChange,
  ...props
}: BaseProps & { value: string; onChange: (value: string) => void }) {
  const errors = useFieldErrors(props.path);
  return (
    <Frame {...props} className={props.class} errors={errors}>
      <input
        id={props.id}
        type="time"
        value={value}
        disabled={props.disabled}
        aria-invalid={errors.length > 0 ? 'true' : undefined}
        aria-describedby={describedBy(props.id, props.hint, errors)}
        onInput={(event) => onChange(event.currentTarget.value)}
      />
    </Frame>
  );
}

export function SelectField<T extends string>({
  value,
  onChange,
  options,
  ...props
}: BaseProps & { value: T; onChange: (value: T) => void; options: readonly (readonly [T, string])[] }) {
  const errors = useFieldErrors(props.path);
  return (
    <Frame {...props} className={props.class} errors={errors}>
      <select
        id={props.id}
        value={value}
        disabled={props.disabled}
        aria-invalid={errors.length > 0 ? 'true' : undefined}
        aria-describedby={describedBy(props.id, props.hint, errors)}
        onChange={(event) => onChange(event.currentTarget.value as T)}
      >
        {options.map(([option, text]) => (
          <option key={option} value={option}>
            {text}
          </option>
        ))}
      </select>
    </Frame>
  );
}

export function CheckboxField({
  id,
  label,
  checked,
  onChange,
  disabled,
  hint,
}: {
  id: string;
  label: ComponentChildren;
  checked: boolean;
  onChange: (checked: boolean) => void;
  disabled?: boolean;
  hint?: ComponentChildren;
}) {
  return (
    <div class="field field-check">
      <input
        id={id}
        type="checkbox"
        checked={checked}
        disabled={disabled}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onChange={(event) => onChange(event.currentTarget.checked)}
      />
      <label for={id}>{label}</label>
      {hint ? (
        <p id={`${id}-hint`} class="hint">
          {hint}
        </p>
      ) : null}
    </div>
  );
}
