/** @module `/healthz` (the process answers, no I/O) and `/readyz` (database reachable, schema current, not draining). */
import { appliedMigrations } from '@plumb/db';
import { Hono } from 'hono';
import type { Sql } from '#src/database.ts';
import type { Logger } from '#src/logger.ts';

export interface HealthDeps {
  sql: Sql;
  /** Migrations this build knows; all must be applied before it is ready (newer ones may be too). */
  knownMigrations: readonly string[];
  /** True once shutdown began, so load balancers stop sending new requests. */
  isDraining: () => boolean;
  /**
   * Told why, once each time readiness changes: a probe sees only the reason, and a platform shows
   * only the status (a wrong password and a wrong host are both `database-unreachable`).
   */
  logger: Logger;
}

export type ReadyBody =
  | { status: 'ready' }
  | { status: 'unavailable'; reason: 'draining' | 'database-unreachable' }
  | { status: 'unavailable'; reason: 'migrations-pending'; pending: string[] };

export function healthRoutes(deps: HealthDeps): Hono {
  const routes = new Hono();
  // What the last probe found (the reason, and a database error's code), so a change is logged once
  // rather than at every probe; in each worker, as each answers probes of its own.
  let last = 'ready';
  const notReady = (state: string, fields: object, message: string) => {
    if (state !== last) deps.logger.warn(fields, message);
    last = state;
  };
  routes.get('/healthz', (c) => c.json({ status: 'ok' }));
  routes.get('/readyz', async (c) => {
    c.header('Cache-Control', 'no-store');
    // Draining has its own log lines (signals.ts, worker.ts).
    if (deps.isDraining()) return c.json<ReadyBody>({ status: 'unavailable', reason: 'draining' }, 503);
    let applied: Set<string>;
    try {
      applied = new Set(await appliedMigrations(deps.sql));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      notReady(
        `database-unreachable ${String(code)}`,
        { reason: 'database-unreachable', err: error },
        'not ready: the database cannot be queried',
      );
      return c.json<ReadyBody>({ status: 'unavailable', reason: 'database-unreachable' }, 503);
    }
    const pending = deps.knownMigrations.filter((name) => !applied.has(name));
    if (pending.length > 0) {
      notReady(
        'migrations-pending',
        { reason: 'migrations-pending', pending },
        'not ready: migrations this build needs are not applied (run the migration job)',
      );
      return c.json<ReadyBody>({ status: 'unavailable', reason: 'migrations-pending', pending }, 503);
    }
    if (last !== 'ready') deps.logger.info({ was: last.split(' ')[0] }, 'ready again');
    last = 'ready';
    return c.json<ReadyBody>({ status: 'ready' });
  });
  return routes;
}
