/**
 * @module The `node:http` server the application runs in: the edge (request id, security headers,
 * Cache-Control), then the door (shedding while the admission queue is full), then the application
 * through `@hono/node-server`; and answers that close their connections while draining.
 */
import { createServer, type Server, type ServerOptions } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { type AppConfig, CORS_EXPOSE_HEADERS, type createApp } from '#src/app.ts';
import type { Logger } from '#src/logger.ts';
import type { Admission } from '#src/middleware/admission/index.ts';
import { shedWhenFull } from '#src/middleware/admission/shed.ts';
import { edge, edgeResponse } from '#src/middleware/edge/index.ts';

export interface AppServerOptions {
  logger: Logger;
  config: AppConfig;
  /** The admission control the application was made with (`AppDeps.admission`). */
  admission: Admission;
  /** @default never draining */
  isDraining?: () => boolean;
  /** The host name for request URLs when a request has no Host header. @default none */
  hostname?: string;
  /** Timeouts and the like, for `node:http`'s `createServer`. @default Node's */
  serverOptions?: ServerOptions;
}

/**
 * An HTTP server for `app`, not yet listening.
 * @example
 * const server = createAppServer(app, { logger, config, admission: gate });
 * server.listen(8080);
 */
export function createAppServer(app: ReturnType<typeof createApp>, options: AppServerOptions): Server {
  const door = shedWhenFull({
    admission: options.admission,
    corsOrigins: options.config.corsOrigins,
    corsExposeHeaders: CORS_EXPOSE_HEADERS,
  });
  const outside = edge({
    logger: options.logger,
    trustedProxies: options.config.trustedProxies,
    proxySecret: options.config.proxySecret,
  });
  const listener = getRequestListener(app.fetch, options.hostname ? { hostname: options.hostname } : {});
  return createServer(
    { ...options.serverOptions, ServerResponse: edgeResponse(options.isDraining ?? (() => false)) },
    outside(door(listener)),
  );
}
