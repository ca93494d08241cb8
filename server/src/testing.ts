/**
 * @module Test helpers for the API: an app on a database of its own, a client that keeps a session
 * cookie, and the server as a real process (the one harness the process, fault and image suites share).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listMigrations } from '@plumb/db';
import { freePort } from '@plumb/db/embedded';
import { createTestDatabase, type TestDatabase } from '@plumb/db/testing';
import { type AppConfig, type AppDeps, createApp, defaultAppConfig } from '#src/app.ts';
import { createDatabase, type Database } from '#src/database.ts';
import { createAppServer } from '#src/listener.ts';
import { createLogger, type Logger } from '#src/logger.ts';
import { admission } from '#src/middleware/admission/index.ts';

export interface TestApp {
  app: ReturnType<typeof createApp>;
  db: Database;
  database: TestDatabase;
  /** A client with its own cookie jar (one session). */
  client(): TestClient;
  /**
   * Serves the app over HTTP on 127.0.0.1 through the server's own listener (the edge and the
   * door, as in production); returns its base URL. Closed by `close()`.
   */
  serve(): Promise<string>;
  close(): Promise<void>;
}

export interface TestClient {
  request(
    path: string,
    init?: { method?: string; json?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  /** Signs up (and so in) a new account; returns it. */
  signup(email?: string, password?: string): Promise<{ id: string; email: string; password: string }>;
  cookie(): string | undefined;
}

let counter = 0;
export const uniqueEmail = (prefix = 'user') =>
  `${prefix}-${process.pid}-${Date.now()}-${++counter}@example.test`;
export const PASSWORD = 'correct horse battery staple';

/** Rate limits high enough that only the tests about them meet them. */
export const relaxedConfig: AppConfig = {
  ...defaultAppConfig,
  rateLimit: { windowSeconds: 60, ipMax: 1_000_000, accountMax: 1_000_000 },
};

export async function createTestApp(
  config: AppConfig = relaxedConfig,
  /** What the app is given instead of the pool itself (a wrapper that counts statements, say). */
  wrap: (db: Database) => Database = (db) => db,
  /** More of what `createApp` is given (an admission gate the test holds, say). */
  deps: Partial<AppDeps> = {},
): Promise<TestApp> {
  const database = await createTestDatabase();
  const db = createDatabase({ url: database.url, max: 5 });
  const logger = deps.logger ?? createLogger('silent');
  const gate = deps.admission ?? admission(config.admission);
  const app = createApp({
    db: wrap(db),
    logger,
    info: { name: 'plumb', version: '0.0.0-test', gitSha: null },
    knownMigrations: await listMigrations(),
    config,
    ...deps,
    admission: gate,
  });

  const client = () => cookieClient((path, init) => app.request(path, init));
  const servers: Listening[] = [];

  return {
    app,
    db,
    database,
    client,
    async serve() {
      const served = await listenOnLoopback(createAppServer(app, { logger, config, admission: gate }));
      servers.push(served);
      return served.base;
    },
    async close() {
      for (const served of servers) await served.close();
      await db.end();
      await database.drop();
    },
  };
}

/** A logger whose lines a test reads, each parsed. */
export function memoryLogger(level: 'info' | 'debug' = 'info'): {
  logger: Logger;
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

export interface Listening {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Stops the server, cutting kept-alive connections. */
  close(): Promise<void>;
}

/** Starts `server` on 127.0.0.1 on a free port. */
export async function listenOnLoopback(server: Server): Promise<Listening> {
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((closed) => server.close(closed));
    },
  };
}

/**
 * A client with a cookie jar over any way of sending a request: the app in-process
 * (`createTestApp().client()`) or a running server over HTTP (`httpClient(base)`).
 */
export function cookieClient(
  send: (path: string, init: RequestInit) => Response | Promise<Response>,
): TestClient {
  let cookie: string | undefined;
  const request: TestClient['request'] = async (path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(init.json);
    }
    const response = await send(path, { method: init.method ?? 'GET', headers, body });
    const set = response.headers.get('set-cookie');
    if (set) {
      const [pair] = set.split(';');
      cookie = pair && !/=\s*$/.test(pair) && !/Max-Age=0/i.test(set) ? pair : undefined;
    }
    return response;
  };
  return {
    request,
    cookie: () => cookie,
    async signup(email = uniqueEmail(), password = PASSWORD) {
      const response = await request('/api/auth/signup', { method: 'POST', json: { email, password } });
      if (response.status !== 201)
        throw new Error(`signup failed: ${response.status} ${await response.text()}`);
      const account = (await response.json()) as { id: string; email: string };
      return { ...account, password };
    },
  };
}

/** A cookie-keeping client of a server (or the client's nginx) at `base`, as a browser on that origin. */
export const httpClient = (base: string): TestClient =>
  cookieClient((path, init) =>
    fetch(new URL(path, base), {
      ...init,
      headers: { origin: base, ...(init.headers as Record<string, string>) },
    }),
  );

/** The HTTP status `url` answers, or 0 when nothing answered within `timeoutMs`. */
export const httpStatus = (url: string, timeoutMs = 2_000): Promise<number> =>
  fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then(
    async (response) => {
      await response.arrayBuffer();
      return response.status;
    },
    () => 0,
  );

/**
 * Polls `url` every 50 ms until it answers `status`; returns the milliseconds that took. Gives up
 * after `timeoutMs`, or as soon as `stop()` says there is no point (a process that exited), with
 * `describe()` (its log, say) in the error.
 */
export async function waitForStatus(
  url: string,
  status: number,
  options: { timeoutMs?: number; stop?: () => boolean; describe?: () => Promise<string> | string } = {},
): Promise<number> {
  const started = performance.now();
  const deadline = started + (options.timeoutMs ?? 30_000);
  for (;;) {
    const got = await httpStatus(url);
    if (got === status) return performance.now() - started;
    if (performance.now() > deadline || options.stop?.()) {
      throw new Error(
        `${url} did not answer ${status} (last: ${got || 'no answer'})\n${(await options.describe?.()) ?? ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Waits until `output()` holds `count` matches of `pattern` (a log line, say), checking every 10 ms;
 * throws with the output after `timeoutMs`.
 */
export async function waitForMatches(
  output: () => string,
  pattern: RegExp,
  count: number,
  timeoutMs = 10_000,
): Promise<void> {
  const global = new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`);
  const deadline = performance.now() + timeoutMs;
  while ((output().match(global) ?? []).length < count) {
    if (performance.now() > deadline) throw new Error(`${count} × ${pattern} did not come:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface ServerProcess {
  base: string;
  process: ChildProcess;
  /** The cluster's worker processes (none when one worker runs without a primary). */
  workers(): number[];
  /** What it printed (the last 50 MB). */
  logs(): string;
  /** Sends `signal` and waits for the exit; resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the server as its own process on a free loopback port (`entry`: `server/src/main.ts`, or
 * the bundle `server/dist/bin/server.js`) and waits until /readyz answers 200.
 */
export async function startServerProcess(options: {
  entry: string;
  env: Record<string, string>;
  timeoutMs?: number;
}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [options.entry], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk).slice(-50_000_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForStatus(`${base}/readyz`, 200, {
      timeoutMs: options.timeoutMs ?? 20_000,
      stop: () => child.exitCode !== null,
      describe: () => `the server did not start:\n${output}`,
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    base,
    process: child,
    workers: () => (child.pid ? childrenOf(child.pid) : []),
    logs: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

/** The pids whose parent is `pid` (Linux /proc). */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === pid) children.push(Number(entry));
    } catch {}
  }
  return children;
}

/** A process's resident memory (Linux /proc), in MB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}
