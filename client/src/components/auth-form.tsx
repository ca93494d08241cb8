/** @module Sign in and sign up: one form, two buttons' worth of intent. */
import { useState } from 'preact/hooks';
import { type Account, ApiError, api } from '#src/api.ts';

export function AuthForm(props: { onSignedIn: (account: Account) => void }) {
  const [mode, setMode] = useState<'login' | 'signup'>('login');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [fields, setFields] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setFields({});
    try {
      const account = mode === 'login' ? await api.login(email, password) : await api.signup(email, password);
      props.onSignedIn(account);
    } catch (thrown) {
      const failure =
        thrown instanceof ApiError ? thrown : new ApiError(0, 'unknown', 'Something went wrong.');
      setError(failure.message);
      setFields(failure.fields);
    } finally {
      setBusy(false);
    }
  };

  const title = mode === 'login' ? 'Sign in' : 'Create an account';
  return (
    <form class="card auth" onSubmit={submit} aria-labelledby="auth-title" noValidate>
      <h2 id="auth-title">{title}</h2>
      <label>
        Email
        <input
          type="email"
          name="email"
          autoComplete="email"
          required
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
          aria-invalid={fields.email ? true : undefined}
          aria-describedby={fields.email ? 'email-error' : undefined}
        />
      </label>
      {fields.email && (
        <p id="email-error" class="field-error">
          Email {fields.email}
        </p>
      )}
      <label>
        Password
        <input
          type="password"
          name="password"
          autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
          required
          minLength={10}
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
          aria-invalid={fields.password ? true : undefined}
          aria-describedby={fields.password ? 'password-error' : undefined}
        />
      </label>
      {fields.password && (
        <p id="password-error" class="field-error">
          Password {fields.password}
        </p>
      )}
      {error && !Object.keys(fields).length && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? 'Please wait…' : title}
      </button>
      <button type="button" class="link" onClick={() => setMode(mode === 'login' ? 'signup' : 'login')}>
        {mode === 'login' ? 'No account yet? Create one' : 'Have an account? Sign in'}
      </button>
    </form>
  );
}
