/**
 * The fault suite (`npm run test:faults`): steady traffic against the production server bundle and
 * a PostgreSQL of its own, one fault at a time, with figures. Writes docs/reliability.md and fails
 * when a target is missed. Loopback only; bounded in time.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listMigrations } from '@plumb/db';
import { freePort } from '@plumb/db/embedded';
import { createApp, createDatabase, createLogger } from '@plumb/server';
import { httpClient, httpStatus, waitForStatus } from '@plumb/server/testing';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, type RunnerTask } from 'vitest';
import { median, percentile } from '../../scripts/stats.ts';
import {
  buildImage,
  containerLogs,
  ensureBaseImages,
  hasPodman,
  podman,
  podmanResult,
  runArgs,
  usePodmanSettings,
} from '../support/images.ts';
import {
  checkWrites,
  type FaultDatabase,
  type FaultResult,
  type LoadPlan,
  type RequestRecord,
  renderReliability,
  repoRoot,
  runLoad,
  type ServerProcess,
  sampleRss,
  sleep,
  startBalancer,
  startFaultDatabase,
  startServer,
  startTraffic,
  tally,
  toRecord,
  watchReadiness,
} from './harness.ts';

const results: FaultResult[] = [];
/** Faults the suite does not inject yet (issue 10), listed on the page so that it claims no more than it shows. */
const NOT_YET_INJECTED: string[] = [];
const MAX_CONNECTIONS = 60;
const FUZZ_RUNS = 10_000;
const OVERLOAD_S = 20;

// The generated table, with whatever ran (a missed target shows as "no" there and fails its test).
// A run of some faults only (vitest -t) writes it beside the system's temporary files instead, so
// that the committed page always shows the whole suite.
// biome-ignore lint/correctness/noEmptyPattern: vitest reads the first argument's pattern for fixtures; there are none
afterAll(async ({}, file) => {
  if (results.length === 0) return;
  const tests = (tasks: readonly RunnerTask[]): RunnerTask[] =>
    tasks.flatMap((task) => (task.type === 'suite' ? tests(task.tasks) : [task]));
  const whole = tests(file.tasks).every((task) => task.mode === 'run');
  const page = whole ? join(repoRoot, 'docs/reliability.md') : join(tmpdir(), 'plumb-reliability.md');
  await writeFile(page, renderReliability(results, NOT_YET_INJECTED));
  if (!whole) console.log(`faults: some faults were left out of this run; its table is in ${page}`);
});

const runMigrations = (url: string, dir: string) =>
  spawnSync(process.execPath, [join(repoRoot, 'tests/faults/migrate-dir.ts'), url, dir], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
  });

/**
 * Records a fault's row — met when every check passed; the target names the checks, then what was
 * measured — and fails the test naming the checks it missed.
 */
function record(
  row: Omit<FaultResult, 'target' | 'met'>,
  checks: Record<string, boolean>,
  detail = '',
  measured?: string,
) {
  const missed = Object.entries(checks)
    .filter(([, ok]) => !ok)
    .map(([check]) => check);
  const target = Object.keys(checks).join('; ') + (measured ? ` — measured: ${measured}` : '');
  results.push({ ...row, target, met: missed.length === 0 });
  expect(missed, detail).toEqual([]);
}

/** A fault without traffic timings. */
function recordChecks(
  fault: string,
  counts: ReturnType<typeof tally>,
  checks: Record<string, boolean>,
  detail = '',
  writes?: Awaited<ReturnType<typeof checkWrites>>,
) {
  const row = { fault, ...counts, detectMs: null, recoverMs: null };
  record({ ...row, acknowledgedWrites: writes?.acknowledged ?? 0, lost: writes?.lost ?? 0 }, checks, detail);
}

/** Waits until /readyz is 200 again (it queries the database); returns when that was. */
async function recovered(base: string, timeoutMs = 15_000): Promise<number> {
  await waitForStatus(`${base}/readyz`, 200, { timeoutMs });
  return performance.now();
}

/** One fault under traffic: what was sent, what /readyz said, and what the database kept. */
interface Run {
  traffic: { requests: RequestRecord[] };
  readiness: ReturnType<typeof watchReadiness>;
  writes: Awaited<ReturnType<typeof checkWrites>>;
  /** The requests that began while the fault lasted. */
  during: RequestRecord[];
  began: number;
  ended: number;
  /** When /readyz answered 200 again. */
  back: number;
}

