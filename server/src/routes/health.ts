/** @module `/healthz` (the process answers, no I/O) and `/readyz` (database reachable, schema current, not draining). */
import { appliedMigrations } from '@plumb/db';
import { Hono } from 'hono';
import type { Sql } from '#src/database.ts';

export interface HealthDeps {
  sql: Sql;
  /** Migrations this build knows; all must be applied before it is ready (newer ones may be too). */
  knownMigrations: readonly string[];
  /** True once shutdown began, so load balancers stop sending new requests. */
  isDraining: () => boolean;
}

export type ReadyBody =
  | { status: 'ready' }
  | { status: 'unavailable'; reason: 'draining' | 'database-unreachable' }
  | { status: 'unavailable'; reason: 'migrations-pending'; pending: string[] };

export function healthRoutes(deps: HealthDeps): Hono {
  const routes = new Hono();
  routes.get('/healthz', (c) => c.json({ status: 'ok' }));
  routes.get('/readyz', async (c) => {
    c.header('Cache-Control', 'no-store');
    if (deps.isDraining()) return c.json<ReadyBody>({ status: 'unavailable', reason: 'draining' }, 503);
    let applied: Set<string>;
    try {
      applied = new Set(await appliedMigrations(deps.sql));
    } catch {
      return c.json<ReadyBody>({ status: 'unavailable', reason: 'database-unreachable' }, 503);
    }
    const pending = deps.knownMigrations.filter((name) => !applied.has(name));
    if (pending.length > 0) {
      return c.json<ReadyBody>({ status: 'unavailable', reason: 'migrations-pending', pending }, 503);
    }
    return c.json<ReadyBody>({ status: 'ready' });
  });
  return routes;
}
