/**
 * @module Load shedding at the door. While a worker's admission queue is full, an API request is
 * refused with the admission middleware's own 503 straight from `node:http`: before a `Request` is
 * built, a route matched, a log line written or a metric labelled. Under overload a refusal then
 * costs a small part of what serving costs, and the CPU goes to the requests being served (ADR 012
 * has the figures). The refusal carries the same body and headers as the middleware's: the edge's
 * response class (`middleware/edge`) adds the request id, the security headers and Cache-Control
 * to its head; this gives Retry-After and CORS for allowed origins. It is counted in
 * `http_requests_refused_total`, not in `http_requests_total`.
 */
import type { RequestListener } from 'node:http';
import { type Admission, OVERLOADED } from '#src/middleware/admission/index.ts';

export interface ShedOptions {
  admission: Admission;
  /** Origins allowed cross-origin (CORS_ORIGINS): a refusal must be readable by their pages too. */
  corsOrigins: readonly string[];
  /** The response headers such a page may read. */
  corsExposeHeaders: readonly string[];
}

/** The paths under admission control (Hono's `/api/*`, which also matches `/api`); not `/apiary`. */
const API_PATH = /^\/api(?:[/?]|$)/;
const BODY = JSON.stringify({ error: { code: OVERLOADED.code, message: OVERLOADED.message } });

/**
 * A wrapper for a `node:http` listener that refuses API requests at once while `admission` is
 * full. Goes inside the edge (`middleware/edge`), whose response class gives the refusal its request
 * id and security headers.
 */
export function shedWhenFull(options: ShedOptions): (listener: RequestListener) => RequestListener {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(BODY)),
    'retry-after': String(OVERLOADED.retryAfterSeconds),
  };
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
    response.writeHead(503, { ...headers, ...cors });
    response.end(BODY);
  };
}
