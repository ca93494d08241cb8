/** @module The app shell: who is signed in, which view is open (#/notes, #/account, #/about), and the offline banner. */
import { useEffect, useState } from 'preact/hooks';
import { type Account, ApiError, api } from '#src/api.ts';
import { AboutView } from '#src/components/about-view.tsx';
import { AccountView } from '#src/components/account-view.tsx';
import { AuthForm } from '#src/components/auth-form.tsx';
import { NotesView } from '#src/components/notes-view.tsx';

type View = 'notes' | 'account' | 'about';
const viewFromHash = (): View => {
  const hash = globalThis.location?.hash.replace(/^#\//, '') ?? '';
  return hash === 'account' || hash === 'about' ? hash : 'notes';
};

export function App() {
  const [account, setAccount] = useState<Account | null | undefined>(undefined);
  const [view, setView] = useState<View>(viewFromHash());
  const [offline, setOffline] = useState(false);

  const checkSession = () =>
    api.me().then(
      (me) => {
        setAccount(me);
        setOffline(false);
      },
      (error: unknown) => {
        if (error instanceof ApiError && error.unavailable) setOffline(true);
        else setAccount(null);
      },
    );

  useEffect(() => {
    void checkSession();
    const onHash = () => setView(viewFromHash());
    globalThis.addEventListener?.('hashchange', onHash);
    return () => globalThis.removeEventListener?.('hashchange', onHash);
  }, []);

  // While the server is unreachable, retry every 5 s; the banner goes when it answers.
  useEffect(() => {
    if (!offline) return;
    const timer = setInterval(() => void checkSession(), 5_000);
    return () => clearInterval(timer);
  }, [offline]);

  const signOut = async () => {
    await api.logout().catch(() => {});
    setAccount(null);
  };

  return (
    <>
      <header class="top">
        <h1>Plumb</h1>
        {account && (
          <nav aria-label="Main">
            <a href="#/notes" aria-current={view === 'notes' ? 'page' : undefined}>
              Notes
            </a>
            <a href="#/account" aria-current={view === 'account' ? 'page' : undefined}>
              Account
            </a>
            <a href="#/about" aria-current={view === 'about' ? 'page' : undefined}>
              About
            </a>
            <button type="button" class="link" onClick={signOut}>
              Sign out
            </button>
          </nav>
        )}
      </header>
      {offline && (
        <p role="alert" class="banner">
          The server cannot be reached right now. Retrying… Anything you type is kept on this device.
        </p>
      )}
      <main>
        {account === undefined && !offline && <p aria-busy="true">Loading…</p>}
        {account === null && <AuthForm onSignedIn={(me) => setAccount(me)} />}
        {account && view === 'notes' && (
          <NotesView onUnavailable={() => setOffline(true)} onSignedOut={() => setAccount(null)} />
        )}
        {account && view === 'account' && (
          <AccountView account={account} onSignedOut={() => setAccount(null)} />
        )}
        {account && view === 'about' && <AboutView />}
      </main>
    </>
  );
}
