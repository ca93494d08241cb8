/** @module Test helpers for the API: an app on a database of its own, and a client that keeps a session cookie. */
import { listMigrations } from '@plumb/db';
import { createTestDatabase, type TestDatabase } from '@plumb/db/testing';
import { type AppConfig, createApp, defaultAppConfig } from '#src/app.ts';
import { createDatabase, type Database } from '#src/database.ts';
import { createLogger } from '#src/logger.ts';

export interface TestApp {
  app: ReturnType<typeof createApp>;
  db: Database;
  database: TestDatabase;
  /** A client with its own cookie jar (one session). */
  client(): TestClient;
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

export async function createTestApp(config: AppConfig = relaxedConfig): Promise<TestApp> {
  const database = await createTestDatabase();
  const db = createDatabase({ url: database.url, max: 5 });
  const app = createApp({
    db,
    logger: createLogger('silent'),
    info: { name: 'plumb', version: '0.0.0-test', gitSha: null },
    knownMigrations: await listMigrations(),
    config,
  });

  const client = () => cookieClient((path, init) => app.request(path, init));

  return {
    app,
    db,
    database,
    client,
    async close() {
      await db.end();
      await database.drop();
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
