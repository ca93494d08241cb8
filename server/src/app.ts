/** @module The Hono application, built from its dependencies so tests drive it with `app.request()`. */
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { Sql } from '#src/database.ts';
import type { Logger } from '#src/logger.ts';
import { healthRoutes } from '#src/routes/health.ts';
import { type BuildInfo, infoRoutes } from '#src/routes/info.ts';

export interface AppDeps {
  sql: Sql;
  logger: Logger;
  info: BuildInfo;
  knownMigrations: readonly string[];
  /** @default never draining */
  isDraining?: () => boolean;
}

type Env = { Variables: { requestId: string } };

/**
 * @example
 * const app = createApp({ sql, logger, info, knownMigrations: await listMigrations() });
 * const response = await app.request('/readyz');
 */
export function createApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>();
  const isDraining = deps.isDraining ?? (() => false);

  app.use(requestId({ limitLength: 128 }));
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    deps.logger.info(
      {
        requestId: c.get('requestId'),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      },
      'request',
    );
  });

  app.route('/', healthRoutes({ sql: deps.sql, knownMigrations: deps.knownMigrations, isDraining }));
  app.route('/api', infoRoutes(deps.info));

  app.notFound((c) => c.json({ error: { code: 'not_found', message: 'No such route.' } }, 404));
  app.onError((error, c) => {
    deps.logger.error({ requestId: c.get('requestId'), err: error }, 'unhandled error');
    return c.json({ error: { code: 'internal', message: 'Something went wrong on our side.' } }, 500);
  });
  return app;
}