const CONCURRENCY = 8;
const slowest = (requests: RequestRecord[]) => Math.max(0, ...requests.map((r) => r.ms));
const detectMs = (run: Run) => {
  const at = run.readiness.firstAfter(run.began, (code) => code === 503);
  return at === undefined ? null : at - run.began;
};

/** A fault under traffic: its timings from the run. */
function judge(run: Run, fault: string, checks: Record<string, boolean>, detected = detectMs(run)) {
  record(
    {
      fault,
      ...tally(run.traffic.requests),
      detectMs: detected,
      recoverMs: run.back - run.ended,
      acknowledgedWrites: run.writes.acknowledged,
      lost: run.writes.lost,
    },
    checks,
    `slowest ${Math.round(slowest(run.during))} ms during the fault`,
  );
}

/** What every database fault must show: quick detection, bounded waits, recovery, no 500, nothing lost. */
const databaseChecks = (run: Run, recovery: string) => ({
  'detect ≤ 2 s': detectMs(run) !== null && (detectMs(run) ?? Number.POSITIVE_INFINITY) <= 2_000,
  'no request waits > connect timeout (2 s) + 1.5 s': slowest(run.during) <= 3_500,
  [recovery]: run.back - run.ended <= 5_000,
  'no 500': !('500' in tally(run.traffic.requests).failed),
  '0 acknowledged writes lost, none half-applied': run.writes.lost === 0 && run.writes.halfApplied === 0,
});

