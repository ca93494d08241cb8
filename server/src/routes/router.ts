/** @module A router whose request validation failures become the API's one error shape. */
import { OpenAPIHono } from '@hono/zod-openapi';
import { ApiError, notFound, zodFields } from '#src/errors.ts';
import type { AuthEnv } from '#src/middleware/auth/index.ts';

/**
 * An OpenAPIHono router. A bad path parameter is a 404 (an id that cannot exist is not found);
 * any other invalid input is a 400 naming each bad field.
 */
export function apiRouter(): OpenAPIHono<AuthEnv> {
  return new OpenAPIHono<AuthEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      if (result.target === 'param') throw notFound();
      throw new ApiError(400, 'invalid_request', 'The request is not valid.', {
        fields: zodFields(result.error),
      });
    },
  });
}
