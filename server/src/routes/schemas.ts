/**
 * @module The API's wire shapes, as zod schemas: they validate requests at the edge and generate
 * the OpenAPI document, so the two cannot disagree. Request objects are strict (unknown fields are
 * refused).
 */
import { z } from '@hono/zod-openapi';

const MAX_BODY_BYTES = 100 * 1024;
const noNul = (value: string) => !value.includes('\u0000');
const NUL_MESSAGE = 'must not contain NUL characters';

const wellFormed = (value: string) => value.isWellFormed();
const UNICODE_MESSAGE = 'must be valid Unicode text (no lone surrogates)';
const text = (max: number) =>
  z.string().max(max).refine(noNul, NUL_MESSAGE).refine(wellFormed, UNICODE_MESSAGE);

export const Email = z
  .string()
  .max(254)
  .transform((value) => value.trim().toLowerCase())
  .pipe(z.email({ message: 'must be an email address' }))
  .openapi({ example: 'ada@example.com', type: 'string', format: 'email' });

export const Password = z
  .string()
  .min(10, 'must be at least 10 characters')
  .max(1024)
  .refine(noNul, NUL_MESSAGE)
  // Hashed as UTF-8, where every lone surrogate becomes U+FFFD: two such passwords would match.
  .refine(wellFormed, UNICODE_MESSAGE)
  .openapi({ example: 'correct horse battery', minLength: 10 });

export const Credentials = z.strictObject({ email: Email, password: Password }).openapi('Credentials');

export const Account = z.object({ id: z.uuid(), email: z.string() }).openapi('Account');

export const Version = z.number().int().min(1).max(2_147_483_647).openapi({ example: 1 });

export const Title = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200)
  .refine(noNul, NUL_MESSAGE)
  .refine(wellFormed, UNICODE_MESSAGE)
  .openapi({ example: 'Groceries' });
export const NoteBody = z
  .string()
  .refine(noNul, NUL_MESSAGE)
  .refine(wellFormed, UNICODE_MESSAGE)
  .refine((value) => Buffer.byteLength(value) <= MAX_BODY_BYTES, `must be at most ${MAX_BODY_BYTES} bytes`)
  .openapi({ example: 'Milk, eggs, coffee.' });

export const Note = z
  .object({
    id: z.uuid(),
    title: z.string(),
    body: z.string(),
    version: z.number().int(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('Note');

export const NoteInput = z.strictObject({ title: Title, body: NoteBody.default('') }).openapi('NoteInput');

export const NotePatch = z
  .strictObject({ title: Title.optional(), body: NoteBody.optional(), version: Version.optional() })
  .refine(
    (patch) => patch.title !== undefined || patch.body !== undefined,
    'change the title or the body (or both)',
  )
  .openapi('NotePatch', { description: 'Send `version` here or the current version in `If-Match`.' });

export const NoteList = z
  .object({
    items: z.array(Note),
    nextCursor: z
      .string()
      .nullable()
      .openapi({
        description:
          'Where the next page starts, or null after the last. A page holds at most `limit` notes and ' +
          'about 256 K characters of their text: a page of long notes holds fewer, and still has a nextCursor.',
      }),
  })
  .openapi('NoteList');

export const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ example: 20 }),
  cursor: z.string().max(200).optional().openapi({ description: 'nextCursor of the previous page' }),
  q: text(200)
    .optional()
    .openapi({ description: 'Full-text search, web-search syntax ("quoted phrase", -exclude, or)' }),
});

export const IdParam = z.object({
  id: z
    .uuid()
    .openapi({ param: { name: 'id', in: 'path' }, example: '0193a0e8-7c4e-7b5e-9d7c-2f1e8a6b3c4d' }),
});

export const VersionQuery = z.strictObject({
  version: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
});

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'invalid_request' }),
      message: z.string(),
      fields: z.record(z.string(), z.string()).optional(),
    }),
  })
  .openapi('Error');

export const Conflict = ErrorBody.extend({ current: Note }).openapi('Conflict');

export const ChangePassword = z
  .strictObject({ currentPassword: Password, newPassword: Password })
  .openapi('ChangePassword');

export const ConfirmPassword = z.strictObject({ password: Password }).openapi('ConfirmPassword');

export const Export = z
  .object({
    exportedAt: z.iso.datetime(),
    account: Account.extend({ createdAt: z.iso.datetime() }),
    notes: z.array(Note),
  })
  .openapi('Export');

/** Response helpers for route definitions. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});
export const jsonRequest = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});
export const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [status, json(ErrorBody, ERROR_DESCRIPTIONS[status] ?? 'Error')]),
  );

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (see error.fields)',
  401: 'Not signed in',
  403: 'Cross-origin request refused',
  404: 'No such resource (or not yours)',
  409: 'Conflict',
  413: 'Request body too large',
  415: 'Not JSON',
  428: 'Version required (If-Match or version)',
  429: 'Too many attempts (see Retry-After)',
  503: 'Database unavailable (see Retry-After)',
};
