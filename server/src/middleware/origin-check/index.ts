/**
 * @module CSRF protection for cookie-authenticated unsafe requests. A browser says where a request
 * comes from: `Sec-Fetch-Site` (same-origin / none are ours), else `Origin`, whose host must be the
 * host the browser asked for (the scheme is not compared: TLS usually ends at a proxy in front) or
 * an origin listed in CORS_ORIGINS. Requests with neither header do not come from a web page and
 * carry no ambient-cookie risk.
 */
import type { MiddlewareHandler } from 'hono';
import { requestHost } from '#src/auth/client-ip.ts';
import { ApiError } from '#src/errors.ts';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function originCheck(options: {
  allowedOrigins: readonly string[];
  trustedProxies: number;
}): MiddlewareHandler {
  const allowed = new Set(options.allowedOrigins);
  const refuse = () =>
    new ApiError(403, 'cross_origin_rejected', 'Requests from other sites are not accepted.');
  return async (c, next) => {
    if (SAFE.has(c.req.method)) return next();
    const site = c.req.header('sec-fetch-site');
    const origin = c.req.header('origin');
    if (site === 'same-origin' || site === 'none') return next();
    if (origin !== undefined && origin !== 'null') {
      if (allowed.has(origin)) return next();
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        throw refuse();
      }
      if (site === undefined && host === requestHost(c, options.trustedProxies)) return next();
      throw refuse();
    }
    if (site !== undefined || origin === 'null') throw refuse();
    return next();
  };
}
