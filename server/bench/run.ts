/**
 * @module `npm run bench`: the production build of the server against a bare node:http floor, the
 * same work on Hono with no middleware (the framework's floor), and PostgreSQL's own ceiling (pgbench), on an embedded PostgreSQL seeded with 100,000 notes across
 * 1,000 accounts. Load comes from autocannon in a separate process, on 127.0.0.1 only, for a bounded
 * time. Prints a table and writes bench/results/bench.json.
 *
 *   npm run bench [-- --duration 10 --connections 64 --rounds 3 --warm-up 15]
 *   npm run bench -- --soak 120 [--workers 1] [--profile]   # req/s and p99 per 10-s window, RSS start → end
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { migrate } from '@plumb/db';
import { freePort, runningServer, startEmbeddedPostgres } from '@plumb/db/embedded';
import postgres from 'postgres';
import { hashPassword } from '#src/auth/passwords.ts';
import { sessionHashOf } from '#src/auth/sessions.ts';
import type { Database } from '#src/database.ts';
import { notesRepository } from '#src/notes/repository.ts';
import { heapArgs, MAX_POOL_PER_WORKER } from '#src/sizing/index.ts';
import { childrenOf, rssMb } from '#src/testing.ts';
import { median } from '../../scripts/stats.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    skipBuild: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    'warm-up': { type: 'string', default: '15' },
    soak: { type: 'string' },
    workers: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
    'node-options': { type: 'string' },
  },
});
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const ROUNDS = Number(args.rounds);
const WARM_UP_SECONDS = Number(args['warm-up']);
/** How long the servers are left without requests before their RSS "after the load" is read. */
const QUIET_SECONDS = 45;
const cpus = os.availableParallelism();
/**
 * PostgreSQL's max_connections for the run, which the API is told (DB_MAX_CONNECTIONS): the three
 * servers run at once with a pool per worker, for as many workers as CPUs, and a few more for the
 * seeding and the statement's plan. pgbench runs after them.
 */
const MAX_CONNECTIONS = Math.max(200, 3 * cpus * MAX_POOL_PER_WORKER + 20, CONNECTIONS + 20);
const root = join(import.meta.dirname, '../..');
const resultsDir = join(root, 'bench/results');
const children = new Set<ChildProcess>();
const log = (line: string) => process.stdout.write(`bench: ${line}\n`);

type Load = {
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** CPU time per answered request, in microseconds: the server's processes, and PostgreSQL's. */
  cpuUsPerRequest: { server: number; database: number };
};

