/**
 * @module `npm start`: the whole app on this machine — PostgreSQL (embedded, unless DATABASE_URL is
 * set), migrations, the API server and the Vite dev server — behind one URL. Ctrl-C stops all of it.
 */
import './require-node.mjs';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { migrate } from '@plumb/db';
import { redactUrl } from '@plumb/db/connection-url';
import {
  type EmbeddedPostgres,
  EmbeddedPostgresError,
  onShutdown,
  portIsFree,
  startEmbeddedPostgres,
} from '@plumb/db/embedded';
import { createServer as createViteServer, type ViteDevServer } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const say = (line: string) => process.stdout.write(`plumb: ${line}\n`);

// A developer's own overrides, never read by tests (see server/.env.template for the variables).
if (existsSync(`${root}.env`)) {
  process.loadEnvFile(`${root}.env`);
  say('read .env');
}
const apiPort = Number(process.env.PORT ?? 8080);
const webPort = Number(process.env.PLUMB_WEB_PORT ?? 5173);
const pgPort = Number(process.env.PLUMB_PG_PORT ?? 54329);

let postgres: EmbeddedPostgres | undefined;
let server: ChildProcess | undefined;
let vite: ViteDevServer | undefined;
let stopping = false;

/** Stops what was started, newest first; bounded so Ctrl-C never hangs. */
async function stopAll(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await vite?.close().catch(() => {});
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    const exited = once(server, 'exit');
    const timer = setTimeout(() => server?.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(timer);
  }
  await postgres?.stop();
}

onShutdown(async () => {
  if (!stopping) say('stopping…');
  await stopAll();
});

async function main(): Promise<void> {
  for (const [port, what] of [
    [apiPort, 'the API server (PORT)'],
    [webPort, 'the web page (PLUMB_WEB_PORT)'],
  ] as const) {
    if (!(await portIsFree(port))) throw new StartError(`port ${port} for ${what} is already in use`);
  }
  let databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) {
    say(`using DATABASE_URL (${redactUrl(databaseUrl)}); no embedded PostgreSQL`);
  } else {
    say('starting PostgreSQL (embedded, data in .data/postgres)…');
    postgres = await startEmbeddedPostgres({ dataDir: `${root}.data/postgres`, port: pgPort });
    await postgres.createDatabase('plumb');
    databaseUrl = postgres.url('plumb');
  }

  const applied = await migrate({ url: databaseUrl, log: (line) => say(`migrate: ${line}`) });
  if (applied.length === 0) say('migrate: schema is up to date');

  server = spawn(process.execPath, ['--watch', '--watch-preserve-output', 'server/src/main.ts'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      // Development: one worker (fast restarts under --watch) and no load balancer to wait for.
      WEB_CONCURRENCY: process.env.WEB_CONCURRENCY ?? '1',
      SHUTDOWN_DELAY_MS: process.env.SHUTDOWN_DELAY_MS ?? '0',
      // The page reaches the API through Vite's proxy (one hop, X-Forwarded-For set): without this
      // the server warned that it ignores the header, on every start.
      TRUST_PROXY: process.env.TRUST_PROXY ?? '1',
      GIT_SHA: process.env.GIT_SHA ?? gitSha(),
    },
  });
  server.on('exit', (code, signal) => {
    if (!stopping) say(`the API server stopped (${signal ?? `exit ${code}`}); stopping everything`);
    if (!stopping) process.kill(process.pid, 'SIGTERM');
  });

  process.env.PLUMB_DEV_API_TARGET = `http://127.0.0.1:${apiPort}`;
  vite = await createViteServer({
    root: `${root}client`,
    configFile: `${root}client/vite.config.ts`,
    server: { host: '127.0.0.1', port: webPort, strictPort: true },
    logLevel: 'warn',
  });
  await vite.listen();

  await waitUntilReady(`http://127.0.0.1:${apiPort}/readyz`);
  say(
    `ready: open http://127.0.0.1:${webPort}/ (API at http://127.0.0.1:${apiPort}). Ctrl-C stops everything.`,
  );
}

function gitSha(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: 'pipe' }).trim();
  } catch {
    return undefined;
  }
}

async function waitUntilReady(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    const status = await fetch(url).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the API server did not become ready at ${url} within ${timeoutMs / 1000} s`);
}

/** A reason not to start that the person can act on; printed without a stack trace. */
class StartError extends Error {
  override name = 'StartError';
}

main().catch(async (error: unknown) => {
  const message =
    error instanceof StartError
      ? `${error.message}.\nIs another 'npm start' running? Stop it, or set PORT / PLUMB_WEB_PORT in .env.`
      : error instanceof EmbeddedPostgresError
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
  process.stderr.write(`plumb: cannot start: ${message}\n`);
  await stopAll();
  process.exit(1);
});
