/**
 * The console: sign-in with an API key, then the pages its scopes allow, under one header. Routes are
 * hashes (`#/finance`), so the page Governor serves at /console is the only page there is.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, apiBase, createApiClient } from './api/client.ts';
import type { KeyInfo } from './api/types.ts';
import { Console, type ConsoleContext, useConsole } from './context.ts';
import { browserLocale, formatFor } from './format.ts';
import { SCOPE_LABELS } from './labels.ts';
import { SignInPage } from './pages/signin.tsx';
import { canOpen, hasScope, PAGES, type Page } from './pages.ts';
import { session as sessionOf } from './session.ts';

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return hash;
}

/** `#/policy/history` → ['policy', 'history']. */
function route(hash: string): [string, string] {
  const [id = '', ...rest] = hash.replace(/^#\/?/, '').split('/');
  return [id, rest.join('/')];
}

const keyDescription = (key: KeyInfo) =>
  key.scopes.includes('admin')
    ? 'all scopes (admin)'
    : key.scopes.map((scope) => SCOPE_LABELS[scope]).join(', ') || 'no scopes';

export function App() {
  const session = useMemo(() => sessionOf(window.sessionStorage), []);
  const base = useMemo(() => apiBase(window.location), []);
  const format = useMemo(() => formatFor(browserLocale(navigator.languages)), []);
  const [key, setKey] = useState<{ token: string; info: KeyInfo } | undefined>();
  const [checking, setChecking] = useState(session.key() !== undefined);
  const [notice, setNotice] = useState<string | undefined>();

  const signOut = (message?: string) => {
    session.signOut();
    setKey(undefined);
    setNotice(message);
  };

  const signIn = async (token: string): Promise<string | undefined> => {
    const api = createApiClient(token, base);
    try {
      const { data } = await api.call('get', '/v1/me');
      session.signIn(token);
      setKey({ token, info: data });
      setNotice(undefined);
      return undefined;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401)
        return 'Governor does not know this key: it may be mistyped, revoked, or from another deployment.';
      if (error instanceof ApiError) return error.problem.detail ?? `Governor answered ${error.status}.`;
      return 'Governor cannot be reached: check the connection and retry.';
    }
  };

  // A key kept from earlier in this tab signs in again on reload.
  useEffect(() => {
    const kept = session.key();
    if (!kept) return;
    void signIn(kept).then((problem) => {
      if (problem) signOut(problem);
      setChecking(false);
    });
  }, []);

  const context = useMemo<ConsoleContext | undefined>(() => {
    if (!key) return undefined;
    const api = createApiClient(key.token, base, () =>
      signOut('Governor no longer accepts this key (revoked?): sign in again.'),
    );
    return {
      api,
      key: key.info,
      format,
      can: (scope) => hasScope(key.info.scopes, scope),
      today: () => new Date().toISOString().slice(0, 10),
      now: () => new Date(),
    };
  }, [key, base, format]);

  if (checking) return <p class="loading">Signing in…</p>;
  if (!context) return <SignInPage onSignIn={signIn} notice={notice} />;
  return (
    <Console.Provider value={context}>
      <Shell onSignOut={() => signOut('You are signed out. The key is no longer kept in this tab.')} />
    </Console.Provider>
  );
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const hash = useHash();
  const [id, rest] = route(hash);
  const consoleContext = useConsole();
  const scopes = consoleContext.key.scopes;
  const open = PAGES.filter((page) => canOpen(page, scopes));
  const closed = PAGES.filter((page) => !canOpen(page, scopes));
  const page: Page | undefined = PAGES.find((p) => p.id === id) ?? (id === '' ? open[0] : undefined);
  const heading = useRef<HTMLElement>(null);

  useEffect(() => {
    document.title = page ? `${page.title} · Governor console` : 'Governor console';
    // Moving between pages moves the focus to the new page, as a page load would.
    if (id !== '') heading.current?.focus();
  }, [page, id]);

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to the page
      </a>
      <header class="topbar">
        <div class="brand">
          <span class="brand-mark" aria-hidden="true">
            G
          </span>
          <span>Governor</span>
        </div>
        <nav aria-label="Pages" class="nav">
          <ul>
            {open.map((p) => (
              <li key={p.id}>
                <a href={`#/${p.id}`} aria-current={p === page ? 'page' : undefined}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="whoami">
          <span class="whoami-key">
            Key <code>{consoleContext.key.keyId}</code>
            <span class="whoami-scopes">{keyDescription(consoleContext.key)}</span>
          </span>
          <button type="button" class="button button-on-dark" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      {closed.length > 0 ? (
        <p class="closed-pages">
          Not available with this key:{' '}
          {closed.map((p, i) => (
            <span key={p.id}>
              {i > 0 ? '; ' : ''}
              {p.title} (needs {p.needs.map((s) => `“${s}”`).join(' or ')})
            </span>
          ))}
          .
        </p>
      ) : null}
      <main id="main" class="main" ref={heading} tabIndex={-1} aria-label={page?.title ?? 'Page'}>
        {page && canOpen(page, scopes) ? (
          <page.component rest={rest} />
        ) : page ? (
          <section class="card">
            <h1>{page.title}</h1>
            <p>
              This page needs a key with the scope {page.needs.map((s) => `“${s}”`).join(' or ')} (
              {page.needs.map((s) => SCOPE_LABELS[s]).join(' or ')}). This key can{' '}
              {keyDescription(consoleContext.key)}.
            </p>
          </section>
        ) : (
          <section class="card">
            <h1>No such page</h1>
            <p>
              There is no page “{id}”. <a href="#/">Go to the first page</a>.
            </p>
          </section>
        )}
      </main>
    </>
  );
}
