/** @module One JSON log line per request, with its request id, route, status and duration. */
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '#src/logger.ts';

export function requestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const ms = Math.round((performance.now() - started) * 10) / 10;
    const line = {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms,
    };
    // A 503 is a deliberate answer (overload, database down) with a warning of its own elsewhere.
    if (c.res.status >= 500 && c.res.status !== 503) logger.warn(line, 'request');
    else logger.info(line, 'request');
  };
}