describe('faults under steady traffic', () => {
  let db: FaultDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    db = await startFaultDatabase(MAX_CONNECTIONS);
    server = await startServer(db.url('plumb'), { DB_MAX_CONNECTIONS: String(MAX_CONNECTIONS) });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await db?.close();
  }, 60_000);

  /** Takes the database down with `how`, keeps it down `forMs`, starts it again. */
  async function databaseDown(how: () => Promise<void>, forMs: number) {
    const began = performance.now();
    await how();
    await sleep(forMs);
    const ended = performance.now();
    await db.start();
    return { began, ended };
  }

  /** Runs traffic around `inject`, which returns when the fault began and when it ended. */
  async function underTraffic(inject: () => Promise<{ began: number; ended: number }>): Promise<Run> {
    const traffic = await startTraffic(server.base, { concurrency: CONCURRENCY });
    const readiness = watchReadiness(server.base);
    await sleep(2_000);
    const { began, ended } = await inject();
    const back = await recovered(server.base);
    await sleep(2_000);
    await traffic.stop();
    await readiness.stop();
    const writes = await checkWrites(db.url('plumb'), traffic.writes);
    const during = traffic.requests.filter((request) => request.at >= began && request.at < ended);
    return { traffic, readiness, writes, during, began, ended, back };
  }

  it('the database stops for 10 s and comes back: 503s quickly, recovers by itself, loses nothing', async () => {
    const run = await underTraffic(() => databaseDown(() => db.stop(), 10_000));
    // Requests that began and ended while the database was down (past the first half second, when
    // in-flight ones are cut) must each have had a quick 503 with Retry-After.
    const outage = run.during.filter((r) => r.at > run.began + 500 && r.at + r.ms < run.ended);
    judge(run, 'PostgreSQL stops (fast shutdown) for 10 s, then starts', {
      ...databaseChecks(run, 'recover ≤ 5 s'),
      'every request during the outage: 503 with Retry-After':
        outage.length > 0 && outage.every((r) => r.status === 503 && r.retryAfter),
    });
  }, 90_000);

  it('the database is killed (SIGKILL) mid-write and restarted: crash recovery keeps every acknowledged write', async () => {
    // 3 s: what a supervisor takes to notice and restart it.
    const run = await underTraffic(() => databaseDown(() => db.kill(), 3_000));
    judge(
      run,
      'PostgreSQL killed with SIGKILL mid-write, restarted after 3 s (crash recovery)',
      databaseChecks(run, 'recover ≤ 5 s after the restart'),
    );
  }, 90_000);

  it('a server worker is killed (SIGKILL) under load: replaced, only its in-flight requests fail', async () => {
    let replacedAt: number | undefined;
    const run = await underTraffic(async () => {
      const [victim = 0, ...others] = server.workers();
      const began = performance.now();
      process.kill(victim, 'SIGKILL');
      while (replacedAt === undefined && performance.now() - began < 15_000) {
        const now = server.workers();
        if (now.length === others.length + 1 && !now.includes(victim)) replacedAt = performance.now();
        else await sleep(20);
      }
      return { began, ended: replacedAt ?? performance.now() };
    });
    const failures = run.traffic.requests.filter((r) => r.status < 200 || r.status >= 300);
    judge(
      run,
      'one of 2 server workers killed with SIGKILL',
      {
        'replaced within 5 s': replacedAt !== undefined && replacedAt - run.began <= 5_000,
        [`cut connections ≤ the ${CONCURRENCY} requests in flight`]:
          failures.filter((r) => r.status === 0).length <= CONCURRENCY,
        // While one worker carries the load alone, its admission queue may shed a request or two.
        [`any other failure a 503 with Retry-After, ≤ ${CONCURRENCY}`]:
          failures.filter((r) => r.status !== 0).length <= CONCURRENCY &&
          failures.every((r) => r.status === 0 || (r.status === 503 && r.retryAfter)),
        '0 acknowledged writes lost': run.writes.lost === 0,
      },
      replacedAt === undefined ? null : replacedAt - run.began,
    );
  }, 90_000);

  it('another client holds all but a few connections: 503 quickly, never over its own pool, recovers on release', async () => {
    const admin = postgres(db.url('plumb'), { max: 1, onnotice: () => {} });
    await admin.unsafe('drop role if exists hog');
    await admin.unsafe(`create role hog login password 'hog'`);
    const hogUrl = new URL(db.url('plumb'));
    [hogUrl.username, hogUrl.password] = ['hog', 'hog'];
    const held: postgres.Sql[] = [];
    const info = (await (await fetch(`${server.base}/api/info`)).json()) as {
      sizing: { workers: number; poolMax: number };
    };
    const budget = info.sizing.workers * info.sizing.poolMax;
    let poolPeak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await admin<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity where application_name = 'plumb-server'`;
        poolPeak = Math.max(poolPeak, row?.n ?? 0);
        await sleep(100);
      }
    })();
    /** Opens connections as `hog` until PostgreSQL refuses one. */
    const grab = async () => {
      for (;;) {
        const sql = postgres(hogUrl.href, { max: 1, onnotice: () => {}, connect_timeout: 2 });
        try {
          await sql`select 1`;
          held.push(sql);
        } catch {
          await sql.end({ timeout: 1 });
          return;
        }
      }
    };
    try {
      const run = await underTraffic(async () => {
        const began = performance.now();
        await grab();
        // The server's own connections are cut (as a failover or a restart would); the hog takes
        // the freed slots, so the server must reconnect into a full database.
        await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'plumb-server'`;
        await grab();
        await sleep(5_000);
        const ended = performance.now();
        await Promise.all(held.splice(0).map((sql) => sql.end({ timeout: 1 })));
        return { began, ended };
      });
      const refused = run.during.filter((r) => r.status === 503);
      judge(
        run,
        `all but a few of PostgreSQL's ${MAX_CONNECTIONS} connections held by another client for 5 s`,
        {
          'some requests refused with 503 (the database is full)': refused.length > 0,
          // The server's default DB_CONNECT_TIMEOUT_S is 5: nothing may wait longer than that.
          'no request waits > 5 s + 1 s': slowest(run.during) <= 6_000,
          [`server connections ≤ its budget (${budget}; peak ${poolPeak})`]: poolPeak <= budget,
          'recover ≤ 5 s after release': run.back - run.ended <= 5_000,
          'no 500': !('500' in tally(run.traffic.requests).failed),
          '0 acknowledged writes lost': run.writes.lost === 0,
        },
      );
    } finally {
      sampling = false;
      await sampler;
      await Promise.all(held.map((sql) => sql.end({ timeout: 1 })));
      await admin.unsafe('drop role if exists hog').catch(() => {});
      await admin.end();
    }
  }, 120_000);

  it('4× the sustainable request rate for 20 s: bounded memory and waiting, 503 with Retry-After for the excess, normal within 5 s', async () => {
    const accounts: LoadPlan['accounts'] = [];
    for (let i = 0; i < 8; i++) {
      const client = httpClient(server.base);
      const { email } = await client.signup();
      for (let n = 0; n < 20; n++) {
        await client.request('/api/notes', {
          method: 'POST',
          json: { title: `seed ${n}`, body: 'x'.repeat(200) },
        });
      }
      accounts.push({ email, cookie: client.cookie() ?? '' });
    }
    const tag = `overload-${Date.now()}`;
    const plan = { base: server.base, accounts, writeShare: 0.2, timeoutMs: 10_000 };
    const ok = (status: number) => status >= 200 && status < 300;
    // Sustainable: the rate served with 16 requests kept in flight, a warm server's (2 s of it
    // first: the first second of a cold one served half what the fourth did), the median of four
    // 1-second windows. The minimum of them, taken once, was a cold second: 4× it was then so little
    // over what the server could serve that under half of the requests were refused. On this
    // 2-core machine the generator, PostgreSQL and the server share the cores.
    await runLoad({ ...plan, tag: `${tag}-warm`, mode: 'closed', phases: [{ level: 16, seconds: 2 }] });
    const probe = await runLoad({
      ...plan,
      tag: `${tag}-probe`,
      mode: 'closed',
      phases: [{ level: 16, seconds: 4 }],
    });
    const perSecond = [0, 1, 2, 3].map(
      (second) =>
        probe.samples.filter(([due, , status]) => ok(status) && Math.floor(due / 1000) === second).length,
    );
    const normalMs = Math.max(
      250,
      2 *
        percentile(
          probe.samples.map(([, ms]) => ms),
          0.99,
        ),
    );
    // Sustainable also means served on time when offered open-loop, as users offer it (the closed
    // loop above waits for each answer): offered for 3 s, every request must get a 2xx with p99
    // within the normal latency; else 15 % less, at most 4 times.
    let sustainable = median(perSecond);
    const checked: string[] = [];
    for (let step = 0; step < 4; step++) {
      const check = await runLoad({
        ...plan,
        tag: `${tag}-check-${step}`,
        mode: 'open',
        connections: 256,
        phases: [{ level: Math.round(sustainable), seconds: 3 }],
      });
      const p99 = percentile(
        check.samples.map(([, ms]) => ms),
        0.99,
      );
      checked.push(`${Math.round(sustainable)} req/s: p99 ${Math.round(p99)} ms`);
      if (check.samples.every(([, , status]) => ok(status)) && p99 <= normalMs) break;
      sustainable *= 0.85;
    }
    console.log(
      `overload: closed-loop ${perSecond.join(', ')} req/s a second; open-loop: ${checked.join('; ')}`,
    );
    // Then 4× that for 20 s over 2,048 open connections (a proxy's pool, a crowd of returning
    // users), and half of it for 8 s after: normal service must be back within 5 s.
    const memory = sampleRss(server);
    await sleep(1_000);
    const run = await runLoad({
      ...plan,
      tag,
      mode: 'open',
      connections: 2048,
      phases: [
        { level: Math.round(sustainable * 4), seconds: OVERLOAD_S },
        { level: Math.round(sustainable / 2), seconds: 8 },
      ],
    });
    memory.stop();
    const writes = await checkWrites(db.url('plumb'), run.writes);

    const overload = run.samples.filter(([, , , , phase]) => phase === 0);
    const after = run.samples.filter(([, , , , phase]) => phase === 1);
    const served = overload.filter(([, , status]) => ok(status));
    const refused = overload.filter(([, , status]) => status === 503);
    const p99 = (samples: typeof overload) =>
      percentile(
        samples.map(([, ms]) => ms),
        0.99,
      );
    // Normal again: a 2xx as quick as the probe's (twice its p99, at least 250 ms).
    const lastAbnormal = after.findLast(([, ms, status]) => !ok(status) || ms > normalMs);
    const afterStart = OVERLOAD_S * 1000;
    const recoverMs = lastAbnormal ? lastAbnormal[0] + lastAbnormal[1] - afterStart : 0;
    const firstRefusal = refused[0];
    // The load starts once the generator has opened its connections: the memory window with it.
    const loadStart = run.startedAt - performance.timeOrigin;
    const growthMb = memory.growthMb(loadStart, loadStart + afterStart);
    const lateGrowthMb = memory.growthMb(loadStart + afterStart / 2, loadStart + afterStart);
    const bySecond: [number, number, number][] = [];
    for (const [due, , status] of run.samples) {
      const second = Math.floor(due / 1000);
      const counts = bySecond[second] ?? [0, 0, 0];
      counts[ok(status) ? 0 : status === 503 ? 1 : 2]++;
      bySecond[second] = counts;
    }
    const summary = {
      sustainable,
      checked,
      served: served.length,
      refused: refused.length,
      p99Served: p99(served),
      p99Refused: p99(refused),
      growthMb,
      lateGrowthMb,
      recoverMs,
      normalMs,
      generator: run.self,
      unanswered: run.unanswered,
      // By the second the requests were due: 2xx/503/no answer (to tell a stall of the server from
      // a slow drift, when this fails).
      bySecond: bySecond.map((counts) => counts.join('/')),
    };
    const checks = {
      // Otherwise the figures below would be the generator's, not the server's.
      'the generator kept up (event-loop delay p99 ≤ 100 ms, ≤ 60 % of a core)':
        run.self.lagP99Ms <= 100 && run.self.cpuShare <= 0.6,
      'every request answered, with a 2xx or a 503': overload.every(
        ([, , status]) => ok(status) || status === 503,
      ),
      // Refusals in every second: more was offered than the server could serve, all along. (Not "half
      // of all": the sustainable rate is the one served with a quick p99, and a server overloaded
      // serves more, slower, within its 1 s queue bound: up to 2.3× it in CI, so that 4× it left
      // 42 % to refuse.)
      'the excess refused with 503 and Retry-After, in every second of the overload':
        Array.from({ length: OVERLOAD_S }, (_, second) => bySecond[second]?.[1] ?? 0).every((n) => n > 0) &&
        refused.every(([, , , retry]) => retry === 1),
      '2xx during overload ≥ ¼ of the sustainable rate': served.length / OVERLOAD_S >= sustainable / 4,
      'p99 of the 2xx ≤ 3 s and of the 503s ≤ 3 s (queue bound 1 s)':
        p99(served) <= 3_000 && p99(refused) <= 3_000,
      'RSS per worker grows ≤ 100 MB, and ≤ 32 MB in the second half': growthMb <= 100 && lateGrowthMb <= 32,
      'normal (quick 2xx only) within 5 s after': recoverMs <= 5_000,
      '0 acknowledged writes lost, none half-applied': writes.lost === 0 && writes.halfApplied === 0,
    };
    record(
      {
        fault: `overload: ${Math.round(sustainable * 4)} req/s for ${OVERLOAD_S} s, 4× the sustainable ${Math.round(sustainable)} req/s, then ${Math.round(sustainable / 2)} req/s for 8 s`,
        ...tally(run.samples.map(toRecord)),
        detectMs: firstRefusal ? firstRefusal[0] + firstRefusal[1] : null,
        recoverMs,
        acknowledgedWrites: writes.acknowledged,
        lost: writes.lost,
      },
      checks,
      JSON.stringify(summary),
      `2xx ${Math.round(served.length / OVERLOAD_S)} req/s, p99 2xx ${Math.round(p99(served))} ms, ` +
        `p99 503 ${Math.round(p99(refused))} ms, RSS +${Math.round(growthMb)} MB ` +
        `(+${Math.round(lateGrowthMb)} MB in the second half), generator ${Math.round(run.self.cpuShare * 100)} % of a core`,
    );
  }, 180_000);
});

