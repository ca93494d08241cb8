/**
 * The three images, built from their real Dockerfiles and run together under podman on loopback:
 * the migration job twice at once, the server read-only with CPU and memory limits, the client
 * read-only in front of it; what a user of each sees, a drain on stop, and what the images hold.
 * `npm run test:images`; skipped without podman on a developer's machine, failed under CI=true.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { freePort } from '@plumb/db/embedded';
import { createTestDatabase, type TestDatabase } from '@plumb/db/testing';
import { httpClient } from '@plumb/server/testing';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  buildImage,
  bytesAboveBase,
  containerLogs,
  ensureBaseImages,
  ensurePostgresImage,
  hasPodman,
  imageConfig,
  LAYERS,
  type Layer,
  podman,
  podmanResult,
  READ_ONLY_FLAGS,
  repoRoot,
  runArgs,
  USERS,
  usePodmanSettings,
  waitForStatus,
} from '../support/images.ts';

const available = hasPodman();
if (!available && process.env.CI !== 'true') {
  console.warn('images: podman is not installed; skipping the image suite (CI=true makes this a failure)');
}

const run = `${process.pid}`;
const image = (layer: Layer) => `localhost/plumb-${layer}:test`;
const containers: string[] = [];
const name = (what: string) => {
  const full = `plumb-test-${run}-${what}`;
  containers.push(full);
  return full;
};
/** How many migrations this checkout has: what a fresh database must end up with. */
const MIGRATIONS = readdirSync(join(repoRoot, 'db/migrations')).filter((file) =>
  /^\d+-.*\.ts$/.test(file),
).length;
/** Kubernetes' default grace period, which the manifests keep. */
const GRACE_SECONDS = 30;
/** A CLIENT_* value that tries to break out of env-config.js's script, and odd bytes. */
const HOSTILE = ['</script><script>alert(1)</script>', '"\'\\', '$' + '{HOME}', '$(id)', '`id`', '✓'].join(
  ' ',
);

