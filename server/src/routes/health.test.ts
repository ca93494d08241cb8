import { listMigrations, migrate } from '@plumb/db';
import { freePort } from '@plumb/db/embedded';
import { createTestDatabase, type TestDatabase } from '@plumb/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#src/app.ts';
import { createDatabase, type Database } from '#src/database.ts';
import { createLogger } from '#src/logger.ts';
import { memoryLogger } from '#src/testing.ts';

const info = { name: 'plumb', version: '0.0.0-test', gitSha: null };
const logger = createLogger('silent');

describe('health', () => {
  let testDb: TestDatabase;
  let db: Database;
  let draining = false;
  let app: ReturnType<typeof createApp>;
  const logs = memoryLogger();

  beforeAll(async () => {
    testDb = await createTestDatabase({ migrated: false });
    db = createDatabase({ url: testDb.url, max: 2 });
    app = createApp({
      db,
      logger: logs.logger,
      info,
      knownMigrations: await listMigrations(),
      isDraining: () => draining,
    });
  });
  afterAll(async () => {
    await db.end();
    await testDb.drop();
  });

  it('/healthz answers 200 without touching the database', async () => {
    const unreachable = createDatabase({ url: `postgres://x:y@127.0.0.1:${await freePort()}/none` });
    const alone = createApp({ db: unreachable, logger, info, knownMigrations: [] });
    const response = await alone.request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    await unreachable.end();
  });

  it('/readyz is 503 with the pending migrations before they run, and 200 after', async () => {
    const before = await app.request('/readyz');
    expect(before.status).toBe(503);
    expect(await before.json()).toEqual({
      status: 'unavailable',
      reason: 'migrations-pending',
      pending: await listMigrations(),
    });

    expect((await app.request('/readyz')).status).toBe(503);
    // Said once, with what to do, however often the platform probes.
    expect(logs.lines.filter((line) => line['msg'] !== 'request')).toEqual([
      expect.objectContaining({
        level: 'warn',
        reason: 'migrations-pending',
        pending: await listMigrations(),
        msg: expect.stringMatching(/run the migration job/),
      }),
    ]);

    await migrate({ url: testDb.url });
    const after = await app.request('/readyz');
    expect(after.status).toBe(200);
    expect(after.headers.get('cache-control')).toBe('no-store');
    expect(await after.json()).toEqual({ status: 'ready' });
    expect(logs.lines.filter((line) => line['msg'] !== 'request').at(-1)).toMatchObject({
      level: 'info',
      was: 'migrations-pending',
      msg: 'ready again',
    });
  });

  it('/readyz is ready when the database has migrations newer than this build (a rollback)', async () => {
    const older = createApp({ db, logger, info, knownMigrations: (await listMigrations()).slice(0, 1) });
    expect((await older.request('/readyz')).status).toBe(200);
  });

  it('/readyz is 503 while draining', async () => {
    draining = true;
    const response = await app.request('/readyz');
    draining = false;
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'unavailable', reason: 'draining' });
  });

  it('/readyz is 503 quickly when the database cannot be reached', async () => {
    const unreachable = createDatabase({
      url: `postgres://x:y@127.0.0.1:${await freePort()}/none`,
      connectTimeoutSeconds: 1,
    });
    const { logger: told, lines } = memoryLogger();
    const alone = createApp({ db: unreachable, logger: told, info, knownMigrations: await listMigrations() });
    const response = await alone.request('/readyz');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'unavailable', reason: 'database-unreachable' });
    expect((await alone.request('/readyz')).status).toBe(503);
    await unreachable.end();
    // The probe's body cannot say why; the log does, once.
    expect(lines.filter((line) => line['msg'] !== 'request')).toEqual([
      expect.objectContaining({
        level: 'warn',
        reason: 'database-unreachable',
        msg: 'not ready: the database cannot be queried',
        err: expect.objectContaining({
          code: 'ECONNREFUSED',
          message: expect.stringContaining('ECONNREFUSED'),
        }),
      }),
    ]);
  });

  it('/api/info says what is running', async () => {
    const response = await app.request('/api/info');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ...info, sizing: null });
  });

  it('answers unknown routes with a JSON 404', async () => {
    const response = await app.request('/nope');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'not_found', message: 'No such route.' } });
  });
});
