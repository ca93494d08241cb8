/** @module What the server runs and how it sized itself (GET /api/info). */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, type ServerInfo } from '#src/api.ts';

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

export function AboutView() {
  const [info, setInfo] = useState<ServerInfo | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    api
      .info()
      .then(setInfo, (thrown: unknown) =>
        setError(thrown instanceof ApiError ? thrown.message : 'Unexpected error.'),
      );
  }, []);
  if (error) return <p role="alert">{error}</p>;
  if (!info) return <p aria-busy="true">Asking the server…</p>;
  return (
    <section class="card" aria-labelledby="about-title">
      <h2 id="about-title">About</h2>
      <dl aria-label="Server">
        <dt>Name</dt>
        <dd>{info.name}</dd>
        <dt>Version</dt>
        <dd>{info.version}</dd>
        <dt>Commit</dt>
        <dd>{info.gitSha ?? 'unknown'}</dd>
        {info.sizing && (
          <>
            <dt>Sizing</dt>
            <dd>
              {info.sizing.cpu} CPU, {gib(info.sizing.memoryBytes)}: {info.sizing.workers} worker(s), heap{' '}
              {info.sizing.heapMb} MiB, pool {info.sizing.poolMax}
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}
