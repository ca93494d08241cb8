/**
 * @module Errors handled in one place: expected failures are {@link ApiError}s with a stable
 * `code`; everything else is logged with the request id and answered with a generic 500.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { Logger } from '#src/logger.ts';

/** The one error body of the API. */
export interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> };
}

/** An expected failure: status, machine-readable code, a message a person can read. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly fields: Record<string, string> | undefined;
  readonly headers: Record<string, string>;
  /** Extra top-level members of the body (the current note of a 409). */
  readonly extra: Record<string, unknown>;
  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    options: {
      fields?: Record<string, string>;
      headers?: Record<string, string>;
      extra?: Record<string, unknown>;
    } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = options.fields;
    this.headers = options.headers ?? {};
    this.extra = options.extra ?? {};
  }
}

export const notFound = () => new ApiError(404, 'not_found', 'Not found.');
export const unauthenticated = () => new ApiError(401, 'unauthenticated', 'Sign in first.');

/** Field paths and messages of a zod error, for `error.fields`. */
export function zodFields(error: z.ZodError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields[[...issue.path, key].join('.')] = 'is not a known field';
      continue;
    }
    const path = issue.path.join('.') || '(body)';
    fields[path] ??= issue.message;
  }
  return fields;
}

// Connection-level failures: the database is down, restarting, full, or too slow. Answer 503.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '57014', // query_canceled (statement_timeout)
  '40001', // serialization_failure: safe to retry
  '40P01', // deadlock_detected: safe to retry
]);

function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  return UNAVAILABLE_CODES.has(code) || code.startsWith('08'); // class 08: connection exception
}

const HTTP_CODES: Partial<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** `app.onError`: the only place an error becomes a response. */
export function errorHandler(logger: Logger) {
  return (error: Error, c: Context): Response => {
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
      const body: ErrorBody = {
        error: {
          code: error.code,
          message: error.message,
          ...(error.fields ? { fields: error.fields } : {}),
        },
      };
      return c.json({ ...body, ...error.extra }, error.status);
    }
    if (error instanceof HTTPException && error.status < 500) {
      const code = HTTP_CODES[error.status] ?? 'bad_request';
      return c.json<ErrorBody>({ error: { code, message: error.message || 'Bad request.' } }, error.status);
    }
    const requestId = c.get('requestId') as string | undefined;
    // Every foreign key points at accounts: the account was deleted while this request ran.
    if ((error as { code?: unknown }).code === '23503') {
      return c.json<ErrorBody>({ error: { code: 'unauthenticated', message: 'Sign in first.' } }, 401);
    }
    if (isDatabaseUnavailable(error)) {
      logger.warn({ requestId, code: (error as { code?: string }).code }, 'database unavailable');
      c.header('Retry-After', '5');
      return c.json<ErrorBody>(
        {
          error: { code: 'database_unavailable', message: 'The service is briefly unavailable; try again.' },
        },
        503,
      );
    }
    // postgres.js keeps query text and parameters non-enumerable: the log line carries neither.
    logger.error({ requestId, err: error }, 'unhandled error');
    return c.json<ErrorBody>(
      { error: { code: 'internal', message: 'Something went wrong on our side.' } },
      500,
    );
  };
}
