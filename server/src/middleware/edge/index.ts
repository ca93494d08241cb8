/**
 * @module What the HTTP server does for every request before the application sees it, on the
 * `node:http` response itself: a request id (the caller's `X-Request-Id` when it is sane, else a
 * new UUID), the security headers, `Cache-Control: no-store` under /api, `Connection: close` while
 * draining, and a warning when requests come through a proxy the server was not told of.
 *
 * Node merges headers set here with the ones the application's answer carries, and the answer's
 * win (a route's own `Cache-Control`, say). They are set here rather than by Hono middleware
 * because a header added to a web `Response` makes `@hono/node-server` build, sort and copy a
 * `Headers` object for every answer (ADR 017 has the figures).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener } from 'node:http';
import type { Logger } from '#src/logger.ts';

/** The security headers on every answer, the door's 503s included. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  // The API serves JSON only: nothing may be loaded by, or framed around, its answers.
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Origin-Agent-Cluster': '?1',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=15552000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'X-DNS-Prefetch-Control': 'off',
  'X-Download-Options': 'noopen',
  'X-Frame-Options': 'SAMEORIGIN',
  'X-Permitted-Cross-Domain-Policies': 'none',
  'X-XSS-Protection': '0',
};

/** The API's paths (Hono's `/api/*`, which also matches `/api`); not `/apiary`. */
export const API_PATH = /^\/api(?:[/?]|$)/;

/** A caller's request id is kept when it is at most this long and only `[A-Za-z0-9_=-]`. */
export const MAX_REQUEST_ID_LENGTH = 128;
const UNSAFE_REQUEST_ID = /[^\w\-=]/;

const REQUEST_ID = Symbol('plumb.requestId');
type Tagged = IncomingMessage & { [REQUEST_ID]?: string };

/**
 * The request id the edge gave a request, from Hono's `c.env` (`@hono/node-server` passes the
 * `IncomingMessage` there); `undefined` for a request that did not come through it (`app.request()`).
 */
export function requestIdOf(env: unknown): string | undefined {
  return (env as { incoming?: Tagged } | undefined)?.incoming?.[REQUEST_ID];
}

export interface EdgeOptions {
  logger: Logger;
  /** Proxies in front of the server (TRUST_PROXY): with none, X-Forwarded-For gets a warning. */
  trustedProxies: number;
  /** @default never draining */
  isDraining?: () => boolean;
}

/**
 * Wraps a `node:http` listener.
 * @example
 * const server = createServer(edge({ logger, trustedProxies: 0 })(getRequestListener(app.fetch)));
 */
export function edge(options: EdgeOptions): (listener: RequestListener) => RequestListener {
  const security = Object.entries(SECURITY_HEADERS);
  let warned = options.trustedProxies > 0;
  return (listener) => (request, response) => {
    const given = request.headers['x-request-id'];
    const id =
      typeof given === 'string' &&
      given.length > 0 &&
      given.length <= MAX_REQUEST_ID_LENGTH &&
      !UNSAFE_REQUEST_ID.test(given)
        ? given
        : randomUUID();
    (request as Tagged)[REQUEST_ID] = id;
    response.setHeader('X-Request-Id', id);
    for (const [name, value] of security) response.setHeader(name, value);
    // Answers are per account: no shared cache may keep them unless a route says otherwise.
    if (API_PATH.test(request.url ?? '')) response.setHeader('Cache-Control', 'no-store');
    // While draining, answers close their connections, so no client reuses a socket about to go.
    if (options.isDraining?.()) response.setHeader('Connection', 'close');
    if (!warned && request.headers['x-forwarded-for'] !== undefined) {
      warned = true;
      options.logger.warn(
        'requests arrive through a proxy (X-Forwarded-For) but TRUST_PROXY=0: client addresses and https ' +
          'are not taken from it; set TRUST_PROXY to the number of proxies in front of the server',
      );
    }
    listener(request, response);
  };
}
