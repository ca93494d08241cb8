/**
 * The real server process on a real database, over loopback: cluster and single-worker modes,
 * drain under load, a killed worker replaced. Bounded in time; traffic only to 127.0.0.1.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, get, request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '@plumb/db/embedded';
import { createTestDatabase, type TestDatabase } from '@plumb/db/testing';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { detectResources } from '#src/sizing/index.ts';
import { childrenOf, rssMb, type ServerProcess, startServerProcess, waitForMatches } from '#src/testing.ts';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const servers: ServerProcess[] = [];

/** The server from its source (main.ts) on `db`; killed after each test. */
async function startServer(db: TestDatabase, env: Record<string, string>) {
  const server = await startServerProcess({
    entry: main,
    env: { DATABASE_URL: db.url, LOG_LEVEL: 'info', ...env },
  });
  servers.push(server);
  return { child: server.process, base: server.base, output: server.logs };
}

const workerPids = childrenOf;

/** Resolves once `count` workers have said they listen since the start (replacements count too). */
const listeningWorkers = (output: () => string, count: number) =>
  waitForMatches(output, /"msg":"listening"/, count);

/**
 * Runs the server with only `env` (and PATH) until it exits by itself (killed after 10 s): its exit
 * code (null when killed) and what it printed.
 */
async function runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

/** SHUTDOWN_DELAY_MS in the drain tests. */
const DRAIN_DELAY_MS = 400;

/** A server for the drain tests (delay {@link DRAIN_DELAY_MS}, timeout 5 s), and a signed-in cookie. */
async function serverToDrain(db: TestDatabase, workers: string) {
  const server = await startServer(db, {
    WEB_CONCURRENCY: workers,
    SHUTDOWN_DELAY_MS: String(DRAIN_DELAY_MS),
    SHUTDOWN_TIMEOUT_MS: '5000',
  });
  return { ...server, cookie: await signedInCookie(server.base) };
}

