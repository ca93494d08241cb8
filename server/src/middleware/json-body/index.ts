/**
 * @module Request bodies at the edge: at most `maxBytes` (413), JSON only (415), valid UTF-8 and
 * valid JSON (400) — checked before any route's schema sees them.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from '#src/errors.ts';

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function jsonBody(options: { maxBytes: number }): MiddlewareHandler[] {
  const limit = bodyLimit({
    maxSize: options.maxBytes,
    onError: () => {
      throw new ApiError(
        413,
        'payload_too_large',
        `Request bodies are limited to ${options.maxBytes} bytes.`,
      );
    },
  });
  const parse: MiddlewareHandler = async (c, next) => {
    const mediaType = (c.req.header('content-type') ?? '').split(';')[0]?.trim() ?? '';
    if (!JSON_TYPE.test(mediaType)) {
      throw new ApiError(415, 'unsupported_media_type', 'Send the request body as application/json.');
    }
    let text: string;
    try {
      text = utf8.decode(await c.req.arrayBuffer());
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError(400, 'invalid_encoding', 'The request body is not valid UTF-8.');
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new ApiError(400, 'malformed_json', 'The request body is not valid JSON.');
    }
    // The route validators read the body through Hono's cache: give them the parsed value.
    c.req.bodyCache.json = Promise.resolve(value);
    return next();
  };
  // Without a body there is nothing to check; touching `c.req.raw.body` would make
  // @hono/node-server build a whole web Request for every GET.
  return [(c, next) => (hasBody(c) ? limit(c, async () => void (await parse(c, next))) : next())];
}

/** Whether a request carries a body (GET and HEAD bodies are never read). */
function hasBody(c: Context): boolean {
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return false;
  const length = c.req.header('content-length');
  if ((length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined)
    return true;
  // No framing headers (a web Request made in-process, a bodyless DELETE): ask the request itself.
  return length !== '0' && c.req.raw.body !== null;
}
