/**
 * @module One layer for what is recorded of every request: its id (given by the edge) for the
 * handlers, then its duration, metrics and one JSON log line with its request id, path, status and
 * duration. One layer rather than one each: every layer of middleware is an async frame, a promise
 * and a closure for every request.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from '#src/logger.ts';
import { requestIdOf } from '#src/middleware/edge/index.ts';

export function observe(options: {
  logger: Logger;
  /** Counts an answered request and its duration (the metrics). */
  record: (c: Context, seconds: number) => void;
}): MiddlewareHandler {
  const { record } = options;
  // The request line's fields are fixed and carry no secret: it skips the logger's redaction
  // (a third of what writing a line costs).
  const logger = options.logger.child({}, { redact: [] });
  return async (c, next) => {
    const started = performance.now();
    const requestId = requestIdOf(c.env);
    if (requestId !== undefined) c.set('requestId', requestId);
    await next();
    const elapsed = performance.now() - started;
    record(c, elapsed / 1000);
    const status = c.res.status;
    const line = {
      requestId,
      method: c.req.method,
      path: c.req.path,
      status,
      ms: Math.round(elapsed * 10) / 10,
    };
    // A 503 is a deliberate answer (overload, database down) with a warning of its own elsewhere.
    if (status >= 500 && status !== 503) logger.warn(line, 'request');
    else logger.info(line, 'request');
  };
}
