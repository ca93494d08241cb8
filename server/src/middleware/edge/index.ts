/**
 * @module What the HTTP server does for every request outside the application, on `node:http`
 * itself: a request id (the caller's `X-Request-Id` when it is sane, else a new UUID), a warning
 * when requests come through a proxy the server was not told of; and, on every answer's head, the
 * request id, the security headers, `Cache-Control: no-store` and, while draining,
 * `Connection: close` (`edgeResponse`).
 *
 * The answer's own headers win over the edge's (a route's own `Cache-Control`, say). They are added
 * here rather than by Hono middleware because a header added to a web `Response` makes
 * `@hono/node-server` build, sort and copy a `Headers` object for every answer (ADR 017 has the
 * figures).
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
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
const FROM_PROXY = Symbol('plumb.fromProxy');
type Tagged = IncomingMessage & { [REQUEST_ID]?: string; [FROM_PROXY]?: boolean };

/** The header the client's nginx adds with PROXY_SECRET. */
export const PROXY_SECRET_HEADER = 'x-plumb-proxy';

/**
 * The request id the edge gave a request, from Hono's `c.env` (`@hono/node-server` passes the
 * `IncomingMessage` there); `undefined` for a request that did not come through it (`app.request()`).
 */
export function requestIdOf(env: unknown): string | undefined {
  return (env as { incoming?: Tagged } | undefined)?.incoming?.[REQUEST_ID];
}

/**
 * Whether a request's X-Forwarded-* headers may count (as deep as TRUST_PROXY says): always, unless
 * PROXY_SECRET is set and the request did not carry it, having come by another way than the proxy.
 * True for a request that did not come through the edge (`app.request()`).
 */
export function fromProxy(env: unknown): boolean {
  return (env as { incoming?: Tagged } | undefined)?.incoming?.[FROM_PROXY] ?? true;
}

export interface EdgeOptions {
  logger: Logger;
  /** Proxies in front of the server (TRUST_PROXY): with none, X-Forwarded-For gets a warning. */
  trustedProxies: number;
  /** PROXY_SECRET: when set, only requests carrying it in X-Plumb-Proxy came through the proxy. */
  proxySecret?: string | undefined;
}

/**
 * Wraps a `node:http` listener (`server/src/listener.ts` puts it outermost): gives each request its
 * id, which the answer's head carries (`edgeResponse`).
 * @example
 * const server = createServer(
 *   { ServerResponse: edgeResponse(() => draining) },
 *   edge({ logger, trustedProxies: 0 })(getRequestListener(app.fetch)),
 * );
 */
export function edge(options: EdgeOptions): (listener: RequestListener) => RequestListener {
  let warned = options.trustedProxies > 0;
  const secret = options.proxySecret === undefined ? undefined : Buffer.from(options.proxySecret);
  let warnedSecret = false;
  const carriesSecret = (given: string | string[] | undefined) => {
    if (secret === undefined || given === undefined) return false;
    const bytes = Buffer.from(String(given));
    if (bytes.length === secret.length && timingSafeEqual(bytes, secret)) return true;
    if (!warnedSecret) {
      // A proxy with another secret (the client not redeployed after a change), or a guess: either
      // way every such request now counts by its connection, which all of them share.
      warnedSecret = true;
      options.logger.warn(
        'a request carried X-Plumb-Proxy with a value other than PROXY_SECRET: its forwarded headers do not count. ' +
          "If it came from the client's nginx, give the client the server's PROXY_SECRET and redeploy it",
      );
    }
    return false;
  };
  return (listener) => (request, response) => {
    if (secret !== undefined)
      (request as Tagged)[FROM_PROXY] = carriesSecret(request.headers[PROXY_SECRET_HEADER]);
    const given = request.headers['x-request-id'];
    (request as Tagged)[REQUEST_ID] =
      typeof given === 'string' &&
      given.length > 0 &&
      given.length <= MAX_REQUEST_ID_LENGTH &&
      !UNSAFE_REQUEST_ID.test(given)
        ? given
        : randomUUID();
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
 * The headers of every answer that it does not give itself. API answers are per account: no shared
 * cache may keep them unless a route says otherwise. Every answer, not only those under /api, so
 * that no spelling of a path (`/%61pi/…`, `/./api/…`) that reaches the API without looking like it
 * escapes (the server serves no static files: nothing else wants caching).
 */
const EDGE_HEADERS = Object.entries({ ...SECURITY_HEADERS, 'Cache-Control': 'no-store' }).map(
  ([name, value]) => ({ name, lower: name.toLowerCase(), value }),
);

type HeadersArgument = OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined;

/**
 * The `ServerResponse` class for `createServer`. When an answer's head is written, it adds the
 * request id (from `edge`), the security headers and `Cache-Control: no-store`, unless the answer
 * gives them itself; and, while `isDraining()`, `Connection: close`, so that Node closes the
 * connection after the answer and no client reuses a socket that is about to go. Decided at the
 * head, so a request that was running when draining began is answered that way too (its connection
 * is not idle, and `closeIdleConnections` would leave it open).
 *
 * Added to the head's own headers rather than set one by one with `setHeader` before the application
 * runs: that built Node's table of headers, a dozen entries, for every answer (ADR 017).
 */
export function edgeResponse(isDraining: () => boolean) {
  return class EdgeResponse extends ServerResponse {
    // Node writes every head through writeHead (`end()` without one calls it too).
    override writeHead(
      statusCode: number,
      reasonOrHeaders?: string | HeadersArgument,
      headers?: HeadersArgument,
    ): this {
      if (this.headersSent) return super.writeHead(statusCode, reasonOrHeaders as string, headers);
      // Node takes (status, headers), (status, reason, headers) and (status, undefined, headers).
      const reason = typeof reasonOrHeaders === 'string' ? reasonOrHeaders : undefined;
      const given = headers ?? (reason === undefined ? (reasonOrHeaders as HeadersArgument) : undefined);
      const head = withEdgeHeaders(this, given, isDraining());
      return reason === undefined
        ? super.writeHead(statusCode, head)
        : super.writeHead(statusCode, reason, head);
    }
  };
}

/**
 * `given` (writeHead's object, flat-array or array-of-pairs form) as a flat array, followed by the
 * edge's headers that neither it nor an earlier `setHeader` names; while draining, its Connection
 * header gives way to `Connection: close`.
 */
function withEdgeHeaders(response: ServerResponse, given: HeadersArgument, draining: boolean) {
  const head: OutgoingHttpHeader[] = [];
  const named = response.getHeaderNames();
  const add = (name: OutgoingHttpHeader | undefined, value: OutgoingHttpHeader | undefined) => {
    const lower = String(name).toLowerCase();
    if (draining && lower === 'connection') return;
    named.push(lower);
    head.push(name as string, value as string);
  };
  if (Array.isArray(given)) {
    if (Array.isArray(given[0])) for (const [name, value] of given as unknown as string[][]) add(name, value);
    else for (let i = 0; i < given.length; i += 2) add(given[i], given[i + 1]);
  } else if (given) {
    for (const name of Object.keys(given)) add(name, given[name]);
  }
  const requestId = (response.req as Tagged | undefined)?.[REQUEST_ID];
  if (requestId !== undefined && !named.includes('x-request-id')) head.push('X-Request-Id', requestId);
  for (const header of EDGE_HEADERS) {
    if (!named.includes(header.lower)) head.push(header.name, header.value);
  }
  if (draining) head.push('Connection', 'close');
  return head;
}
