/** The small pieces every page is made of: cards, figures, notices, loading and error states. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/client.ts';
import type { Scope } from '../api/types.ts';
import { SCOPE_LABELS } from '../labels.ts';

export function Card({
  title,
  id,
  children,
  actions,
  className = '',
}: {
  title: string;
  id: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
  className?: string;
}) {
  return (
    <section class={`card ${className}`} aria-labelledby={`${id}-title`}>
      <header class="card-header">
        <h2 id={`${id}-title`}>{title}</h2>
        {actions ? <div class="card-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

export function Figure({
  label,
  value,
  detail,
  tone = 'plain',
}: {
  label: string;
  value: string;
  detail?: ComponentChildren;
  tone?: 'plain' | 'good' | 'warn' | 'bad';
}) {
  return (
    <div class={`figure figure-${tone}`}>
      <div class="figure-label">{label}</div>
      <div class="figure-value">{value}</div>
      {detail ? <div class="figure-detail">{detail}</div> : null}
    </div>
  );
}

export function Notice({
  tone = 'info',
  children,
  title,
}: {
  tone?: 'info' | 'success' | 'warn' | 'error';
  title?: string;
  children?: ComponentChildren;
}) {
  return (
    <div class={`notice notice-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {title ? <strong class="notice-title">{title}</strong> : null}
      {children ? <div>{children}</div> : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {what}…
    </p>
  );
}

/** What went wrong, in words a user can act on. */
export function problemText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 403)
      return `This key may not do this: ${error.problem.detail ?? 'a scope is missing'}.`;
    if (error.status === 429) return 'Too many requests for this key just now; try again in a few seconds.';
    if (error.status >= 500) return 'Governor could not answer just now; try again in a moment.';
    return error.problem.detail ?? error.problem.title ?? `The API answered ${error.status}.`;
  }
  if (error instanceof TypeError) return 'Governor cannot be reached: check the connection and retry.';
  return error instanceof Error ? error.message : String(error);
}

export function ErrorNotice({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <Notice tone="error" title="Could not load">
      <p>{problemText(error)}</p>
      {retry ? (
        <button type="button" class="button" onClick={retry}>
          Retry
        </button>
      ) : null}
    </Notice>
  );
}

/** Said in place of a section the key may not see. */
export function NeedsScope({ scope, what }: { scope: Scope; what: string }) {
  return (
    <Notice tone="info" title={`Not available with this key`}>
      {what} needs a key with the scope <code>{scope}</code> ({SCOPE_LABELS[scope]}).
    </Notice>
  );
}

export type Loaded<T> =
  | { state: 'loading'; data?: T | undefined }
  | { state: 'done'; data: T }
  | { state: 'error'; error: unknown; data?: T | undefined };

/** Runs `load` when `deps` change (and on reload); a newer run wins over a slower older one. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> & { reload: () => void } {
  const [result, setResult] = useState<Loaded<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const run = ++latest.current;
    setResult((previous) => ({ state: 'loading', data: previous.data }));
    load().then(
      (data) => {
        if (run === latest.current) setResult({ state: 'done', data });
      },
      (error: unknown) => {
        if (run === latest.current) setResult((previous) => ({ state: 'error', error, data: previous.data }));
      },
    );
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { ...result, reload };
}