describe('a rolling restart', () => {
  it('a second server takes over while the first drains on SIGTERM behind a balancer: no request fails', async () => {
    const db = await startFaultDatabase(MAX_CONNECTIONS);
    // Two servers share the database: each plans its pools for two replicas.
    const env = { TRUST_PROXY: '1', DB_MAX_CONNECTIONS: String(MAX_CONNECTIONS), SERVER_REPLICAS: '2' };
    const first = await startServer(db.url('plumb'), env);
    const balancer = await startBalancer([first.base]);
    let second: ServerProcess | undefined;
    try {
      const traffic = await startTraffic(balancer.base, { concurrency: CONCURRENCY });
      const readiness = watchReadiness(first.base);
      await sleep(2_000);
      second = await startServer(db.url('plumb'), env);
      balancer.add(second.base);
      await sleep(1_000);
      const began = performance.now();
      const exitCode = await first.stop('SIGTERM');
      const ended = performance.now();
      await sleep(2_000);
      await traffic.stop();
      await readiness.stop();
      const writes = await checkWrites(db.url('plumb'), traffic.writes);
      const counts = tally(traffic.requests);
      const notReady = readiness.firstAfter(began, (code) => code !== 200);
      const checks = {
        'no failed request': counts.sent > 0 && counts.succeeded === counts.sent,
        'the first server exits 0 after its drain': exitCode === 0,
        '0 acknowledged writes lost': writes.lost === 0,
      };
      const missed = Object.entries(checks)
        .filter(([, ok]) => !ok)
        .map(([check]) => check);
      results.push({
        fault: 'rolling restart: a second server starts, the first drains on SIGTERM (loopback balancer)',
        ...counts,
        detectMs: notReady === undefined ? null : notReady - began,
        recoverMs: ended - began,
        acknowledgedWrites: writes.acknowledged,
        lost: writes.lost,
        target: Object.keys(checks).join('; '),
        met: missed.length === 0,
      });
      expect(missed, JSON.stringify(counts.failed)).toEqual([]);
    } finally {
      await balancer.close();
      await first.stop();
      await second?.stop();
      await db.close();
    }
  }, 120_000);
});

