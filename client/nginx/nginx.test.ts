/**
 * The client image's nginx configuration and entrypoint under a real nginx (Debian's, 1.22): the
 * built app behind it, a hostile env-config.js, and /api/ proxied to the real server on the test
 * database. Needs `nginx` on PATH: skipped with a message without it, failing when CI=true.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { freePort } from '@plumb/db/embedded';
import { waitForStatus } from '@plumb/server/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientStack, clientDir, hasNginx, startClientStack } from '../test-support/stack.ts';

if (!hasNginx() && process.env.CI !== 'true') {
  console.warn(
    'client/nginx: nginx is not installed (apt-get install nginx); the nginx suite is not run here',
  );
}

const HOSTILE = {
  CLIENT_API_URL: '',
  CLIENT_SCRIPT: '</script><script>alert(1)</script>',
  CLIENT_QUOTES: `"double" 'single' \\back\\slash`,
  CLIENT_LINES: 'one\ntwo\r\nthree\ttab',
  CLIENT_UNICODE: 'héllo 🙂 \u2028 end',
  CLIENT_NOT_LISTED: 'must-not-leak-either',
  NOT_PUBLIC_SECRET: 'must-not-leak',
};
/** A test allow-list, so that the escaping is exercised on free-text values (the real one is client/nginx/public-env.keys). */
const PUBLIC_KEYS = ['CLIENT_API_URL', 'CLIENT_SCRIPT', 'CLIENT_QUOTES', 'CLIENT_LINES', 'CLIENT_UNICODE'];

