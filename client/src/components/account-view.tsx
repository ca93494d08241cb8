/** @module Account self-service: change password, sign out everywhere, export, delete. */
import { useState } from 'preact/hooks';
import { type Account, ApiError, api } from '#src/api.ts';

export function AccountView(props: { account: Account; onSignedOut: () => void }) {
  const [message, setMessage] = useState<string | undefined>();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirmDelete, setConfirmDelete] = useState('');
  const report = (error: unknown) =>
    setMessage(error instanceof ApiError ? error.message : 'Something went wrong.');

  return (
    <section class="card account" aria-labelledby="account-title">
      <h2 id="account-title">Your account</h2>
      <p>Signed in as {props.account.email}.</p>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          try {
            await api.changePassword(current, next);
            setCurrent('');
            setNext('');
            setMessage('Password changed. Every other device was signed out.');
          } catch (error) {
            report(error);
          }
        }}
      >
        <h3>Change password</h3>
        <label>
          Current password
          <input
            type="password"
            autoComplete="current-password"
            value={current}
            onInput={(e) => setCurrent(e.currentTarget.value)}
          />
        </label>
        <label>
          New password (at least 10 characters)
          <input
            type="password"
            autoComplete="new-password"
            minLength={10}
            value={next}
            onInput={(e) => setNext(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Change password</button>
      </form>
      <h3>Sessions and data</h3>
      <div class="actions">
        <button
          type="button"
          onClick={async () => {
            try {
              await api.signOutEverywhere();
              props.onSignedOut();
            } catch (error) {
              report(error);
            }
          }}
        >
          Sign out everywhere
        </button>
        <a class="button" href={api.exportUrl()} download>
          Export my notes (JSON)
        </a>
      </div>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (!globalThis.confirm?.('Delete your account and all its notes? This cannot be undone.')) return;
          try {
            await api.deleteAccount(confirmDelete);
            props.onSignedOut();
          } catch (error) {
            report(error);
          }
        }}
      >
        <h3>Delete account</h3>
        <label>
          Password
          <input
            type="password"
            autoComplete="current-password"
            value={confirmDelete}
            onInput={(e) => setConfirmDelete(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="danger">
          Delete my account
        </button>
      </form>
      {message && (
        <p role="status" aria-live="polite">
          {message}
        </p>
      )}
    </section>
  );
}