async function main() {
  await mkdir(resultsDir, { recursive: true });
  if (!args.skipBuild) {
    log('building the server (production bundle)…');
    execFileSync('npm', ['run', 'build', '-w', 'server'], { cwd: root, stdio: 'ignore' });
  }

  const dir = await mkdtemp(join(os.tmpdir(), 'plumb-bench-'));
  const pg = await startEmbeddedPostgres({
    dataDir: join(dir, 'data'),
    persistent: false,
    settings: {
      max_connections: MAX_CONNECTIONS,
      shared_buffers: '512MB',
      synchronous_commit: 'off',
    },
  });
  try {
    await pg.createDatabase('bench');
    const url = pg.url('bench');
    await migrate({ url });
    const { token } = await seed(url);
    const statement = await notesListStatement(url, token);
    // PostgreSQL's CPU time is its server's and its backends' (the children of this pid).
    const postmaster = (await runningServer(pg.dataDir))?.pid;
    if (postmaster === undefined) throw new Error(`no postmaster.pid in ${pg.dataDir}`);
    const cookie = `plumb_session=${token}`;
    if (args.soak) {
      await soak(url, cookie, Number(args.soak), Number(args.workers));
      return;
    }
    const results: Record<string, unknown> = {
      date: new Date().toISOString(),
      node: process.version,
      cpus,
      durationSeconds: DURATION,
      rounds: ROUNDS,
      warmUpSeconds: WARM_UP_SECONDS,
      connections: CONNECTIONS,
      runs: [] as unknown[],
    };
    const runs = results.runs as unknown[];
    // Saved as each part finishes, so that a failure later keeps what was measured.
    const save = () => writeFile(join(resultsDir, 'bench.json'), `${JSON.stringify(results, null, 2)}\n`);

    for (const workers of [...new Set([1, cpus])]) {
      // All three servers up at once, their runs alternating: whatever else the machine does then
      // falls on all alike, and the medians of ROUNDS runs each are compared. The Hono floor
      // (hono-floor.ts) splits the gap to the bare floor into the framework's share and ours.
      // The floors run with the heap flags the server decided for itself (ADR 018): V8's defaults
      // (a 128 MiB young generation here) trade memory for CPU, and the ratios would measure that.
      const ours = await startNamed('ours', 'server/dist/bin/server.js', url, workers, []);
      const info = (await (await fetch(`${ours.base}/api/info`)).json()) as {
        sizing: { heapMb: number; semiSpaceMb: number };
      };
      const flags = heapArgs([], info.sizing, args['node-options'] ?? '');
      log(`the floors run with ${flags.join(' ') || `NODE_OPTIONS=${args['node-options']}`}`);
      const hono = await startNamed('hono floor', 'server/bench/hono-floor.ts', url, workers, flags);
      const bare = await startNamed('bare', 'server/bench/bare-server.ts', url, workers, flags);
      const started = [ours, hono, bare];
      // A server reaches its steady CPU per request once V8 has optimised its hot code and its heap
      // has grown to its working size: in 4-s windows of one worker, ours took ~12 s of the notes
      // list, the floors 4–8 s. Each gets that much first, so round 1 is not ours alone warming up.
      log(`warming each server up: ${WARM_UP_SECONDS} s of the notes list`);
      for (const server of started)
        await autocannon(`${server.base}/api/notes?limit=20`, cookie, WARM_UP_SECONDS);
      const health = await load(`${ours.base}/healthz`, '', ours.pid, postmaster);
      for (let i = 0; i < ROUNDS; i++) {
        // Each round starts with another server: none always runs right after its own warm-up.
        const first = i % started.length;
        for (const server of [...started.slice(first), ...started.slice(0, first)]) {
          server.runs.push(await load(`${server.base}/api/notes?limit=20`, cookie, server.pid, postmaster));
        }
      }
      const rss = new Map(started.map((server) => [server, rssOf(server.pid)]));
      // Then quiet: ours gives memory back after 30–35 s (ADR 030); the floors keep theirs.
      log(`RSS after the load, then after ${QUIET_SECONDS} s without requests`);
      await sleep(QUIET_SECONDS * 1000);
      const rssQuiet = new Map(started.map((server) => [server, rssOf(server.pid)]));
      for (const server of started) await stop(server.child);
      const medians = new Map(started.map((server) => [server, medianLoad(server.runs)]));
      const of = (server: (typeof started)[number]) => medians.get(server) as Load;

      runs.push({
        workers,
        server: 'ours',
        route: 'GET /healthz',
        ...health,
        rssMbPerWorker: rss.get(ours),
        rssMbPerWorkerQuiet: rssQuiet.get(ours),
      });
      for (const server of started) {
        runs.push({
          workers,
          server: server.name,
          route: 'GET /api/notes?limit=20',
          ...of(server),
          rssMbPerWorker: rss.get(server),
          rssMbPerWorkerQuiet: rssQuiet.get(server),
          ...(server === ours ? {} : { nodeFlags: flags }),
        });
      }
      for (const [over, under] of [
        [ours, bare],
        [ours, hono],
        [hono, bare],
      ] as const) {
        const byRound = over.runs.map((run, i) =>
          round(run.reqPerSec / (under.runs[i]?.reqPerSec ?? Number.NaN), 3),
        );
        log(`notes list ${over.name}/${under.name} by round: ${byRound.join(', ')}`);
        runs.push({
          workers,
          server: 'ratio',
          route: `notes list ${over.name}/${under.name}`,
          ratio: round(of(over).reqPerSec / of(under).reqPerSec, 3),
          byRound,
          // The same comparison by CPU spent per request: steadier than req/s on a shared machine.
          cpuRatio: round(of(under).cpuUsPerRequest.server / of(over).cpuUsPerRequest.server, 3),
        });
      }
      await save();
    }

    const ceiling = pgbench(url, statement);
    if (ceiling) {
      results.pgbench = ceiling;
      const best = Math.max(
        ...runs
          .filter(
            (run) =>
              (run as { server: string; route: string }).server === 'ours' &&
              (run as { route: string }).route.startsWith('GET /api/notes'),
          )
          .map((run) => (run as Load).reqPerSec),
      );
      results.oursOverPgbench = round(best / ceiling.tps, 3);
    }
    results.coldStart = await coldStart(url);
    await save();
    printTable(results);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** 1,000 accounts with 100 notes each, and a session for the first account. */
async function seed(url: string): Promise<{ token: string }> {
  const started = performance.now();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const hash = await hashPassword('bench password 1');
    await sql`
      insert into accounts (email, password_hash)
      select 'bench-' || i || '@example.test', ${hash} from generate_series(1, 1000) as i`;
    await sql`
      insert into notes (account_id, title, body, created_at, updated_at)
      select a.id, 'Note ' || n, repeat('Plumbing notes, pipes and valves. ', 8),
             now() - n * interval '1 minute', now() - n * interval '1 minute'
      from accounts a cross join generate_series(1, 100) as n`;
    await sql`analyze`;
    const [account] = await sql<
      { id: string }[]
    >`select id from accounts where email = 'bench-1@example.test'`;
    const token = randomBytes(32).toString('base64url');
    await sql`
      insert into sessions (id_hash, account_id, expires_at)
      values (${createHash('sha256').update(token).digest()}, ${account?.id ?? ''}, now() + interval '1 day')`;
    const [count] = await sql<{ n: number }[]>`select count(*)::int as n from notes`;
    log(`seeded ${count?.n} notes across 1000 accounts in ${Math.round(performance.now() - started)} ms`);
    return { token };
  } finally {
    await sql.end();
  }
}

/**
 * The notes list at a fixed concurrency for `seconds`, in 10-second windows against one long-lived
 * server: a server that slows down as it ages shows here, and not in a fresh 10-second run.
 */
async function soak(url: string, cookie: string, seconds: number, workers: number) {
  const node = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(resultsDir, 'profiles')}`] : [];
  const server = await startServer('soak', [...node, 'server/dist/bin/server.js'], url, workers, {
    profiled: args.profile,
  });
  const pid = server.child.pid as number;
  const rssStart = rssOf(pid);
  const windows: { window: number; reqPerSec: number; p99: number; errors: number }[] = [];
  let rssAfterWarmUp: number[] = [];
  for (let i = 0; i < Math.ceil(seconds / 10); i++) {
    if (i === 1) rssAfterWarmUp = rssOf(pid);
    const result = await autocannon(`${server.base}/api/notes?limit=20`, cookie, 10);
    windows.push({
      window: i + 1,
      reqPerSec: Math.round(result.requests.average),
      p99: result.latency.p99,
      errors: result.errors + result.non2xx,
    });
    log(
      `window ${i + 1} (${(i + 1) * 10} s): ${windows.at(-1)?.reqPerSec} req/s, p99 ${windows.at(-1)?.p99} ms`,
    );
  }
  const rssEnd = rssOf(pid);
  await stop(server.child);
  const first = windows[1] ?? windows[0]; // the first window after warm-up
  const last = windows.at(-1);
  const summary = {
    date: new Date().toISOString(),
    seconds,
    workers,
    connections: CONNECTIONS,
    windows,
    rssMbStart: rssStart,
    rssMbAfterWarmUp: rssAfterWarmUp,
    rssMbEnd: rssEnd,
    lastOverFirstReqPerSec: first && last ? round(last.reqPerSec / first.reqPerSec, 3) : null,
    lastOverFirstP99: first && last ? round(last.p99 / first.p99, 3) : null,
  };
  await writeFile(
    join(resultsDir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
    `${JSON.stringify(summary, null, 2)}\n`,
  );
  console.log(
    `\n| window | req/s | p99 ms |\n| --- | --- | --- |\n${windows.map((w) => `| ${w.window} | ${w.reqPerSec} | ${w.p99} |`).join('\n')}\n\n` +
      `last/first (after warm-up): req/s ${summary.lastOverFirstReqPerSec}, p99 ${summary.lastOverFirstP99}; ` +
      `RSS ${rssStart.join('+')} MB idle → ${rssAfterWarmUp.join('+')} MB after the first window → ${rssEnd.join('+')} MB at the end`,
  );
}

/** A server for the notes-list comparison, with the runs of its load kept with it. */
async function startNamed(name: string, script: string, url: string, workers: number, flags: string[]) {
  const up = await startServer(name.replace(' ', '-'), [...flags, script], url, workers);
  return { name, ...up, pid: up.child.pid as number, runs: [] as Load[] };
}

async function startServer(
  name: string,
  script: string[],
  url: string,
  workers: number,
  extra: { profiled?: boolean } = {},
) {
  const port = await freePort();
  const out = createWriteStream(join(resultsDir, `${name}-${workers}.log`));
  const child = spawn(process.execPath, script, {
    cwd: root,
    env: serverEnv(url, port, workers, {
      LOG_LEVEL: 'info',
      // A profiled single worker must not re-execute itself (the profile would go with it).
      ...(extra.profiled ? { NODE_OPTIONS: '--max-old-space-size=1024' } : {}),
      ...(args['node-options'] ? { NODE_OPTIONS: args['node-options'] } : {}),
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  children.add(child);
  const base = `http://127.0.0.1:${port}`;
  await untilOk(`${base}/healthz`, child, 20_000, 50, () => `see bench/results/${name}-${workers}.log`);
  log(`${name} server up with ${workers} worker(s)`);
  return { child, base };
}

