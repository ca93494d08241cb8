/**
 * @module Load shedding at the door. While a worker's admission queue is full, an API request is
 * refused with the admission middleware's own 503 straight from `node:http`: before a `Request` is
 * built, a route matched, a log line written or a metric labelled. Under overload a refusal then
 * costs a small part of what serving costs, and the CPU goes to the requests being served (in the
 * fault suite's overload, refusing through the whole middleware chain left ~100 req/s of 2xx; at
 * the door, ~600).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Admission, OVERLOADED } from '#src/middleware/admission/index.ts';

type Listener = (request: IncomingMessage, response: ServerResponse) => void;

export interface ShedOptions {
  admission: Admission;
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

/** `listener`, with API requests refused at once while `admission` is full. */
export function shedWhenFull(listener: Listener, options: ShedOptions): Listener {
  const allowed = new Set(options.corsOrigins);
  // The headers every API answer carries (see createApp's secureHeaders and Cache-Control).
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(BODY)),
    'retry-after': String(OVERLOADED.retryAfterSeconds),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  };
  return (request, response) => {
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
            vary: 'Origin',
          }
        : {};
    response.writeHead(503, {
      ...headers,
      ...cors,
      ...(options.isDraining?.() ? { connection: 'close' } : {}),
    });
    response.end(BODY);
  };
}
