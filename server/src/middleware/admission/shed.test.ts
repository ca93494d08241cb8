import { createServer, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Context } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, defaultAppConfig } from '#src/app.ts';
import { createDatabase } from '#src/database.ts';
import { createAppServer } from '#src/listener.ts';
import { createLogger } from '#src/logger.ts';
import { admission } from '#src/middleware/admission/index.ts';
import { edge, edgeResponse, SECURITY_HEADERS } from '#src/middleware/edge/index.ts';
import { type Listening, listenOnLoopback } from '#src/testing.ts';

const ORIGIN = 'https://app.example.test';
/** Headers whose values differ by nature between two answers (names must still match). */
const VARYING = ['date', 'x-request-id'];

describe('shedding at the door while the admission queue is full', () => {
  // One slot, no queue, and the slot taken: every API request is refused.
  const config = {
    ...defaultAppConfig,
    corsOrigins: [ORIGIN],
    admission: { maxConcurrent: 1, maxQueued: 0, queueTimeoutMs: 1_000 },
  };
  const gate = admission(config.admission);
  // The database is never reached: postgres.js connects on the first query only.
  const db = createDatabase({ url: 'postgres://nobody@127.0.0.1:1/none' });
  const logger = createLogger('silent');
  const app = createApp({
    db,
    logger,
    info: { name: 'plumb', version: '0.0.0-test', gitSha: null },
    knownMigrations: [],
    config,
    admission: gate,
  });
  // The same app behind node:http twice: the server's listener, and the edge alone (no door: the
  // middleware refuses).
  const servers: Listening[] = [];
  let base: string;
  let withoutDoor: string;
  const listen = async (server: Server) => {
    const served = await listenOnLoopback(server);
    servers.push(served);
    return served.base;
  };

  beforeAll(async () => {
    void gate.middleware({} as Context, () => new Promise<void>(() => {}));
    base = await listen(createAppServer(app, { logger, config, admission: gate }));
    withoutDoor = await listen(
      createServer(
        { ServerResponse: edgeResponse(() => false) },
        edge({ logger, trustedProxies: 0 })(getRequestListener(app.fetch)),
      ),
    );
  });
  afterAll(async () => {
    for (const served of servers) await served.close();
    await db.end();
  });

  it('answers the middleware’s own 503 — status, body and every header — without it', async () => {
    expect(gate.full()).toBe(true);
    const init = { headers: { origin: ORIGIN } };
    const before = gate.stats().rejected;
    const fromApp = await fetch(`${withoutDoor}/api/notes`, init);
    expect(gate.stats().rejected).toBe(before + 1);
    const atDoor = await fetch(`${base}/api/notes`, init);
    expect(gate.stats().rejected).toBe(before + 2);

    expect(fromApp.status).toBe(503);
    expect(atDoor.status).toBe(503);
    expect(await atDoor.json()).toEqual(await fromApp.json());
    const all = (response: Response) =>
      Object.fromEntries(
        [...response.headers].map(([name, value]) => [name, VARYING.includes(name) ? '…' : value]),
      );
    expect(all(atDoor)).toEqual(all(fromApp));
    expect(atDoor.headers.get('retry-after')).toBe('1');
    expect(atDoor.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    for (const [name, value] of Object.entries(SECURITY_HEADERS))
      expect(atDoor.headers.get(name)).toBe(value);
    expect(atDoor.headers.get('cache-control')).toBe('no-store');
    expect(atDoor.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('tells a page from another origin nothing it may read', async () => {
    const response = await fetch(`${base}/api/notes`, { headers: { origin: 'https://evil.example.test' } });
    expect(response.status).toBe(503);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets health checks, metrics and CORS preflights through', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const preflight = await fetch(`${base}/api/notes`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    // A path that only starts like the API is not under admission control.
    expect((await fetch(`${base}/apiary`)).status).toBe(404);
  });

  it('refuses the API only while full', async () => {
    const free = admission({ maxConcurrent: 1, maxQueued: 0, queueTimeoutMs: 1_000 });
    expect(free.full()).toBe(false);
    let finish = () => {};
    const running = free.middleware({} as Context, () => new Promise<void>((done) => (finish = done)));
    expect(free.full()).toBe(true);
    finish();
    await running;
    expect(free.full()).toBe(false);
  });
});
