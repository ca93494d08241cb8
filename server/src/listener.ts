/**
 * @module The `node:http` listener the server runs: the edge (request id, security headers,
 * Cache-Control), then the door (shedding while the admission queue is full), then the application
 * through `@hono/node-server`.
 */
import type { RequestListener } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { type AppConfig, CORS_EXPOSE_HEADERS, type createApp } from '#src/app.ts';
import type { Logger } from '#src/logger.ts';
import type { Admission } from '#src/middleware/admission/index.ts';
import { shedWhenFull } from '#src/middleware/admission/shed.ts';
import { edge } from '#src/middleware/edge/index.ts';

export interface ListenerOptions {
  logger: Logger;
  config: AppConfig;
  /** The admission control the application was made with (`AppDeps.admission`). */
  admission: Admission;
  /** @default never draining */
  isDraining?: () => boolean;
  /** The host name for request URLs when a request has no Host header. @default none */
  hostname?: string;
}

/**
 * @example
 * const server = createServer(serverOptions, serverListener(app, { logger, config, admission: gate }));
 */
export function serverListener(app: ReturnType<typeof createApp>, options: ListenerOptions): RequestListener {
  const door = shedWhenFull({
    admission: options.admission,
    corsOrigins: options.config.corsOrigins,
    corsExposeHeaders: CORS_EXPOSE_HEADERS,
  });
  const outside = edge({
    logger: options.logger,
    trustedProxies: options.config.trustedProxies,
    ...(options.isDraining ? { isDraining: options.isDraining } : {}),
  });
  return outside(door(getRequestListener(app.fetch, options.hostname ? { hostname: options.hostname } : {})));
}