async function signedInCookie(base: string, email = `load-${Date.now()}-${Math.random()}@example.test`) {
  const response = await fetch(`${base}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'load test password' }),
  });
  if (response.status !== 201) throw new Error(`signup: ${response.status}`);
  return (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

/** The status of a GET on a connection of its own, or why there was none ("timeout", "ECONNRESET"). */
function statusOnNewConnection(
  url: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: timeoutMs, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(String(response.statusCode)));
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    request.on('error', (error: { code?: string }) => resolve(error.code ?? String(error)));
  });
}

/**
 * Steady traffic from `loops` concurrent clients until `stop()`. With `readyz`, it behaves like a
 * load balancer: it checks readiness every 100 ms and sends no new request once the server says
 * it is not ready (what SHUTDOWN_DELAY_MS gives it time to notice).
 */
function steadyTraffic(url: string, cookie: string, loops: number, readyz?: string) {
  const counts = { ok: 0, failed: [] as string[] };
  let running = true;
  let routable = true;
  const balancer = readyz
    ? (async () => {
        while (running && routable) {
          const status = await fetch(readyz).then(
            (r) => r.status,
            () => 0,
          );
          if (status !== 200) routable = false;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })()
    : Promise.resolve();
  const loop = async () => {
    while (running && routable) {
      try {
        // A connection handed to a worker as it is killed can hang: a client gives up after 5 s.
        const response = await fetch(url, { headers: { cookie }, signal: AbortSignal.timeout(5_000) });
        await response.arrayBuffer();
        if (response.status === 200) counts.ok++;
        else counts.failed.push(`status ${response.status}`);
      } catch (error) {
        counts.failed.push((error as { cause?: { code?: string } }).cause?.code ?? String(error));
      }
    }
  };
  const done = Promise.all([balancer, ...Array.from({ length: loops }, loop)]);
  return {
    counts,
    stop: async () => {
      running = false;
      await done;
    },
    done,
  };
}

describe('the server process', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterEach(() => {
    for (const server of servers.splice(0)) server.process.kill('SIGKILL');
  });
  afterAll(() => db.drop());

  it('runs a primary with WEB_CONCURRENCY workers, each with the decided heap, and reports its sizing', async () => {
    const { child, base } = await startServer(db, {
      WEB_CONCURRENCY: '2',
      MEMORY_LIMIT: '2Gi',
      CPU_LIMIT: '2',
    });
    const info = (await (await fetch(`${base}/api/info`)).json()) as {
      sizing: { detected: { cpu: number; memoryBytes: number }; semiSpaceMb: number; heapMb: number };
    };
    expect(info.sizing).toMatchObject({
      cpu: 2,
      memoryBytes: 2 * 1024 ** 3,
      workers: 2,
      poolMax: 10,
      source: { cpu: 'CPU_LIMIT', memory: 'MEMORY_LIMIT', workers: 'WEB_CONCURRENCY', poolMax: 'budget' },
    });
    // What the overrides replaced is shown too: this machine's own numbers.
    const { cpu, memoryBytes } = detectResources();
    expect(info.sizing.detected).toEqual({ cpu, memoryBytes });
    const pids = workerPids(child.pid as number);
    expect(pids).toHaveLength(2);
    // /metrics answers for the listening workers, whichever one serves it (the other may still be
    // loading: it is not asked; the test below has a worker die while it is asked).
    for (let i = 0; i < 10; i++) await (await fetch(`${base}/healthz`)).arrayBuffer();
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^http_requests_total\{method="GET",route="\/healthz",status="200"\} 10$/m);
    expect(info.sizing.semiSpaceMb).toBe(8); // 1000 MiB per worker
    for (const pid of pids) {
      const args = execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
      expect(args).toContain(`--max-old-space-size=${info.sizing.heapMb}`);
      expect(args).toContain('--max-semi-space-size=8 --min-semi-space-size=8');
    }
  });

  it('runs one worker without a primary: the same pid, re-executed once with its heap flag', async () => {
    // 2 GiB for one worker: 32 MiB semi-spaces (8 below 1 GiB, 16 from 1 GiB, 32 from 2).
    const { child, base } = await startServer(db, { WEB_CONCURRENCY: '1', MEMORY_LIMIT: '2Gi' });
    const info = (await (await fetch(`${base}/api/info`)).json()) as {
      sizing: { workers: number; heapMb: number; semiSpaceMb: number };
    };
    expect(info.sizing).toMatchObject({ workers: 1, heapMb: 512, semiSpaceMb: 32 });
    expect(workerPids(child.pid as number)).toEqual([]); // no cluster workers
    const args = execFileSync('ps', ['-o', 'args=', '-p', String(child.pid)], { encoding: 'utf8' });
    expect(args).toContain('--max-old-space-size=512 --max-semi-space-size=32 --min-semi-space-size=16');
  });

  it('gives its memory back when a busy spell ends', { timeout: 120_000 }, async () => {
    // 2 GiB for one worker: a young generation that grows to two 32 MiB semi-spaces under load.
    const { child, base } = await startServer(db, { WEB_CONCURRENCY: '1', MEMORY_LIMIT: '2Gi' });
    const cookie = await signedInCookie(base);
    // 12 s at 64 connections: without memory-trim.ts a worker keeps ~180 MB after it (ADR 030).
    const traffic = steadyTraffic(`${base}/api/notes?limit=20`, cookie, 64);
    await sleep(12_000);
    await traffic.stop();
    const busyMb = rssMb(child.pid as number);
    // V8's memory reducer, or after 30 s of quiet the worker's own collection, gives it back.
    let quietMb = busyMb;
    for (let i = 0; i < 60 && quietMb > busyMb - 40; i++) {
      await sleep(1_000);
      quietMb = rssMb(child.pid as number);
    }
    expect(quietMb, `RSS ${busyMb} MB busy → ${quietMb} MB quiet`).toBeLessThanOrEqual(busyMb - 40);
    expect(traffic.counts.failed).toEqual([]);
  });

  it.each([
    // Both limits the operator's: not re-executed at all.
    ['--max-old-space-size=300 --max-semi-space-size=4', 300, 4, null],
    // The semi-space is left to the server: it re-executes itself with it.
    ['--max-old-space-size=300', 300, 32, '--max-semi-space-size=32 --min-semi-space-size=16'],
  ])(
    "reports the heap an operator's NODE_OPTIONS=%s sets, which V8 runs with, and says so",
    async (nodeOptions, heapMb, semiSpaceMb, flags) => {
      const { child, base, output } = await startServer(db, {
        WEB_CONCURRENCY: '1',
        MEMORY_LIMIT: '2Gi',
        NODE_OPTIONS: nodeOptions,
      });
      const info = (await (await fetch(`${base}/api/info`)).json()) as {
        sizing: { heapMb: number; semiSpaceMb: number; source: { heap?: string } };
      };
      expect(info.sizing).toMatchObject({ heapMb, semiSpaceMb, source: { heap: 'NODE_OPTIONS' } });
      const args = execFileSync('ps', ['-o', 'args=', '-p', String(child.pid)], { encoding: 'utf8' });
      expect(args).not.toContain('--max-old-space-size');
      if (flags === null) expect(args).not.toContain('-space-size');
      else expect(args).toContain(flags);
      expect(output()).toContain(
        `NODE_OPTIONS sets the heap: running with ${heapMb} MiB (semi-spaces ${semiSpaceMb} MiB), not the decided 512 (32)`,
      );
    },
  );

  it("warns once, from the first worker, when the database's max_connections is below the budget's peak", async () => {
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    const [{ max_connections: actual = '' } = {}] = await sql<
      { max_connections: string }[]
    >`show max_connections`;
    await sql.end();
    // Replicas of two workers, with pools of 10 planned for a cap far above the database's.
    const replicas = Math.ceil(Number(actual) / 40) + 1;
    const peak = replicas * 2 * 2 * 10 + 7;
    const { output } = await startServer(db, {
      WEB_CONCURRENCY: '2',
      SERVER_REPLICAS: String(replicas),
      DB_MAX_CONNECTIONS: String(peak + 1000),
      MEMORY_LIMIT: '2Gi',
    });
    const warning = new RegExp(
      `"level":"warn",[^\\n]*"msg":"The pools and jobs may open ${peak} connections [^\\n]*max_connections is ${actual}: raise max_connections, or set DB_MAX_CONNECTIONS=${actual},`,
    );
    await waitForMatches(output, warning, 1);
    await listeningWorkers(output, 2);
    await sleep(300);
    expect(output().match(new RegExp(warning.source, 'g'))).toHaveLength(1);
  });

  it('decides the heap flag of one worker before the application loads: one boot of it, one sizing line', async () => {
    // No MEMORY_LIMIT and plain numbers only: main.ts decides without loading the application.
    const { child, base, output } = await startServer(db, { WEB_CONCURRENCY: '1', DB_MAX_CONNECTIONS: '50' });
    const info = (await (await fetch(`${base}/api/info`)).json()) as {
      sizing: { workers: number; heapMb: number; poolMax: number };
    };
    expect(info.sizing.workers).toBe(1);
    // Re-executed with the decided heap.
    const args = execFileSync('ps', ['-o', 'args=', '-p', String(child.pid)], { encoding: 'utf8' });
    expect(args).toContain(`--max-old-space-size=${info.sizing.heapMb}`);
    // The application logged its sizing once: it did not load, decide and log before the re-exec.
    expect(output().match(/"msg":"sizing: /g)).toHaveLength(1);
  });

  it('stops at once, exit 0, when told to while its workers are still starting', async () => {
    const child = spawn(process.execPath, [main], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: db.url,
        PORT: String(await freePort()),
        WEB_CONCURRENCY: '2',
        SHUTDOWN_DELAY_MS: '0',
        SHUTDOWN_TIMEOUT_MS: '1000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    const exited = once(child, 'exit');
    // Forked: the workers are loading the application, long before they listen.
    const deadline = Date.now() + 10_000;
    while (workerPids(child.pid as number).length < 2 && Date.now() < deadline) await sleep(5);
    const signalled = Date.now();
    child.kill('SIGTERM');
    const [code] = await exited;

    // Each worker stops as it is asked, starting or not (signals.test.ts has one asked mid-start);
    // the primary does not wait out SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS + 2 s, kill and exit 1.
    expect(code, output).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(2_000);
    expect(output).not.toMatch(/did not stop in time/);
  });

  it('refuses a bad environment, naming every bad variable, and exits non-zero without a stack trace', async () => {
    const { code, output } = await runToExit({
      DATABASE_URL: 'mysql://nope',
      PORT: '99999',
      LOG_LEVEL: 'loud',
    });
    expect(code).toBe(78);
    expect(output).toMatch(/DATABASE_URL: must be a postgres:\/\//);
    expect(output).toMatch(/PORT: /);
    expect(output).toMatch(/LOG_LEVEL: /);
    expect(output).not.toMatch(/\n\s+at /);
  });

  it('refuses more workers than its memory allows, before serving anything', async () => {
    const { code, output } = await runToExit({
      DATABASE_URL: db.url,
      WEB_CONCURRENCY: '16',
      MEMORY_LIMIT: '512Mi',
    });
    expect(code).toBe(78);
    expect(output).toMatch(
      /Cannot size the server: WEB_CONCURRENCY=16 needs more memory than the 512 MiB available/,
    );
  });

  it.each(['1', '2'])(
    'with WEB_CONCURRENCY=%s, refuses at once a port a running server of its own listens on, which goes on serving',
    async (workers) => {
      // Its workers share their port (SO_REUSEPORT, listen.ts): a second server sharing it too
      // would take half the connections without a word.
      const running = await startServer(db, { WEB_CONCURRENCY: '2' });
      const { port } = new URL(running.base);
      const started = performance.now();
      const second = await runToExit({
        DATABASE_URL: db.url,
        PORT: port,
        HOST: '127.0.0.1',
        WEB_CONCURRENCY: workers,
      });
      expect(performance.now() - started).toBeLessThan(5_000); // not after a crash loop of workers
      expect(second.code).toBe(1);
      expect(second.output).toContain(`port ${port} is already in use`);
      expect(second.output).not.toContain('worker died');
      for (let i = 0; i < 10; i++)
        expect(await statusOnNewConnection(`${running.base}/healthz`, 2_000)).toBe('200');
    },
  );

  it.each(['1', '2'])(
    'drains on SIGTERM with WEB_CONCURRENCY=%s: every accepted request completes, exit 0 in time',
    async (workers) => {
      const { child, base, output, cookie } = await serverToDrain(db, workers);
      const traffic = steadyTraffic(`${base}/api/notes?limit=20`, cookie, 8, `${base}/readyz`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const before = traffic.counts.ok;
      const signalled = Date.now();
      child.kill('SIGTERM');
      const exited = once(child, 'exit');
      await Promise.race([traffic.done, new Promise((resolve) => setTimeout(resolve, 8_000))]);
      await traffic.stop();
      const [code] = await exited;
      const tookMs = Date.now() - signalled;

      expect(traffic.counts.failed, output()).toEqual([]);
      expect(code).toBe(0);
      expect(traffic.counts.ok).toBeGreaterThan(before); // served while the balancer noticed
      expect(tookMs).toBeGreaterThanOrEqual(DRAIN_DELAY_MS);
      // Nothing is in flight once the balancer has stopped: no waiting out SHUTDOWN_TIMEOUT_MS.
      expect(tookMs).toBeLessThan(DRAIN_DELAY_MS + 2_000);
    },
  );

  it('finishes a download that was streaming at SIGTERM, then closes its idle connection and exits without waiting out the timeout', async () => {
    const { child, base, output } = await startServer(db, {
      WEB_CONCURRENCY: '1',
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '6000',
    });
    const email = `export-${Date.now()}@example.test`;
    const cookie = await signedInCookie(base, email);
    // ~17 MB of notes: more than loopback's socket buffers (at most ~4 MB to send and ~6 MB to
    // receive by Linux's defaults) hold while the client reads nothing.
    const body = 'pipes and valves '.repeat(5_000);
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    await sql`
      insert into notes (account_id, title, body)
      select id, 'Note ' || n, ${body} from accounts, generate_series(1, 200) as n where email = ${email}`;
    await sql.end();
    // One keep-alive connection. The export's head arrives before SIGTERM, so it carries no
    // `Connection: close`; the client reads nothing more until the server has been draining a while.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const response = await new Promise<IncomingMessage>((resolve, reject) =>
        get(`${base}/api/account/export`, { agent, headers: { cookie } }, resolve).on('error', reject),
      );
      response.pause();
      expect(response.statusCode).toBe(200);
      const socketClosed = once(response.socket, 'close');
      const signalled = Date.now();
      child.kill('SIGTERM');
      const exited = once(child, 'exit');
      await sleep(600); // the server has stopped listening and closed its idle connections by now
      expect(child.exitCode, 'the download must still be in flight here').toBeNull();
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.resume();
      await once(response, 'end');
      await socketClosed;
      const [code] = await exited;

      const exported = JSON.parse(text) as { notes: { title: string; body: string }[] };
      expect(exported.notes).toHaveLength(200);
      expect(exported.notes.every((note) => note.body === body)).toBe(true);
      expect(code, output()).toBe(0);
      // Below SHUTDOWN_TIMEOUT_MS: the connection, idle once the download ended, was closed rather
      // than waited for.
      expect(Date.now() - signalled).toBeLessThan(4_000);
    } finally {
      agent.destroy();
    }
  });

  it('answers 408 to a request whose head never ends, and drains then, not at SHUTDOWN_TIMEOUT_MS', async () => {
    // REQUEST_TIMEOUT_MS 2 s: the head within 2 s (10 s by default).
    const { child, base, output } = await startServer(db, {
      WEB_CONCURRENCY: '1',
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '15000',
      REQUEST_TIMEOUT_MS: '2000',
    });
    const socket = connect(Number(new URL(base).port), '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // no blank line: the head goes on
    const socketClosed = once(socket, 'close');
    await sleep(200);
    const signalled = Date.now();
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    await socketClosed;
    expect(code, output()).toBe(0);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(output()).not.toContain('still in flight');
    // Node's own head timeout ended it, as it does while the server is not draining.
    expect(Date.now() - signalled).toBeLessThan(10_000);
  });

  it.each(['1', '2'])(
    'drains with WEB_CONCURRENCY=%s under clients that ignore /readyz: every request it took is answered whole, an upload spanning the close too',
    async (workers) => {
      const { child, base, output, cookie } = await serverToDrain(db, workers);
      // Clients that send until the server refuses connections, each request with its own id.
      const answered = new Set<string>();
      const failed = new Map<string, string>();
      let sent = 0;
      const rude = async () => {
        let refusedInARow = 0;
        while (refusedInARow < 3 && !child.exitCode) {
          const id = `drain-${workers}-${sent++}`;
          try {
            const response = await fetch(`${base}/api/notes?limit=20`, {
              headers: { cookie, 'x-request-id': id },
              signal: AbortSignal.timeout(5_000),
            });
            const page = (await response.json()) as { items?: unknown[] };
            if (response.status === 200 && Array.isArray(page.items)) answered.add(id);
            else failed.set(id, `status ${response.status}`);
            refusedInARow = 0;
          } catch (error) {
            const code = (error as { cause?: { code?: string } }).cause?.code ?? String(error);
            failed.set(id, code);
            refusedInARow = code === 'ECONNREFUSED' ? refusedInARow + 1 : 0;
          }
        }
      };
      // An upload whose body is still coming when the server stops accepting connections.
      const body = JSON.stringify({ title: 'sent slowly', body: 'x'.repeat(2_000) });
      let finishUpload = () => {};
      const upload = new Promise<string>((resolve) => {
        const request = httpRequest(`${base}/api/notes`, {
          method: 'POST',
          agent: false,
          headers: { cookie, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        });
        request.on('response', (response) => {
          response.resume();
          response.on('end', () => resolve(`status ${response.statusCode}`));
        });
        request.on('error', (error: { code?: string }) => resolve(error.code ?? String(error)));
        request.write(body.slice(0, 100));
        finishUpload = () => request.end(body.slice(100));
      });
      const clients = Promise.all([rude(), rude(), rude(), rude()]);
      await sleep(300);
      const signalled = Date.now();
      child.kill('SIGTERM');
      const exited = once(child, 'exit');
      await sleep(DRAIN_DELAY_MS + 300); // past the close: the server no longer accepts connections
      const refusedMeanwhile = await statusOnNewConnection(`${base}/healthz`, 1_000);
      finishUpload();
      const [code] = await exited;
      const tookMs = Date.now() - signalled;
      await clients;

      expect(refusedMeanwhile).toBe('ECONNREFUSED'); // the upload did span the close
      expect(await upload, output()).toBe('status 201');
      expect(code, output()).toBe(0);
      expect(tookMs).toBeLessThan(DRAIN_DELAY_MS + 300 + 1_500); // did not wait out SHUTDOWN_TIMEOUT_MS
      // What the server took, it logged; each of those was answered whole.
      const taken = new Set(
        [...output().matchAll(/"requestId":"(drain-[^"]+)"/g)].map((match) => match[1] as string),
      );
      expect(answered.size).toBeGreaterThan(0);
      expect([...taken].filter((id) => !answered.has(id))).toEqual([]);
      // The rest never reached it: refused, or reset on a connection it had closed as idle.
      expect(
        [...new Set(failed.values())].filter((why) => !/ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET/.test(why)),
      ).toEqual([]);
    },
  );

  it('exits 0 soon after SHUTDOWN_TIMEOUT_MS with a request stuck in the database, with two workers', async () => {
    const { child, base, output } = await startServer(db, {
      WEB_CONCURRENCY: '2',
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '1000',
    });
    const cookie = await signedInCookie(base);
    const created = await fetch(`${base}/api/notes`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'locked', body: '' }),
    });
    const { id } = (await created.json()) as { id: string };
    // Another session holds the note's row: the change below waits for it until the drain ends it.
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    const locker = await sql.reserve();
    try {
      await locker`begin`;
      await locker`select id from notes where id = ${id} for update`;
      const stuck = fetch(`${base}/api/notes/${id}`, {
        method: 'PATCH',
        headers: { cookie, 'content-type': 'application/json', 'if-match': '"1"' },
        body: JSON.stringify({ title: 'changed' }),
      }).then(
        (response) => `status ${response.status}`,
        (error: { cause?: { code?: string } }) => error.cause?.code ?? String(error),
      );
      await sleep(300); // the change is waiting for the lock
      const signalled = Date.now();
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      const tookMs = Date.now() - signalled;

      // The primary allows SHUTDOWN_TIMEOUT_MS + 5 s; the worker's drain must end inside it.
      expect(code, output()).toBe(0);
      expect(tookMs).toBeLessThan(1_000 + 3_000);
      expect(await stuck).toMatch(/ECONNRESET|UND_ERR_SOCKET|other side closed/);
    } finally {
      await locker`rollback`.catch(() => {});
      locker.release();
      await sql.end();
    }
  });

  it('replaces a worker whose event loop stopped (SIGSTOP) after WORKER_STUCK_TIMEOUT_S, and leaves working ones alone', async () => {
    const { child, base, output } = await startServer(db, {
      WEB_CONCURRENCY: '2',
      WORKER_STUCK_TIMEOUT_S: '1',
    });
    await listeningWorkers(output, 2);
    await sleep(2_500); // more than twice the timeout: working workers answer the heartbeats
    expect(output()).not.toMatch(/worker stuck/);
    const [stopped, other] = workerPids(child.pid as number);
    process.kill(stopped as number, 'SIGSTOP');
    try {
      await waitForMatches(output, /worker stuck/, 1, 8_000);
      await listeningWorkers(output, 3); // its replacement
      expect(output()).toMatch(new RegExp(`"workerPid":${stopped}[^\\n]*worker stuck`));
      expect(workerPids(child.pid as number)).toContain(other);
      expect(workerPids(child.pid as number)).not.toContain(stopped);
      for (let i = 0; i < 10; i++) expect(await statusOnNewConnection(`${base}/healthz`, 2_000)).toBe('200');
    } finally {
      try {
        process.kill(stopped as number, 'SIGKILL'); // not left stopped if the watchdog did not act
      } catch {}
    }
  });

  it('replaces a worker killed with SIGKILL and keeps answering, the replacement too', async () => {
    const { child, base, output } = await startServer(db, { WEB_CONCURRENCY: '2' });
    await listeningWorkers(output, 2);
    const cookie = await signedInCookie(base);
    const [victim, survivor] = workerPids(child.pid as number);
    const traffic = steadyTraffic(`${base}/api/notes?limit=20`, cookie, 4);
    await sleep(200);
    process.kill(victim as number, 'SIGKILL');
    await listeningWorkers(output, 3);
    const okAtReplacement = traffic.counts.ok;
    await sleep(300);
    await traffic.stop();
    const replaced = workerPids(child.pid as number);
    const [replacement] = replaced.filter((pid) => pid !== survivor);

    expect(replaced).toHaveLength(2);
    expect(replaced).toContain(survivor);
    expect(replaced).not.toContain(victim);
    expect(traffic.counts.ok).toBeGreaterThan(okAtReplacement); // still answering afterwards
    // Only requests on the killed worker's connections may fail: per client loop, the one in flight
    // and one sent on a kept-alive connection to it before the client saw it close (fetch does not
    // retry that, as a browser or a proxy does).
    expect(traffic.counts.failed.length, JSON.stringify(traffic.counts.failed)).toBeLessThanOrEqual(8);
    expect(output()).toMatch(/worker died; replacing it/);
    // The kernel spreads new connections over the workers' sockets, the replacement's too (20: that
    // none reach it has a chance of 1 in a million).
    const ids = Array.from({ length: 20 }, (_, i) => `after-kill-${i}`);
    for (const id of ids) {
      expect(await statusOnNewConnection(`${base}/healthz?${id}`, 2_000, { 'x-request-id': id })).toBe('200');
    }
    const answeredBy = ids.map(
      (id) => new RegExp(`"pid":(\\d+)[^\\n]*"requestId":"${id}"`).exec(output())?.[1],
    );
    expect(answeredBy).toContain(String(replacement));
  });

  it('answers /metrics when a worker dies while the primary collects its metrics', async () => {
    const { child, base, output } = await startServer(db, { WEB_CONCURRENCY: '2' });
    await listeningWorkers(output, 2); // both are asked
    // The kernel spreads new connections over both workers' sockets (listen.ts): those that reach
    // the stopped worker wait and are reset when it dies; those that reach the live worker get its
    // /metrics, which waits for the stopped one until it dies. (24: that none reach the live
    // worker has a chance of 1 in 16 million.)
    const [stopped] = workerPids(child.pid as number);
    process.kill(stopped as number, 'SIGSTOP');
    let killedAt = Number.POSITIVE_INFINITY;
    const answers = Array.from({ length: 24 }, () =>
      statusOnNewConnection(`${base}/metrics`, 2_000).then((status) =>
        // An answer before the kill did not wait for the stopped worker: it was not asked.
        status === '200' && Date.now() < killedAt ? 'answered before the kill' : status,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    killedAt = Date.now();
    process.kill(stopped as number, 'SIGKILL');
    const statuses = await Promise.all(answers);
    expect(statuses.filter((status) => status === '200').length, statuses.join()).toBeGreaterThan(0);
    expect(
      statuses.filter((status) => status !== '200' && status !== 'ECONNRESET'),
      statuses.join(),
    ).toEqual([]);
  });
});