describe.runIf(available || process.env.CI === 'true')('the three images', () => {
  const built: Record<string, number> = {};
  let database: TestDatabase;
  let serverPort: number;
  let clientPort: number;
  let serverBase: string;
  let clientBase: string;
  const server = name('server');
  const client = name('client');

  beforeAll(async () => {
    if (!available) throw new Error('podman is required under CI=true (Debian: apt-get install podman)');
    usePodmanSettings();
    await ensureBaseImages();
    for (const layer of LAYERS) built[layer] = (await buildImage(layer, image(layer))).seconds;
    console.log(
      `images: built ${LAYERS.map((layer) => `${layer} ${built[layer]?.toFixed(1)} s`).join(', ')} (layer cache used where present)`,
    );
    database = await createTestDatabase({ migrated: false });
    [serverPort, clientPort] = [await freePort(), await freePort()];
    serverBase = `http://127.0.0.1:${serverPort}`;
    clientBase = `http://127.0.0.1:${clientPort}`;
  }, 1_800_000);

  afterAll(async () => {
    for (const container of containers) await podmanResult(['rm', '--force', '--time', '0', container]);
    await database?.drop();
  });

  describe('what the images hold', () => {
    it.each(LAYERS)('%s: numeric non-root user, OCI labels, stop signal and health check', async (layer) => {
      const config = await imageConfig(image(layer));
      expect(config.User).toBe(USERS[layer]);
      expect(config.Labels).toMatchObject({
        'org.opencontainers.image.source': 'https://github.com/plumb-dev/plumb',
        'org.opencontainers.image.version': '0.1.0',
        'org.opencontainers.image.revision': expect.stringMatching(/^[0-9a-f]{40}$/),
      });
      if (layer === 'db') {
        expect(config.Healthcheck?.Test).toEqual(['NONE']);
        expect(config.StopSignal).toBe('SIGTERM');
      } else {
        // (nginx's base image also declares 80; EXPOSE cannot be taken back, and nothing listens there.)
        expect(Object.keys(config.ExposedPorts ?? {})).toContain('8080/tcp');
        expect(config.Healthcheck?.Test?.[0]).toBe('CMD');
        expect(config.StopSignal).toBe(layer === 'client' ? 'SIGQUIT' : 'SIGTERM');
      }
    });

    it.each([
      ['server', 40e6],
      ['client', 2e6],
      ['db', 40e6],
    ] as const)('%s adds under %d bytes to its base', async (layer, limit) => {
      const bytes = await bytesAboveBase(image(layer), layer);
      console.log(`images: ${layer} adds ${(bytes / 1e6).toFixed(2)} MB above its base`);
      expect(bytes).toBeGreaterThan(0);
      expect(bytes).toBeLessThan(limit);
    });

    it.each(LAYERS)('%s: no compiler, npm, npm cache, source maps or dev dependencies', async (layer) => {
      const app = layer === 'client' ? '/usr/share/nginx/html' : '/app';
      const script = `for tool in gcc cc g++ make python3 npm npx node; do command -v $tool >/dev/null && echo "tool:$tool"; done
         for dir in /root/.npm /home/node/.npm /src; do [ -e $dir ] && echo "path:$dir"; done
         find ${app} -name '*.map' -o -name '*.ts' -not -name '*.d.ts' | sed 's/^/file:/'
         [ -d ${app}/node_modules ] && find ${app}/node_modules -maxdepth 3 -name package.json | sort |
           sed 's#^${app}/node_modules/#module:#; s#/package.json$##'
         true`;
      const { stdout } = await podman(
        runArgs(layer, image(layer), { network: 'none', entrypoint: 'sh', args: ['-c', script] }),
      );
      const found = stdout.split('\n').filter(Boolean);
      // The client image has no Node at all; the others only the runtime and the one native module
      // with the platform package npm chose.
      const expected = {
        server: ['tool:node', 'module:@node-rs/argon2', `module:@node-rs/argon2-linux-${process.arch}-gnu`],
        db: ['tool:node'],
        client: [],
      }[layer];
      expect(found.sort()).toEqual(expected.sort());
    });
  });

  it.each(['server', 'db'] as const)(
    '%s runs the patched postgres.js queue (ADR 008) in its bundle',
    async (layer) => {
      // The patch's two changes, as esbuild writes them: remove() searches from the live head, and
      // shift() compacts the consumed head. One copy of the driver, in whichever file of the bundle
      // (the server's entries share a chunk).
      const script = [
        "cat /app/bin/*.js | grep -cF 'xs.indexOf(x,index)'",
        "cat /app/bin/*.js | grep -cF 'index*2>=xs.length&&(xs=xs.slice(index),index=0)'",
      ].join('; ');
      const { stdout } = await podman(
        runArgs(layer, image(layer), { network: 'none', entrypoint: 'sh', args: ['-c', script] }),
      );
      expect(stdout.split('\n')).toEqual(['1', '1']);
    },
  );

  it.each(LAYERS)('%s passes the smoke run that CD does on each architecture', async (layer) => {
    const smoke = await new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile(
        'bash',
        [join(repoRoot, 'scripts/smoke-image.sh'), layer, image(layer)],
        { env: { ...process.env, DOCKER: 'podman' }, timeout: 240_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? (error.code as number) : 0, output: stdout + stderr }),
      );
    });
    expect(smoke.code, smoke.output).toBe(0);
    expect(smoke.output).toContain(`smoke(${layer}): ok`);
  });

  describe('the migration job', () => {
    it('runs twice at once: both exit 0 and every migration is applied exactly once', async () => {
      const job = () => podmanResult(runArgs('db', image('db'), { env: { DATABASE_URL: database.url } }));
      const [a, b] = await Promise.all([job(), job()]);
      expect([a.status, b.status], `${a.stderr}\n${b.stderr}`).toEqual([0, 0]);
      // Exactly one of them applied the schema; the other waited for the lock and found it done.
      const said = [a.stdout, b.stdout].map((out) => out.split('\n').at(-1)).sort();
      expect(said).toEqual([
        `migrate: applied ${MIGRATIONS} migration(s)`,
        'migrate: schema is up to date; nothing applied',
      ]);
      const sql = postgres(database.url, { max: 1, onnotice: () => {} });
      try {
        const rows = await sql<{ name: string }[]>`select name from schema_migrations order by name`;
        const names = rows.map((row) => row.name);
        expect(names).toHaveLength(MIGRATIONS);
        expect(new Set(names).size).toBe(names.length);
        expect(names.every((migration) => /^\d{3}-[\w-]+$/.test(migration))).toBe(true);
      } finally {
        await sql.end();
      }
    });

    it('--status lists every migration as applied, and a bad DATABASE_URL is refused by name', async () => {
      const status = await podmanResult(
        runArgs('db', image('db'), { env: { DATABASE_URL: database.url }, args: ['--status'] }),
      );
      expect(status.status, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/migrate: applied {2}001-accounts-and-notes/);
      expect(status.stdout).toMatch(new RegExp(`migrate: ${MIGRATIONS} applied, 0 pending$`));

      const bad = await podmanResult(
        runArgs('db', image('db'), { network: 'none', env: { DATABASE_URL: 'mysql://nope' } }),
      );
      expect(bad.status).toBe(78);
      expect(bad.stderr).toMatch(/DATABASE_URL/);
      expect(bad.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    });
  });

  describe('stopping the migration job', () => {
    it('a job waiting for the migration lock stops at once on podman stop (PID 1 handles SIGTERM)', async () => {
      // Another runner holds the lock, so this job waits (up to MIGRATE_LOCK_TIMEOUT_MS).
      const holder = postgres(database.url, { max: 1, onnotice: () => {} });
      const container = name('migrate-stopped');
      try {
        await holder`select pg_advisory_lock(hashtextextended('plumb:migrations', 0))`;
        await podman(runArgs('db', image('db'), { name: container, env: { DATABASE_URL: database.url } }));
        await new Promise((done) => setTimeout(done, 1_500));
        const started = performance.now();
        await podman(['stop', '--time', '20', container]);
        const stoppedMs = performance.now() - started;
        const exit = await podman(['inspect', '--format', '{{.State.ExitCode}}', container]);
        expect(exit.stdout).toBe('143');
        expect(stoppedMs).toBeLessThan(5_000); // not the 20 s after which podman kills
        expect(await containerLogs(container)).toMatch(/stopped by SIGTERM/);
      } finally {
        await holder.end();
      }
    });
  });

  describe('server and client, read-only, on loopback', () => {
    let readyMs = 0;

    beforeAll(async () => {
      const started = performance.now();
      await podman(
        runArgs('server', image('server'), {
          name: server,
          cpus: 1,
          memory: '512m',
          env: { DATABASE_URL: database.url, PORT: `${serverPort}`, HOST: '127.0.0.1', TRUST_PROXY: '1' },
        }),
      );
      await waitForStatus(`${serverBase}/readyz`, 200, { describe: () => containerLogs(server) });
      readyMs = performance.now() - started;
      await podman(
        runArgs('client', image('client'), {
          name: client,
          env: {
            PORT: `${clientPort}`,
            API_UPSTREAM: `127.0.0.1:${serverPort}`,
            CLIENT_MOTD: HOSTILE,
            CLIENT_API_URL: '',
          },
        }),
      );
      await waitForStatus(`${clientBase}/healthz`, 200, { describe: () => containerLogs(client) });
    }, 120_000);

    it('the server is ready, and sized to the limits it was given (--cpus 1 --memory 512m)', async () => {
      console.log(`images: server container start → /readyz 200 in ${Math.round(readyMs)} ms`);
      const info = (await (await fetch(`${serverBase}/api/info`)).json()) as {
        version: string;
        gitSha: string | null;
        sizing: {
          cpu: number;
          memoryBytes: number;
          workers: number;
          heapMb: number;
          source: Record<string, string>;
        };
      };
      console.log(`images: the server detected ${JSON.stringify(info.sizing)}`);
      expect(info.version).toBe('0.1.0');
      expect(info.gitSha).toMatch(/^[0-9a-f]{40}$/);
      expect(info.sizing).toMatchObject({ cpu: 1, memoryBytes: 512 * 1024 * 1024, workers: 1 });
      expect(info.sizing.source.cpu).toMatch(/^cgroup/);
      expect(info.sizing.source.memory).toMatch(/^cgroup/);
      expect(info.sizing.heapMb).toBeLessThan(512);
      // The heap it reports is the one in effect: PID 1 runs with the decided limit, not V8's default.
      const { stdout: commandLine } = await podman(['exec', server, 'cat', '/proc/1/cmdline']);
      expect(commandLine.split('\0')).toContain(`--max-old-space-size=${info.sizing.heapMb}`);
    });

    it('both containers report healthy through their own HEALTHCHECK', async () => {
      for (const container of [server, client]) {
        const check = await podmanResult(['healthcheck', 'run', container]);
        expect(check.status, `${container}: ${check.stdout}${check.stderr}`).toBe(0);
      }
    });

    it('the client serves the SPA, its assets and a script-safe env-config.js', async () => {
      const page = await fetch(`${clientBase}/notes/anything`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toMatch(/<script[^>]+src="\/env-config\.js"/);
      const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(asset).toBeDefined();
      const script = await fetch(`${clientBase}${asset}`);
      expect(script.status).toBe(200);
      expect(script.headers.get('cache-control')).toMatch(/immutable/);

      const config = await fetch(`${clientBase}/env-config.js`);
      expect(config.headers.get('cache-control')).toBe('no-store');
      const body = await config.text();
      expect(body).not.toContain('</script>');
      const window: { __ENV__?: Record<string, string> } = {};
      runInNewContext(body, { window });
      // Only this build's public settings are published; the hostile CLIENT_MOTD is not one.
      expect(window.__ENV__).toEqual({ CLIENT_API_URL: '' });
      expect(body).not.toContain('alert');
      expect(await containerLogs(client)).toMatch(/CLIENT_MOTD is not a public setting of this build/);
    });

    it('a user signs up, writes a note and lists it, all through the client’s /api/ proxy', async () => {
      const user = httpClient(clientBase);
      await user.signup();
      const created = await user.request('/api/notes', {
        method: 'POST',
        json: { title: 'From the image', body: 'written through nginx' },
      });
      expect(created.status, await created.clone().text()).toBe(201);
      const list = await user.request('/api/notes');
      expect(list.status).toBe(200);
      const { items } = (await list.json()) as { items: { title: string }[] };
      expect(items.map((note) => note.title)).toEqual(['From the image']);
      // Another visitor sees nothing of it.
      const stranger = httpClient(clientBase);
      expect((await stranger.request('/api/notes')).status).toBe(401);
    });

    it(`podman stop -t ${GRACE_SECONDS} drains the server: not ready at once, still serving, exit 0 in time`, async () => {
      const user = httpClient(clientBase);
      await user.signup();
      const started = performance.now();
      const stop = spawn('podman', ['stop', '--time', String(GRACE_SECONDS), server], { stdio: 'ignore' });
      const notReadyMs = await waitForStatus(`${serverBase}/readyz`, 503, { timeoutMs: 5_000 });
      // During the shutdown delay the load balancer is still sending: those requests are served.
      const during = await Promise.all(
        Array.from({ length: 20 }, () => user.request('/api/notes').then((response) => response.status)),
      );
      const [code] = (await once(stop, 'exit')) as [number];
      const stoppedMs = performance.now() - started;
      const exit = await podman(['inspect', '--format', '{{.State.ExitCode}}', server]);
      console.log(
        `images: stop → /readyz 503 in ${Math.round(notReadyMs)} ms; exited ${exit.stdout} after ${Math.round(stoppedMs)} ms`,
      );
      expect(code).toBe(0);
      expect(notReadyMs).toBeLessThan(2_000);
      expect(during).toEqual(Array(20).fill(200));
      expect(exit.stdout).toBe('0');
      expect(stoppedMs).toBeLessThan(GRACE_SECONDS * 1000);
      expect(await containerLogs(server)).toMatch(/"msg":"stopped"/);
    });

    it('with the server gone the client answers 503 JSON, and stops cleanly on SIGQUIT', async () => {
      const response = await fetch(`${clientBase}/api/info`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ error: { code: 'api_unavailable' } });
      await podman(['stop', '--time', '10', client]);
      expect((await podman(['inspect', '--format', '{{.State.ExitCode}}', client])).stdout).toBe('0');
    });
  });

  describe('the server entrypoint', () => {
    it('MIGRATE_ON_START=1 migrates an empty database, then serves', async () => {
      const empty = await createTestDatabase({ migrated: false });
      const port = await freePort();
      const container = name('migrate-on-start');
      try {
        await podman(
          runArgs('server', image('server'), {
            name: container,
            env: {
              DATABASE_URL: empty.url,
              PORT: `${port}`,
              HOST: '127.0.0.1',
              MIGRATE_ON_START: '1',
              WEB_CONCURRENCY: '1',
            },
          }),
        );
        await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, {
          describe: () => containerLogs(container),
        });
        expect(await containerLogs(container)).toMatch(/applying migrations first/);
      } finally {
        await podmanResult(['rm', '--force', '--time', '0', container]);
        await empty.drop();
      }
    });

    it('starts from the V8 compile cache its image was built with, as its own user on a read-only root', async () => {
      // Refused after the application's start chunk has loaded (more workers than 512Mi allows): no database needed.
      const result = await podmanResult(
        runArgs('server', image('server'), {
          network: 'none',
          env: {
            DATABASE_URL: 'postgres://u:p@127.0.0.1:1/x',
            MEMORY_LIMIT: '512Mi',
            WEB_CONCURRENCY: '16',
            NODE_DEBUG_NATIVE: 'COMPILE_CACHE',
          },
        }),
      );
      expect(result.status, result.stderr).toBe(78);
      expect(result.stderr).toMatch(/V8 code cache for ESM file:\/\/\/app\/bin\/start-\w+\.js was accepted/);
    });

    it('says in its sizing line whether the compile cache is used: yes as its own user, not as another uid', async () => {
      // An address this container does not have: the start stops at listening, after the sizing line.
      const sizingLine = async (user?: string) => {
        const result = await podmanResult(
          runArgs('server', image('server'), {
            network: 'none',
            ...(user ? { user } : {}),
            env: { DATABASE_URL: 'postgres://u:p@127.0.0.1:1/x', HOST: '192.0.2.1', WEB_CONCURRENCY: '1' },
          }),
        );
        expect(result.status, result.stderr).toBe(1);
        expect(result.stdout).toMatch(/cannot listen/);
        const line = result.stdout.split('\n').find((text) => text.includes('"msg":"sizing:'));
        return (JSON.parse(line ?? '{}') as { compileCache?: string }).compileCache;
      };
      expect(await sizingLine()).toBe('enabled');
      // Node keys the cache by uid too, and the read-only image cannot take a new entry.
      expect(await sizingLine('1001:1001')).toMatch(/^unusable: /);
    });

    it('a bad MIGRATE_ON_START or DATABASE_URL stops the start with a readable reason (exit 78)', async () => {
      for (const [variable, env] of [
        ['MIGRATE_ON_START', { MIGRATE_ON_START: 'yes', DATABASE_URL: 'postgres://u:p@127.0.0.1:1/x' }],
        ['DATABASE_URL', { DATABASE_URL: 'not-a-url' }],
      ] as const) {
        const result = await podmanResult(runArgs('server', image('server'), { network: 'none', env }));
        expect(result.status, result.stderr).toBe(78);
        expect(result.stderr).toMatch(variable);
        expect(result.stderr).not.toMatch(/\n\s+at /);
      }
    });
  });

  describe('backup and restore, as docs/operations.md tells', () => {
    it("the backup CronJob's own script dumps the database; pg_restore brings back every account and note", async () => {
      const postgresImage = await ensurePostgresImage();
      const adminUrl = new URL(inject('postgresAdminUrl'));
      const admin = postgres(adminUrl.href, { max: 1, onnotice: () => {} });
      const password = 'backup-test-password';
      const withPlumb = (database: string) => {
        const url = new URL(adminUrl.href);
        [url.username, url.password, url.pathname] = ['plumb', password, `/${database}`];
        return url.href;
      };
      // As the bundled PostgreSQL's init script makes it (ADR 029): plumb owns its database and is
      // no superuser.
      await admin.unsafe(`drop database if exists plumb with (force)`);
      await admin.unsafe(`drop database if exists plumb_restored with (force)`);
      await admin.unsafe(`drop role if exists plumb`);
      await admin.unsafe(`create role plumb login password '${password}'`);
      await admin.unsafe('create database plumb owner plumb');
      await admin.unsafe('create database plumb_restored owner plumb');
      const backups = await mkdtemp(join(tmpdir(), 'plumb-backups-'));
      await chmod(backups, 0o777); // the Job's volume is group-writable for uid 999 (fsGroup)
      const serve = async (what: string, database: string) => {
        const port = await freePort();
        const container = name(what);
        await podman(
          runArgs('server', image('server'), {
            name: container,
            env: {
              DATABASE_URL: withPlumb(database),
              PORT: `${port}`,
              HOST: '127.0.0.1',
              MIGRATE_ON_START: '1',
            },
          }),
        );
        await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, {
          describe: () => containerLogs(container),
        });
        return { base: `http://127.0.0.1:${port}`, stop: () => podman(['stop', '--time', '30', container]) };
      };
      try {
        // Someone used the app.
        const before = await serve('before-backup', 'plumb');
        const user = httpClient(before.base);
        const account = await user.signup();
        for (const title of ['first', 'second', 'third']) {
          const created = await user.request('/api/notes', {
            method: 'POST',
            json: { title, body: `${title} body` },
          });
          expect(created.status).toBe(201);
        }
        await before.stop();

        // The nightly Job, exactly as the manifest runs it (its host name pointed at this machine).
        const job = /name: plumb-postgres-backup[\s\S]*?- \|-\n([\s\S]*?)\n\s+env:/.exec(
          readFileSync(join(repoRoot, 'k8s/base/postgres.yaml'), 'utf8'),
        );
        const script = job?.[1]?.replace(/^ {18}/gm, '');
        expect(script).toMatch(/pg_dump -Fc/);
        const backup = await podmanResult([
          'run',
          '--rm',
          '--network',
          'host',
          '--add-host',
          'plumb-postgres:127.0.0.1',
          ...READ_ONLY_FLAGS,
          '--user',
          '999',
          '--volume',
          `${backups}:/backups`,
          '--env',
          `PGPASSWORD=${password}`,
          '--env',
          `PGPORT=${adminUrl.port}`,
          postgresImage,
          'sh',
          '-c',
          script ?? 'false',
        ]);
        expect(backup.status, backup.stderr).toBe(0);
        const dumps = readdirSync(backups).filter((file) => /^plumb-\d{8}T\d{6}\.dump$/.test(file));
        expect(dumps).toHaveLength(1);

        // The restore from docs/operations.md, into another database.
        const restore = await podmanResult([
          'run',
          '--rm',
          '--network',
          'host',
          ...READ_ONLY_FLAGS,
          '--user',
          '999',
          '--volume',
          `${backups}:/backups:ro`,
          '--env',
          `PGPASSWORD=${password}`,
          postgresImage,
          'pg_restore',
          '--clean',
          '--if-exists',
          '--no-owner',
          '-h',
          '127.0.0.1',
          '-p',
          adminUrl.port,
          '-U',
          'plumb',
          '-d',
          'plumb_restored',
          `/backups/${dumps[0]}`,
        ]);
        expect(restore.status, restore.stderr).toBe(0);

        // The app on the restored database: the same person signs in and finds their notes.
        const after = await serve('after-restore', 'plumb_restored');
        const again = httpClient(after.base);
        const login = await again.request('/api/auth/login', {
          method: 'POST',
          json: { email: account.email, password: account.password },
        });
        expect(login.status).toBe(200);
        const list = (await (await again.request('/api/notes')).json()) as {
          items: { title: string; body: string }[];
        };
        expect(list.items.map((note) => `${note.title}: ${note.body}`).sort()).toEqual([
          'first: first body',
          'second: second body',
          'third: third body',
        ]);
        await after.stop();
      } finally {
        await rm(backups, { recursive: true, force: true });
        await admin.unsafe('drop database if exists plumb with (force)');
        await admin.unsafe('drop database if exists plumb_restored with (force)');
        await admin.unsafe('drop role if exists plumb');
        await admin.end();
      }
    }, 600_000);
  });
});