describe.runIf(hasNginx() || process.env.CI === 'true')('client nginx', () => {
  let stack: ClientStack;
  let base: string;

  beforeAll(async () => {
    const keys = join(await mkdtemp(join(tmpdir(), 'plumb-keys-')), 'public-env.keys');
    await writeFile(keys, `# test allow-list\n${PUBLIC_KEYS.join('\n')}\n`);
    stack = await startClientStack({ ...HOSTILE, PUBLIC_KEYS_FILE: keys });
    base = stack.base;
  });
  afterAll(() => stack?.close());

  it('answers /healthz itself', async () => {
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('falls back to index.html for app routes, never cached, with the security headers', async () => {
    const response = await fetch(`${base}/notes/some-id`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<div id="app"></div>');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-security-policy')).toMatch(
      /default-src 'self'; script-src 'self';.*frame-ancestors 'none'/,
    );
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
  });

  it('serves hashed assets immutable and gzipped', async () => {
    const index = await (await fetch(`${base}/`)).text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(index)?.[1];
    expect(asset).toBeDefined();
    const response = await fetch(`${base}${asset}`, {
      headers: { 'accept-encoding': 'gzip' },
      decompress: false,
    } as RequestInit);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(response.headers.get('content-security-policy')).not.toBeNull();
  });

  it('writes env-config.js from the allow-listed CLIENT_* variables only, escaped so no value can break out', async () => {
    const response = await fetch(`${base}/env-config.js`);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const script = await response.text();
    expect(script).not.toContain('</script>');
    expect(script).not.toContain('must-not-leak');
    const window: { __ENV__?: Record<string, string> } = {};
    runInNewContext(script, { window });
    const { NOT_PUBLIC_SECRET: _, CLIENT_NOT_LISTED: __, ...publicOnes } = HOSTILE;
    expect(window.__ENV__).toEqual(publicOnes);
    // Nothing was written into the web root (it can be read-only).
    await expect(readFile(join(stack.dir, 'web', 'env-config.js'), 'utf8')).resolves.toBe(
      await readFile(join(clientDir, 'public', 'env-config.js'), 'utf8'),
    );
  });

  it('proxies /api/ to the server with X-Forwarded-* so sign-up works through one origin', async () => {
    const info = await fetch(`${base}/api/info`);
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ name: 'plumb' });
    const signup = await fetch(`${base}/api/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: base },
      body: JSON.stringify({ email: `nginx-${Date.now()}@example.test`, password: 'through the proxy' }),
    });
    expect(signup.status).toBe(201);
    expect(signup.headers.get('set-cookie')).toMatch(/^plumb_session=/);
  });

  it('answers 503 JSON when the API cannot be reached', async () => {
    await stack.stopApi();
    const response = await fetch(`${base}/api/info`);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.json()).toMatchObject({ error: { code: 'api_unavailable' } });
  });
});

describe('client entrypoint', () => {
  it('refuses to start without API_UPSTREAM, saying what it needs', () => {
    const result = spawnSync('sh', [join(clientDir, 'docker-entrypoint.sh')], {
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/API_UPSTREAM is required/);
  });

  it('refuses a malformed API_UPSTREAM, CLIENT_API_URL, PROXY_SECRET or CPU_LIMIT', () => {
    for (const env of [
      { API_UPSTREAM: 'http://x y' },
      { API_UPSTREAM: 'srv:80', PROXY_SECRET: 'short' },
      { API_UPSTREAM: 'srv:80', PROXY_SECRET: 'sixteen "chars" and a quote' },
      { API_UPSTREAM: 'plumb-server.onrender.com', PROXY_SECRET: 'generated-by-render+0123456789=' },
      { API_UPSTREAM: 'srv:80', CLIENT_API_URL: 'javascript:alert(1)' },
      { API_UPSTREAM: 'srv:80', CPU_LIMIT: 'two' },
      { API_UPSTREAM: 'srv:80', CPU_LIMIT: '-1' },
      { API_UPSTREAM: 'srv:80', CPU_LIMIT: '1e3' },
      { API_UPSTREAM: 'srv:80', CPU_LIMIT: '08' }, // the shell's arithmetic would read it as octal
      { API_UPSTREAM: 'srv:80', CPU_LIMIT: '010' },
      { API_UPSTREAM: 'srv:80', CPU_LIMIT: '0' },
      { API_UPSTREAM: 'srv:80', CPU_LIMIT: '0.0' },
    ]) {
      const result = spawnSync('sh', [join(clientDir, 'docker-entrypoint.sh')], {
        env: { PATH: process.env.PATH ?? '', RUNTIME_DIR: join(tmpdir(), 'plumb-never'), ...env },
        encoding: 'utf8',
      });
      expect(result.status).toBe(78);
      expect(result.stderr).toMatch(/must be/);
    }
  });
});

/**
 * Runs the entrypoint (real nginx) with `env` over a cgroup tree holding `files`, calls `use` once
 * nginx answers, and stops it; what nginx and the entrypoint said comes along.
 */
async function withEntrypoint<T>(
  options: { env?: Record<string, string>; cgroup?: Record<string, string> },
  use: (nginx: { base: string; runtimeDir: string; said: () => string }) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'plumb-entry-'));
  for (const [path, content] of Object.entries(options.cgroup ?? {})) {
    await mkdir(join(dir, 'cgroup', path, '..'), { recursive: true });
    await writeFile(join(dir, 'cgroup', path), content);
  }
  const port = await freePort();
  const nginx = spawn('sh', [join(clientDir, 'docker-entrypoint.sh')], {
    env: {
      PATH: process.env.PATH ?? '',
      CGROUP_ROOT: join(dir, 'cgroup'),
      RUNTIME_DIR: join(dir, 'run'),
      WEB_ROOT: dir,
      TEMPLATE_DIR: join(clientDir, 'nginx'),
      PORT: String(port),
      API_UPSTREAM: '127.0.0.1:9',
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let said = '';
  nginx.stderr.on('data', (chunk) => (said += chunk));
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForStatus(`${base}/healthz`, 200, { timeoutMs: 10_000, describe: () => said });
    return await use({ base, runtimeDir: join(dir, 'run'), said: () => said });
  } finally {
    nginx.kill('SIGQUIT');
    await once(nginx, 'exit');
    await rm(dir, { recursive: true, force: true });
  }
}

describe.runIf(hasNginx() || process.env.CI === 'true')('nginx workers from the CPU quota', () => {
  /** The number of workers nginx starts over a cgroup tree holding `files`, with `env`. */
  const workersWith = (files: Record<string, string>, env: Record<string, string> = {}) =>
    withEntrypoint({ cgroup: files, env }, async ({ runtimeDir, said }) => {
      const master = (await readFile(join(runtimeDir, 'nginx.pid'), 'utf8')).trim();
      const children = await readFile(`/proc/${master}/task/${master}/children`, 'utf8');
      return { workers: children.trim().split(/\s+/).filter(Boolean).length, said: said() };
    });

  it('starts one worker per whole CPU of the quota, not one per CPU of the host', async () => {
    const half = await workersWith({ 'cpu.max': '50000 100000\n' });
    expect(half.workers).toBe(1);
    expect(half.said).toMatch(/with 1 worker\(s\)/);
    expect(
      (await workersWith({ 'cpu/cpu.cfs_quota_us': '150000\n', 'cpu/cpu.cfs_period_us': '100000\n' }))
        .workers,
    ).toBe(1);
  });

  it("takes CPU_LIMIT in the quota's place (Render's cgroups show none)", async () => {
    // Over a tree with no quota, where it would start one per CPU this process may run on.
    const declared = await workersWith({ 'cpu.max': 'max 100000\n' }, { CPU_LIMIT: '0.5' });
    expect(declared.workers).toBe(1);
    expect((await workersWith({ 'cpu.max': 'max 100000\n' }, { CPU_LIMIT: '64' })).workers).toBe(
      availableParallelism(),
    );
    expect(declared.said).toMatch(/with 1 worker\(s\)/);
  });

  it('starts one per CPU it may run on when there is no quota, or a larger one', async () => {
    const cpus = availableParallelism();
    expect((await workersWith({ 'cpu.max': 'max 100000\n' })).workers).toBe(cpus);
    expect((await workersWith({ 'cpu.max': `${(cpus + 2) * 100_000} 100000\n` })).workers).toBe(cpus);
    expect((await workersWith({})).workers).toBe(cpus);
    expect((await workersWith({ 'cpu.max': '50000' })).workers).toBe(cpus); // no period: not a quota
    const v1Unlimited = await workersWith({
      'cpu/cpu.cfs_quota_us': '-1\n',
      'cpu/cpu.cfs_period_us': '100000\n',
    });
    expect(v1Unlimited.workers).toBe(cpus);
    expect(v1Unlimited.said).not.toMatch(/number/i); // the shell complained of nothing
  });
});

describe.runIf(hasNginx() || process.env.CI === 'true')('the proxy secret (PROXY_SECRET)', () => {
  /** The headers an upstream received for one /api/ request sent with `headers`. */
  async function upstreamSaw(env: Record<string, string>, headers: Record<string, string>) {
    const upstream = createServer((request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(request.headers));
    });
    await new Promise<void>((listening) => upstream.listen(0, '127.0.0.1', listening));
    const { port } = upstream.address() as AddressInfo;
    try {
      return await withEntrypoint(
        { env: { API_UPSTREAM: `127.0.0.1:${port}`, ...env } },
        async ({ base }) => {
          const response = await fetch(`${base}/api/anything`, { headers });
          return (await response.json()) as Record<string, string>;
        },
      );
    } finally {
      upstream.close();
    }
  }

  it("sends the server's secret on every /api/ request, whatever the browser sent", async () => {
    const secret = 'generated-by-render+0123456789=';
    const seen = await upstreamSaw({ PROXY_SECRET: secret }, { 'x-plumb-proxy': 'forged-by-a-browser-0123' });
    expect(seen['x-plumb-proxy']).toBe(secret);
  });

  it('sends none without one, not even a header a browser sent', async () => {
    const seen = await upstreamSaw({}, { 'x-plumb-proxy': 'forged-by-a-browser-0123' });
    expect(seen['x-plumb-proxy']).toBeUndefined();
  });
});
