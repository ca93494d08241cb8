/**
 * @module What the HTTP server does for every request before the application sees it, on the
 * `node:http` response itself: a request id (the caller's `X-Request-Id` when it is sane, else a
 * new UUID), the security headers, `Cache-Control: no-store`, and a warning when requests come
 * through a proxy the server was not told of; and, while draining, `Connection: close` on every
 * answer (`drainingResponse`).
 *
 * Node merges headers set here with the ones the application's answer carries, and the answer's
 * win (a route's own `Cache-Control`, say). They are set here rather than by Hono middleware
 * because a header added to a web `Response` makes `@hono/node-server` build, sort and copy a
 * `Headers` object for every answer (ADR 017 has the figures).
 */
import { randomUUID } from 'node:crypto';
import {
  type IncomingMessage,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
  type RequestListener,
  ServerResponse,
} from 'node:http';
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
}

/**
 * Wraps a `node:http` listener (`server/src/listener.ts` puts it outermost).
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
    // API answers are per account: no shared cache may keep them unless a route says otherwise.
    // Every answer, not only those under /api, so that no spelling of a path (`/%61pi/…`,
    // `/./api/…`) that reaches the API without looking like it escapes (the server serves no
    // static files: nothing else wants caching).
    response.setHeader('Cache-Control', 'no-store');
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

/**
 * The `ServerResponse` class for `createServer`: while `isDraining()`, an answer carries
 * `Connection: close` and Node closes its connection after it, so no client reuses a socket that is
 * about to go. Decided when the answer's head is written, so a request that was running when
 * draining began is answered that way too (its connection is not idle, and `closeIdleConnections`
 * would leave it open).
 */
export function drainingResponse(isDraining: () => boolean) {
  return class DrainingAwareResponse extends ServerResponse {
    // Node writes every head through writeHead (`end()` without one calls it too).
    override writeHead(
      statusCode: number,
      reasonOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
      headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
    ): this {
      if (isDraining() && !this.headersSent) {
        this.setHeader('Connection', 'close');
        // Headers given here win over setHeader's: no `Connection: keep-alive` among them now.
        reasonOrHeaders = withoutConnection(reasonOrHeaders);
        headers = withoutConnection(headers);
      }
      // Node takes (status, headers) and (status, reason, headers), and a missing reason too.
      return super.writeHead(statusCode, reasonOrHeaders as string, headers);
    }
  };
}

/** `headers` without a Connection header (writeHead's object and flat-array forms). */
function withoutConnection<T>(headers: T): T {
  if (Array.isArray(headers)) {
    const kept: unknown[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() !== 'connection') kept.push(headers[i], headers[i + 1]);
    }
    return kept as T;
  }
  if (headers && typeof headers === 'object') {
    return Object.fromEntries(
      Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'connection'),
    ) as T;
  }
  return headers;
}