describe.runIf(hasPodman() || process.env.CI === 'true')('container faults', () => {
  let db: FaultDatabase;
  const containers: string[] = [];
  const image = (layer: 'server' | 'client') => `localhost/plumb-${layer}:faults`;

  beforeAll(async () => {
    if (!hasPodman()) throw new Error('podman is required under CI=true (Debian: apt-get install podman)');
    usePodmanSettings();
    await ensureBaseImages();
    // The image suite has usually just built them: the layer cache makes this quick.
    for (const layer of ['server', 'client'] as const) await buildImage(layer, image(layer));
    db = await startFaultDatabase(MAX_CONNECTIONS);
  }, 1_800_000);

  afterAll(async () => {
    for (const container of containers) await podmanResult(['rm', '--force', '--time', '0', container]);
    await db?.close();
  });

  it('the server container with its /tmp full (read-only root): still healthy and serving, truthfully', async () => {
    const port = await freePort();
    const name = `plumb-faults-${process.pid}-full-tmp`;
    containers.push(name);
    await podman(
      runArgs('server', image('server'), {
        name,
        tmpSize: '1m',
        env: { DATABASE_URL: db.url('plumb'), PORT: `${port}`, HOST: '127.0.0.1', WEB_CONCURRENCY: '2' },
      }),
    );
    const base = `http://127.0.0.1:${port}`;
    await recovered(base, 30_000);
    const fill = await podmanResult([
      'exec',
      name,
      'sh',
      '-c',
      'head -c 4000000 /dev/zero > /tmp/fill; df -k /tmp | tail -1',
    ]);
    const full = /\s100%\s/.test(fill.stdout);
    const traffic = await startTraffic(base, { concurrency: CONCURRENCY });
    await sleep(3_000);
    await traffic.stop();
    const writes = await checkWrites(db.url('plumb'), traffic.writes);
    const counts = tally(traffic.requests);
    const health = [await httpStatus(`${base}/healthz`), await httpStatus(`${base}/readyz`)];
    const checks = {
      '/tmp is full (1 MiB tmpfs)': full,
      '/healthz and /readyz answer 200 (nothing needs /tmp)': health.join() === '200,200',
      'every request succeeds, 0 writes lost': counts.succeeded === counts.sent && writes.lost === 0,
    };
    recordChecks(
      'server container: read-only root, /tmp (1 MiB tmpfs) filled up',
      counts,
      checks,
      '',
      writes,
    );
  });

  it('the client container with its API_UPSTREAM unreachable: healthy itself, 503 JSON for the API, a clear log line', async () => {
    const port = await freePort();
    const upstream = await freePort(); // nothing listens there
    const name = `plumb-faults-${process.pid}-no-upstream`;
    containers.push(name);
    await podman(
      runArgs('client', image('client'), {
        name,
        env: { PORT: `${port}`, API_UPSTREAM: `127.0.0.1:${upstream}` },
      }),
    );
    const base = `http://127.0.0.1:${port}`;
    await waitForStatus(`${base}/healthz`, 200, { timeoutMs: 10_000, describe: () => containerLogs(name) });
    const api = await fetch(`${base}/api/info`);
    const body = (await api.json().catch(() => ({}))) as { error?: { code?: string } };
    const logs = await containerLogs(name);
    const checks = {
      'its own /healthz answers 200 (nginx runs; the app is served)':
        (await httpStatus(`${base}/healthz`)) === 200,
      '/api/ answers 503 api_unavailable with Retry-After':
        api.status === 503 && api.headers.has('retry-after') && body.error?.code === 'api_unavailable',
      'the log names the refused upstream':
        logs.includes('Connection refused') && logs.includes(`127.0.0.1:${upstream}`),
    };
    recordChecks(
      'client container: API_UPSTREAM unreachable',
      { sent: 1, succeeded: 0, failed: { '503': 1 } },
      checks,
    );
  });
});

