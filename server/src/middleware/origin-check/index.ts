/**
 * @module CSRF protection for cookie-authenticated unsafe requests: a browser's request must come
 * from this origin or an allowed one (Origin, else Sec-Fetch-Site). Requests with neither header are
 * not from a browser page and carry no ambient cookie risk.
 */
import type { MiddlewareHandler } from 'hono';
import { requestOrigin } from '#src/auth/client-ip.ts';
import { ApiError } from '#src/errors.ts';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function originCheck(options: {
  allowedOrigins: readonly string[];
  trustedProxies: number;
}): MiddlewareHandler {
  const allowed = new Set(options.allowedOrigins);
  return async (c, next) => {
    if (SAFE.has(c.req.method)) return next();
    const origin = c.req.header('origin');
    if (origin !== undefined) {
      if (origin !== requestOrigin(c, options.trustedProxies) && !allowed.has(origin)) {
        throw new ApiError(403, 'cross_origin_rejected', 'Requests from other sites are not accepted.');
      }
    } else if (c.req.header('sec-fetch-site') === 'cross-site') {
      throw new ApiError(403, 'cross_origin_rejected', 'Requests from other sites are not accepted.');
    }
    return next();
  };
}
