/**
 * @module The test harness for the client: the built app behind real nginx (the image's entrypoint
 * and configuration), proxying /api/ to the real server on a database of its own. Used by the nginx
 * suite and the browser suite alike. Needs `nginx` on PATH.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmod, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { freePort } from '@plumb/db/embedded';
import { createTestApp, relaxedConfig, type TestApp, waitForStatus } from '@plumb/server/testing';

export const clientDir = join(import.meta.dirname, '..');
export const hasNginx = () => spawnSync('nginx', ['-v']).status === 0;

export interface ClientStack {
  /** The client's origin (nginx). */
  base: string;
  api: TestApp;
  /** Where the built app and the runtime files live. */
  dir: string;
  /** Stops and restarts the API server (same port), as an outage would. */
  stopApi(): Promise<void>;
  startApi(): Promise<void>;
  close(): Promise<void>;
}

export async function startClientStack(env: Record<string, string> = {}): Promise<ClientStack> {
  if (!hasNginx()) throw new Error('nginx is required (Debian: apt-get install nginx)');
  execFileSync('npm', ['run', 'build', '-w', 'client'], { cwd: join(clientDir, '..'), stdio: 'ignore' });
  // nginx's workers run as an unprivileged user when tests run as root: give them a readable copy.
  const dir = await mkdtemp(join(tmpdir(), 'plumb-client-'));
  await cp(join(clientDir, 'dist'), join(dir, 'web'), { recursive: true });
  await chmod(dir, 0o755);
  execFileSync('chmod', ['-R', 'a+rX', dir]);

  // nginx is the one proxy in front of the server here (TRUST_PROXY=1).
  const api = await createTestApp({ ...relaxedConfig, trustedProxies: 1 });
  const apiPort = await freePort();
  let apiServer: ReturnType<typeof serve> | undefined;
  const startApi = async () => {
    apiServer = serve({ fetch: api.app.fetch, port: apiPort, hostname: '127.0.0.1' });
    await once(apiServer, 'listening');
  };
  const stopApi = async () => {
    const server = apiServer;
    if (!server) return;
    apiServer = undefined;
    const closed = new Promise((resolve) => server.close(resolve));
    if ('closeAllConnections' in server) server.closeAllConnections();
    await closed;
  };
  await startApi();

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const nginx: ChildProcess = spawn('sh', [join(clientDir, 'docker-entrypoint.sh')], {
    env: {
      PATH: process.env.PATH ?? '',
      RUNTIME_DIR: join(dir, 'run'),
      WEB_ROOT: join(dir, 'web'),
      TEMPLATE_DIR: join(clientDir, 'nginx'),
      PORT: String(port),
      API_UPSTREAM: `127.0.0.1:${apiPort}`,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  nginx.stderr?.on('data', (chunk) => (stderr += chunk));
  await waitForStatus(`${base}/healthz`, 200, {
    timeoutMs: 10_000,
    describe: () => `nginx did not start:\n${stderr}`,
  });

  return {
    base,
    api,
    dir,
    stopApi,
    startApi,
    async close() {
      if (nginx.exitCode === null) {
        nginx.kill('SIGQUIT');
        await once(nginx, 'exit');
      }
      await stopApi();
      await api.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