describe('hostile input at scale', () => {
  it(`the API's property tests with ${FUZZ_RUNS.toLocaleString('en')} generated bad requests per route: never a 5xx, no row changed`, async () => {
    const report = join(tmpdir(), `plumb-fuzz-${process.pid}.json`);
    const run = spawnSync(
      process.execPath,
      [
        join(repoRoot, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--project',
        'server',
        'server/src/routes/hostile-input.test.ts',
        '--reporter=json',
        `--outputFile=${report}`,
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, FUZZ_RUNS: String(FUZZ_RUNS) },
        encoding: 'utf8',
        timeout: 1_200_000,
      },
    );
    const outcome = JSON.parse(await readFile(report, 'utf8').catch(() => '{}')) as {
      numTotalTests?: number;
      numPassedTests?: number;
      testResults?: { assertionResults: { title: string; status: string }[] }[];
    };
    await rm(report, { force: true });
    const properties = (outcome.testResults ?? [])
      .flatMap((file) => file.assertionResults)
      .filter((test) => test.title.includes(String(FUZZ_RUNS)));
    const passed = properties.filter((test) => test.status === 'passed').length;
    const checks = {
      [`every property (${properties.length}) held for ${FUZZ_RUNS} cases`]:
        properties.length >= 8 && passed === properties.length,
      'the whole hostile-input file passed':
        run.status === 0 && outcome.numPassedTests === outcome.numTotalTests,
    };
    recordChecks(
      `hostile input: ${FUZZ_RUNS.toLocaleString('en')} generated bad requests on each of ${properties.length} routes and queries`,
      { sent: properties.length * FUZZ_RUNS, succeeded: passed * FUZZ_RUNS, failed: {} },
      checks,
      run.stderr.slice(-2_000),
    );
  }, 1_500_000);

  it('oversized headers, slow uploads and 1,000 rapid sign-ins: refused, cut, limited; others keep being served', async () => {
    const db = await startFaultDatabase(MAX_CONNECTIONS);
    const server = await startServer(db.url('plumb'), {
      REQUEST_TIMEOUT_MS: '3000',
      AUTH_RATE_LIMIT_IP_MAX: '30',
    });
    try {
      const target = new URL(server.base);
      const victim = httpClient(server.base);
      const account = await victim.signup();
      const traffic = await startTraffic(server.base, { concurrency: 4, accounts: 2 });
      // 1. Headers over Node's 16 KB limit: 431, the connection closed.
      const huge = await rawRequest(
        target,
        `GET /api/notes HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
      );
      // 2. Twenty slow uploads that dribble one byte a second: cut within REQUEST_TIMEOUT_MS (3 s here).
      const slow = await Promise.all(Array.from({ length: 20 }, () => slowUpload(target, 10_000)));
      // 3. 1,000 rapid sign-in attempts with wrong passwords from one address.
      const attempts = await Promise.all(
        Array.from({ length: 1_000 }, () =>
          fetch(`${server.base}/api/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', origin: server.base },
            body: JSON.stringify({ email: account.email, password: 'wrong password, again' }),
          }).then((response) => response.status),
        ),
      );
      await traffic.stop();
      const writes = await checkWrites(db.url('plumb'), traffic.writes);
      const counts = tally(traffic.requests);
      const byStatus = (code: number) => attempts.filter((s) => s === code).length;
      const others = attempts.filter((code) => code !== 401 && code !== 429);
      const otherNote =
        others.length > 0 ? ` (also ${others.length} × ${[...new Set(others)].join('/')})` : '';
      // The account still signs in with its own password once the window has passed? Its session works now.
      const stillIn = (await victim.request('/api/auth/me')).status;
      const checks = {
        'oversized headers: 431': huge.startsWith('HTTP/1.1 431'),
        [`20 slow uploads cut (408) within REQUEST_TIMEOUT_MS (3 s) + 3 s (slowest ${Math.round(Math.max(...slow))} ms)`]:
          slow.every((ms) => ms <= 6_000),
        [`sign-ins: ${byStatus(401)} × 401 then ${byStatus(429)} × 429, no 5xx${otherNote}`]:
          byStatus(429) >= 900 && others.length === 0,
        'others kept being served: every request succeeded, 0 writes lost':
          counts.succeeded === counts.sent && writes.lost === 0,
        "the account's own session is untouched": stillIn === 200,
      };
      recordChecks(
        'oversized headers, 20 slow uploads, 1,000 rapid wrong sign-ins, beside normal traffic',
        counts,
        checks,
        '',
        writes,
      );
    } finally {
      await server.stop();
      await db.close();
    }
  }, 180_000);
});

