/** @module The page: what the server says it is running. */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, fetchInfo, type ServerInfo } from '#src/api.ts';

type State = { kind: 'loading' } | { kind: 'ready'; info: ServerInfo } | { kind: 'failed'; message: string };

export function App() {
  const [state, setState] = useState<State>({ kind: 'loading' });

  useEffect(() => {
    const controller = new AbortController();
    fetchInfo(controller.signal).then(
      (info) => setState({ kind: 'ready', info }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setState({
          kind: 'failed',
          message: error instanceof ApiError ? error.message : 'Unexpected error.',
        });
      },
    );
    return () => controller.abort();
  }, []);

  return (
    <main>
      <h1>Plumb</h1>
      {state.kind === 'loading' && <p aria-busy="true">Asking the server…</p>}
      {state.kind === 'failed' && <p role="alert">{state.message}</p>}
      {state.kind === 'ready' && (
        <dl aria-label="Server">
          <dt>Name</dt>
          <dd>{state.info.name}</dd>
          <dt>Version</dt>
          <dd>{state.info.version}</dd>
          <dt>Commit</dt>
          <dd>{state.info.gitSha ?? 'unknown'}</dd>
        </dl>
      )}
    </main>
  );
}