/**
 * Asks `url` every `everyMs` until it answers 200. If `child` exits or `timeoutMs` passes first, it
 * stops the child and throws, with `why()` in the message.
 */
async function untilOk(
  url: string,
  child: ChildProcess,
  timeoutMs: number,
  everyMs: number,
  why: () => string,
) {
  const started = performance.now();
  while (
    (await fetch(url).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  ) {
    if (child.exitCode !== null || performance.now() - started > timeoutMs) {
      await stop(child);
      throw new Error(
        `${child.spawnargs.slice(1).join(' ')} did not answer ${url} (exit ${child.exitCode}): ${why()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

async function stop(child: ChildProcess) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
  children.delete(child);
}

/** The environment every server this benchmark starts gets (rate limits out of the way). */
function serverEnv(
  url: string,
  port: number,
  workers: number,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: url,
    PORT: String(port),
    HOST: '127.0.0.1',
    WEB_CONCURRENCY: String(workers),
    DB_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
    DB_POOL_MAX: String(MAX_POOL_PER_WORKER),
    SHUTDOWN_DELAY_MS: '0',
    AUTH_RATE_LIMIT_IP_MAX: '1000000',
    AUTH_RATE_LIMIT_ACCOUNT_MAX: '1000000',
    ...(process.env.MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX } : {}),
    ...extra,
  };
}

/** One autocannon run in its own process. */
async function autocannon(url: string, cookie: string, seconds: number) {
  const argv = ['-c', String(CONNECTIONS), '-d', String(seconds), '-j'];
  if (cookie) argv.push('-H', `cookie=${cookie}`);
  const child = spawn(join(root, 'node_modules/.bin/autocannon'), [...argv, url], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  await once(child, 'exit');
  return JSON.parse(output) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    errors: number;
    non2xx: number;
  };
}

/**
 * A warm-up, then the measured run of `server` (a process and its children). CPU time per request
 * is the steadier figure on a shared machine: throughput moves with whatever else runs.
 */
async function load(url: string, cookie: string, server: number, postmaster: number): Promise<Load> {
  await autocannon(url, cookie, 2);
  const before = { server: cpuTicks(treeOf(server)), database: cpuTicks(treeOf(postmaster)) };
  const result = await autocannon(url, cookie, DURATION);
  const after = { server: cpuTicks(treeOf(server)), database: cpuTicks(treeOf(postmaster)) };
  const answered = result.requests.total;
  const perRequest = (ticks: number) => Math.round((ticks * 1e6) / CLOCK_TICKS / Math.max(1, answered));
  const measured = {
    reqPerSec: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    cpuUsPerRequest: {
      server: perRequest(after.server - before.server),
      database: perRequest(after.database - before.database),
    },
  };
  log(
    `${url.replace(/^http:\/\/[^/]+/, '')}: ${measured.reqPerSec} req/s, p50 ${measured.p50} ms, p99 ${measured.p99} ms, ` +
      `CPU per request: server ${measured.cpuUsPerRequest.server} µs, PostgreSQL ${measured.cpuUsPerRequest.database} µs`,
  );
  return measured;
}

/** Each figure of several runs, as its median. */
function medianLoad(runs: Load[]): Load {
  const of = (pick: (run: Load) => number) => median(runs.map(pick));
  return {
    reqPerSec: of((run) => run.reqPerSec),
    p50: of((run) => run.p50),
    p99: of((run) => run.p99),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    cpuUsPerRequest: {
      server: of((run) => run.cpuUsPerRequest.server),
      database: of((run) => run.cpuUsPerRequest.database),
    },
  };
}

/** Linux's USER_HZ: /proc reports CPU time in these. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** User plus system CPU time of `pids` so far, in clock ticks (processes gone meanwhile count 0). */
function cpuTicks(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      total += Number(fields[11]) + Number(fields[12]);
    } catch {}
  }
  return total;
}

/** A process and its children. */
function treeOf(pid: number): number[] {
  return [pid, ...childrenOf(pid)];
}

/** Resident memory of each serving process (the workers, or the process itself), in MB. */
function rssOf(pid: number): number[] {
  const children = childrenOf(pid);
  return (children.length > 0 ? children : [pid]).map(rssMb);
}

/**
 * The statement the API sends for a notes list (captured from postgres.js as the repository builds
 * it, for the seeded session), with its parameters written in: what pgbench runs.
 */
async function notesListStatement(url: string, token: string): Promise<string> {
  const sent: { query: string; parameters: unknown[] }[] = [];
  const sql = postgres(url, {
    max: 1,
    onnotice: () => {},
    fetch_types: false, // else its first statement is postgres.js's own look at the array types
    debug: (_connection, query, parameters) => sent.push({ query, parameters }),
  });
  try {
    const db: Database = { sql, run: (work) => work(sql), inFlight: () => 0, end: () => sql.end() };
    const page = await notesRepository(db).listForSession(sessionHashOf(token) ?? Buffer.alloc(0), {
      limit: 20,
    });
    if (page?.items.length !== 20) throw new Error('the seeded session does not list 20 notes');
  } finally {
    await sql.end();
  }
  // postgres.js may build a statement twice (described, then run): one statement text, however often.
  const statement = sent.at(-1);
  if (!statement || new Set(sent.map((each) => each.query)).size !== 1) {
    throw new Error(`a notes list sent ${new Set(sent.map((each) => each.query)).size} statements, not 1`);
  }
  // postgres.js hands its debug hook the parameters as it will send them: text (bytea as '\x…').
  const literal = (value: unknown) => (value === null ? 'null' : `'${String(value).replaceAll("'", "''")}'`);
  return statement.query
    .replace(/\$(\d+)/g, (_, n: string) => literal(statement.parameters[Number(n) - 1]))
    .replace(/\s+/g, ' ');
}

/** The API's notes-list statement through pgbench -M prepared: what the database alone can do. */
function pgbench(url: string, statement: string): { tps: number; clients: number } | undefined {
  try {
    execFileSync('pgbench', ['--version'], { stdio: 'ignore' });
  } catch {
    log('pgbench not found: the database ceiling is skipped (Debian: apt-get install postgresql-client)');
    return undefined;
  }
  const script = join(resultsDir, 'notes-list.pgbench.sql');
  // pgbench reads ":MI" as a variable, even inside quotes: ':' is spliced in (PostgreSQL folds the constant).
  const query = `${statement.replace(/:(?=[A-Z])/g, "' || ':' || '")};\n`;
  writeFileSync(script, query);
  const parsed = new URL(url);
  const run = spawnSync(
    'pgbench',
    [
      '-n',
      '-M',
      'prepared',
      '-c',
      String(CONNECTIONS),
      '-j',
      '2',
      '-T',
      String(DURATION),
      '-f',
      script,
      '-h',
      parsed.hostname,
      '-p',
      parsed.port,
      '-U',
      parsed.username,
      parsed.pathname.slice(1),
    ],
    { encoding: 'utf8', env: { ...process.env, PGPASSWORD: decodeURIComponent(parsed.password) } },
  );
  if (run.status !== 0) {
    // The other figures of the run stay; the ceiling is left out, with pgbench's reason.
    log(`pgbench failed (exit ${run.status}): the database ceiling is left out\n${run.stderr.slice(-1_000)}`);
    return undefined;
  }
  const tps = Number(/tps = ([\d.]+)/.exec(run.stdout)?.[1] ?? Number.NaN);
  log(`pgbench (same notes query, ${CONNECTIONS} clients): ${Math.round(tps)} TPS`);
  return { tps: Math.round(tps), clients: CONNECTIONS };
}

/**
 * A Node process that answers every request with 200 as soon as it listens: the floor of a start
 * on this machine (Node's boot and `node:http`), measured beside ours so that a run shows what our
 * code adds to Node's own boot. It does not follow every slow hour of ours (ADR 018).
 */
const START_FLOOR = `require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1')`;

type ColdStart = { medianMs: number; runsMs: number[]; floor: { medianMs: number; runsMs: number[] } };

/**
 * Spawn to the first 200 from /readyz, median of 5, one worker, bundled server; the floor's starts
 * (START_FLOOR) alternate with ours, each first every other time.
 */
async function coldStart(url: string): Promise<ColdStart> {
  const runsMs: number[] = [];
  const floorMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const ours = async () => runsMs.push(await timeToReady(['server/dist/bin/server.js'], url));
    const floor = async () => floorMs.push(await timeToReady(['-e', START_FLOOR], url));
    for (const start of i % 2 === 0 ? [ours, floor] : [floor, ours]) await start();
  }
  const medianMs = median(runsMs);
  const floor = { medianMs: median(floorMs), runsMs: floorMs };
  log(`cold start to ready: median ${medianMs} ms (${runsMs.join(', ')})`);
  log(`a bare node:http process to its first 200: median ${floor.medianMs} ms (${floorMs.join(', ')})`);
  return { medianMs, runsMs, floor };
}

/** Milliseconds from spawning Node with `args` to the first 200 from its /readyz. */
async function timeToReady(args: string[], url: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: serverEnv(url, port, 1, { LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  await untilOk(`http://127.0.0.1:${port}/readyz`, child, 30_000, 5, () => stderr.slice(-2_000));
  const ms = Math.round(performance.now() - started);
  await stop(child);
  return ms;
}

function printTable(results: Record<string, unknown>) {
  const rows = results.runs as Record<string, unknown>[];
  const lines = [
    `| workers | server | route | req/s | p50 ms | p99 ms | errors | RSS MB per worker: end of load → ${QUIET_SECONDS} s quiet | server CPU µs/req | PostgreSQL CPU µs/req |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...rows.map((row) => {
      if (row.server === 'ratio') {
        return `| ${row.workers} | ratio | ${row.route} | **${row.ratio}** | | | | | ${row.cpuRatio} (inverse) | |`;
      }
      const cpu = row.cpuUsPerRequest as Load['cpuUsPerRequest'];
      return `| ${row.workers} | ${row.server} | ${row.route} | ${row.reqPerSec} | ${row.p50} | ${row.p99} | ${Number(row.errors) + Number(row.non2xx)} | ${(row.rssMbPerWorker as number[]).join(', ')} → ${(row.rssMbPerWorkerQuiet as number[]).join(', ')} | ${cpu.server} | ${cpu.database} |`;
    }),
  ];
  const pg = results.pgbench as { tps: number } | undefined;
  if (pg)
    lines.push(
      '',
      `pgbench, same query: ${pg.tps} TPS; best notes list ours/pgbench: ${results.oursOverPgbench}`,
    );
  const cold = results.coldStart as ColdStart;
  lines.push(
    `cold start (spawn → /readyz 200, 1 worker): median ${cold.medianMs} ms (${cold.runsMs.join(', ')})`,
    `  a bare node:http process, alternating with it: median ${cold.floor.medianMs} ms (${cold.floor.runsMs.join(', ')}); ours − bare: ${cold.medianMs - cold.floor.medianMs} ms`,
  );
  console.log(`\n${lines.join('\n')}\n\nsaved bench/results/bench.json`);
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

await main();