/** Sends raw bytes and returns what came back before the server closed the connection. */
function rawRequest(target: URL, text: string): Promise<string> {
  return new Promise((done) => {
    const socket = connect(Number(target.port), target.hostname, () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('close', () => done(answer));
    socket.on('error', () => done(answer));
    socket.setTimeout(10_000, () => socket.destroy());
  });
}

/** A POST whose body arrives a byte a second; resolves to how long the server let it hang on. */
function slowUpload(target: URL, maxMs: number): Promise<number> {
  return new Promise((done) => {
    const started = performance.now();
    const socket = connect(Number(target.port), target.hostname, () => {
      socket.write(
        'POST /api/notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
      );
    });
    const drip = setInterval(() => socket.write(' '), 1_000);
    const finish = () => {
      clearInterval(drip);
      done(performance.now() - started);
    };
    socket.on('close', finish);
    socket.on('error', () => socket.destroy());
    socket.setTimeout(maxMs, () => socket.destroy());
  });
}

describe('a migration that fails halfway', () => {
  it('fails, leaves nothing of itself, the server reports the schema behind, and a fixed run succeeds', async () => {
    const db = await startFaultDatabase(20);
    const dir = await mkdtemp(join(tmpdir(), 'plumb-broken-migrations-'));
    try {
      await cp(join(repoRoot, 'db/migrations'), dir, { recursive: true });
      const [last = ''] = (await listMigrations(dir)).slice(-1);
      const next = Number(last.slice(0, 3)) + 1;
      const name = (n: number, what: string) => `${String(n).padStart(3, '0')}-${what}`;
      await writeFile(
        join(dir, `${name(next, 'fault-first')}.ts`),
        'export async function up(sql) { await sql`create table fault_first (id int)`; }\n',
      );
      const broken = join(dir, `${name(next + 1, 'fault-second')}.ts`);
      await writeFile(
        broken,
        'export async function up(sql) {\n' +
          '  await sql`create table fault_second (id int)`;\n' +
          '  await sql`insert into fault_second values (1)`;\n' +
          '  await sql`select * from no_such_table`;\n' +
          '}\n',
      );
      const url = db.url('plumb');
      // Each run is its own process, as a release's migration job is.
      const failed = runMigrations(url, dir);
      expect(failed.status).not.toBe(0);
      expect(failed.stderr).toMatch(/no_such_table/);
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      const pool = createDatabase({ url, max: 2 });
      const app = createApp({
        db: pool,
        logger: createLogger('silent'),
        info: { name: 'plumb', version: 'faults', gitSha: null },
        knownMigrations: await listMigrations(dir),
      });
      try {
        const [tables] = await sql<{ first: string | null; second: string | null }[]>`
          select to_regclass('fault_first')::text as first, to_regclass('fault_second')::text as second`;
        const applied = (await sql<{ name: string }[]>`select name from schema_migrations`).map(
          (row) => row.name,
        );
        // The first new migration is in; nothing of the broken one: not its table, not its record.
        expect(tables).toEqual({ first: 'fault_first', second: null });
        expect(applied).toContain(name(next, 'fault-first'));
        expect(applied).not.toContain(name(next + 1, 'fault-second'));
        const behind = await app.request('/readyz');
        expect(behind.status).toBe(503);
        expect(await behind.json()).toMatchObject({ reason: 'migrations-pending' });

        await writeFile(
          broken,
          (await readFile(broken, 'utf8')).replace('select * from no_such_table', 'select 1'),
        );
        const fixed = runMigrations(url, dir);
        expect(fixed.status, fixed.stderr).toBe(0);
        expect(JSON.parse(fixed.stdout)).toEqual([name(next + 1, 'fault-second')]);
        expect((await app.request('/readyz')).status).toBe(200);
        const [row] = await sql<{ n: number }[]>`select count(*)::int as n from fault_second`;
        expect(row?.n).toBe(1);
      } finally {
        await sql.end();
        await pool.end();
      }
      results.push({
        fault: 'a migration fails halfway (a test-only migration folder)',
        sent: 0,
        succeeded: 0,
        failed: {},
        detectMs: null,
        recoverMs: null,
        acknowledgedWrites: 0,
        lost: 0,
        target:
          'the run fails; the failed migration leaves nothing; /readyz 503 migrations-pending; a fixed run applies it',
        met: true,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
      await db.close();
    }
  }, 120_000);
});
