/**
 * @module Load shedding at the door. While a worker's admission queue is full, an API request is
 * refused with the admission middleware's own 503 straight from `node:http`: before a `Request` is
 * built, a route matched, a log line written or a metric labelled. Under overload a refusal then
 * costs a small part of what serving costs, and the CPU goes to the requests being served (ADR 012
 * has the figures). The refusal carries the same body and headers as the middleware's (security
 * headers from the same `hono/secure-headers` options, CORS for allowed origins, Retry-After,
 * Cache-Control, a request id); it is counted in `http_requests_refused_total`, not in
 * `http_requests_total`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { type Admission, OVERLOADED } from '#src/middleware/admission/index.ts';

type Listener = (request: IncomingMessage, response: ServerResponse) => void;

export interface ShedOptions {
  admission: Admission;
  /** The options the application's `secureHeaders` middleware is given. */
  secureHeaders: Parameters<typeof secureHeaders>[0];
  /** Origins allowed cross-origin (CORS_ORIGINS): a refusal must be readable by their pages too. */
  corsOrigins: readonly string[];
  /** The response headers such a page may read. */
  corsExposeHeaders: readonly string[];
  /** @default never draining */
  isDraining?: () => boolean;
}

/** The paths under admission control (Hono's `/api/*`, which also matches `/api`). */
const API_PATH = /^\/api(?:[/?]|$)/;
const BODY = JSON.stringify({ error: { code: OVERLOADED.code, message: OVERLOADED.message } });

/**
 * A wrapper for a `node:http` listener that refuses API requests at once while `admission` is
 * full. (Async once, to render the security headers.)
 */
export async function shedWhenFull(options: ShedOptions): Promise<(listener: Listener) => Listener> {
  // The security headers exactly as the middleware writes them, made once.
  const probe = new Hono();
  probe.use(secureHeaders(options.secureHeaders));
  probe.get('/', (c) => c.body(null));
  const headers: Record<string, string> = Object.fromEntries((await probe.request('/')).headers);
  Object.assign(headers, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(BODY)),
    'retry-after': String(OVERLOADED.retryAfterSeconds),
    'cache-control': 'no-store',
  });
  const allowed = new Set(options.corsOrigins);
  if (allowed.size > 0) headers.vary = 'Origin';
  return (listener) => (request, response) => {
    // A preflight is cheap and tells the browser it may send the real request: never shed it.
    if (!options.admission.full() || request.method === 'OPTIONS' || !API_PATH.test(request.url ?? '')) {
      listener(request, response);
      return;
    }
    options.admission.refuse();
    const origin = request.headers.origin;
    const cors =
      origin && allowed.has(origin)
        ? {
            'access-control-allow-origin': origin,
            'access-control-allow-credentials': 'true',
            'access-control-expose-headers': options.corsExposeHeaders.join(','),
          }
        : {};
    response.writeHead(503, {
      ...headers,
      ...cors,
      'x-request-id': randomUUID(),
      ...(options.isDraining?.() ? { connection: 'close' } : {}),
    });
    response.end(BODY);
  };
}
