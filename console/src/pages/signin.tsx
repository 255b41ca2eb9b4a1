/** Sign-in: an API key, checked against GET /v1/me, kept for this tab only. */
import { useState } from 'preact/hooks';
import { Notice } from '../components/ui.tsx';

export function SignInPage({
  onSignIn,
  notice,
}: {
  onSignIn: (key: string) => Promise<string | undefined>;
  notice?: string | undefined;
}) {
  const [key, setKey] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (key.trim() === '') {
      setProblem('Paste the API key you were given.');
      return;
    }
    setBusy(true);
    setProblem(await onSignIn(key.trim()));
    setBusy(false);
  };

  return (
    <main class="signin" id="main">
      <div class="signin-card">
        <div class="brand brand-large">
          <span class="brand-mark" aria-hidden="true">
            G
          </span>
          <span>Governor</span>
        </div>
        <h1>Sign in to the console</h1>
        <p class="muted">
          Policy for marketers, suppressed volume and avoided cost for finance, and the state of delivery.
          What you see depends on the key’s scopes.
        </p>
        {notice ? <Notice tone="info">{notice}</Notice> : null}
        <form onSubmit={submit} noValidate>
          <div class="field">
            <label for="api-key">API key</label>
            <input
              id="api-key"
              name="api-key"
              type="password"
              autocomplete="off"
              spellcheck={false}
              value={key}
              onInput={(event) => setKey(event.currentTarget.value)}
              aria-invalid={problem ? 'true' : undefined}
              aria-describedby={problem ? 'api-key-problem api-key-hint' : 'api-key-hint'}
            />
            {problem ? (
              <p id="api-key-problem" class="field-error" role="alert">
                {problem}
              </p>
            ) : null}
            <p id="api-key-hint" class="hint">
              Kept for this browser tab only (session storage, never local storage or a cookie), and forgotten
              when you sign out or close the tab.
            </p>
          </div>
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
