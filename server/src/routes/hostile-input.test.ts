/**
 * Property tests: thousands of generated bad requests per route. Every answer must be a 4xx JSON
 * error of the API's shape (never a 5xx, never a stack trace), and the database must hold exactly
 * the rows it held. FUZZ_RUNS raises the count (the fault suite runs 10,000 per route).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  ChangePassword,
  ConfirmPassword,
  Credentials,
  ListQuery,
  NoteInput,
  NotePatch,
} from '#src/routes/schemas.ts';
import { createTestApp, type TestApp, type TestClient } from '#src/testing.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);

type BadRequest = { contentType: string; body: string | Uint8Array };

const hostileStrings = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    "'; drop table notes; --",
    '" or 1=1 --',
    'a\u0000b',
    '\u0000',
    '<script>alert(1)</script>',
    '!!!(((',
    'foo & | ! <-> bar:*',
    '\ud800',
    'x'.repeat(300),
    '',
    ' ',
  ),
);
const hostileNumbers = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -1, 1e308, 2 ** 53, 2 ** 31, -(2 ** 31), 1.5, Number.MAX_SAFE_INTEGER + 2),
);
const hostileValue = fc.oneof(
  hostileStrings,
  hostileNumbers,
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue(),
);

/** Bodies shaped like `keys` with hostile values, plus arbitrary JSON, raw text and raw bytes. */
function badBodies(schema: z.ZodType, keys: readonly string[]): fc.Arbitrary<BadRequest> {
  const shaped = fc
    .record(Object.fromEntries([...keys, 'extra'].map((key) => [key, hostileValue])), { requiredKeys: [] })
    .map((value) => JSON.stringify(value));
  const json = fc.oneof(
    shaped,
    fc.jsonValue().map((value) => JSON.stringify(value)),
  );
  return fc.oneof(
    json
      .filter((text) => !schema.safeParse(JSON.parse(text)).success)
      .map((body) => ({ contentType: 'application/json', body })),
    fc.string().map((body) => ({ contentType: 'application/json', body: `${body}{` })),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({
      contentType: 'application/json',
      body: Uint8Array.from([0x7b, 0xff, ...bytes]), // "{" then a byte no UTF-8 text starts with
    })),
    fc
      .tuple(
        fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data',
          'application/xml',
          '',
        ),
        json,
      )
      .map(([contentType, body]) => ({ contentType, body })),
  );
}

/** Query strings as sent (URL-encoded: a lone surrogate arrives as U+FFFD), refused by the schema. */
const badQueries = fc
  .dictionary(
    fc.constantFrom('limit', 'cursor', 'q', 'offset', 'order', '__proto__'),
    fc.oneof(hostileStrings, hostileNumbers.map(String)),
    { minKeys: 1 },
  )
  .map((query) => new URLSearchParams(Object.entries(query)).toString())
  .filter((search) => !ListQuery.safeParse(Object.fromEntries(new URLSearchParams(search))).success);

/** A cursor this API never gave out but shaped like one: microseconds too large for a timestamp. */
const forgedCursors = fc
  .tuple(fc.stringMatching(/^[1-9]\d{0,24}$/), fc.uuid())
  .map(([us, id]) => Buffer.from(`${us}.${id}`).toString('base64url'));

const badIds = fc.oneof(
  fc.string(),
  fc.uuid(), // well-formed, but no such note
  fc.constantFrom('1', '-1', '0', 'null', "1' or '1'='1", '%00', '..%2F..%2Fetc', 'x'.repeat(500)),
);

async function expectApiError(response: Response): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBeGreaterThanOrEqual(400);
  expect(response.status, text).toBeLessThan(500);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
  expect(typeof body.error?.code).toBe('string');
  expect(typeof body.error?.message).toBe('string');
  expect(text).not.toMatch(/\bat .*\.ts:\d+|node_modules|PostgresError|syntax error/);
}

describe('hostile input', () => {
  let t: TestApp;
  let user: TestClient;
  let noteId: string;
  const snapshot = async () => {
    const [row] = await t.db.sql`
      select
        (select count(*)::int from accounts) as accounts,
        (select count(*)::int from sessions) as sessions,
        (select md5(coalesce(string_agg(a::text, ',' order by id), '')) from accounts a) as account_rows,
        (select md5(coalesce(string_agg(n::text, ',' order by id), '')) from notes n) as note_rows`;
    return row;
  };
  let before: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    t = await createTestApp();
    user = t.client();
    await user.signup();
    const response = await user.request('/api/notes', {
      method: 'POST',
      json: { title: 'Keep me', body: 'intact' },
    });
    noteId = ((await response.json()) as { id: string }).id;
    before = await snapshot();
  });
  afterAll(async () => {
    // Whatever was thrown at it, nothing was written.
    expect(await snapshot()).toEqual(before);
    await t.close();
  });

  const send = (method: string, path: string, bad?: BadRequest, headers: Record<string, string> = {}) =>
    t.app.request(path, {
      method,
      headers: {
        ...headers,
        cookie: user.cookie() ?? '',
        ...(bad ? { 'content-type': bad.contentType } : {}),
      },
      body: bad?.body,
    });

  const bodyRoutes = [
    {
      name: 'POST /api/auth/signup',
      method: 'POST',
      path: () => '/api/auth/signup',
      schema: Credentials,
      keys: ['email', 'password'],
    },
    {
      name: 'POST /api/auth/login',
      method: 'POST',
      path: () => '/api/auth/login',
      schema: Credentials,
      keys: ['email', 'password'],
    },
    {
      name: 'POST /api/notes',
      method: 'POST',
      path: () => '/api/notes',
      schema: NoteInput,
      keys: ['title', 'body'],
    },
    {
      name: 'PATCH /api/notes/:id',
      method: 'PATCH',
      path: () => `/api/notes/${noteId}`,
      schema: NotePatch,
      keys: ['title', 'body', 'version'],
    },
    {
      name: 'POST /api/account/password',
      method: 'POST',
      path: () => '/api/account/password',
      schema: ChangePassword,
      keys: ['currentPassword', 'newPassword'],
    },
    {
      name: 'DELETE /api/account',
      method: 'DELETE',
      path: () => '/api/account',
      schema: ConfirmPassword,
      keys: ['password'],
    },
  ] as const;

  it.each(bodyRoutes)(`$name: ${RUNS} bad bodies, all 4xx JSON`, async ({ method, path, schema, keys }) => {
    await fc.assert(
      fc.asyncProperty(badBodies(schema, keys), async (bad) => {
        await expectApiError(await send(method, path(), bad));
      }),
      { numRuns: RUNS },
    );
  });

  it(`GET /api/notes: ${RUNS} bad queries, all 4xx JSON`, async () => {
    await fc.assert(
      fc.asyncProperty(badQueries, async (search) => {
        await expectApiError(await send('GET', `/api/notes?${search}`));
      }),
      { numRuns: RUNS },
    );
  });

  it(`GET /api/notes: ${RUNS} hostile searches and cursors answer 200 or 4xx, never 5xx`, async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileStrings,
        fc.option(fc.oneof(hostileStrings, forgedCursors)),
        async (q, cursor) => {
          const search = new URLSearchParams({ q, ...(cursor === null ? {} : { cursor }) });
          const response = await send('GET', `/api/notes?${search}`);
          if (response.status !== 200) await expectApiError(response);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it.each(['GET', 'PATCH', 'DELETE'])(
    `%s /api/notes/:id: ${RUNS} bad ids and versions, all 4xx JSON`,
    async (method) => {
      await fc.assert(
        fc.asyncProperty(badIds, fc.option(hostileStrings), async (id, ifMatch) => {
          // A header arrives as bytes: send the UTF-8 bytes of the hostile text, as a raw client would.
          const raw =
            ifMatch === null ? '' : Buffer.from(ifMatch.replace(/[\r\n\0]/g, '')).toString('latin1');
          const headers: Record<string, string> = ifMatch === null ? {} : { 'if-match': raw };
          const bad =
            method === 'PATCH' ? { contentType: 'application/json', body: '{"title":"hijack"}' } : undefined;
          await expectApiError(await send(method, `/api/notes/${encodeURIComponent(id)}`, bad, headers));
        }),
        { numRuns: RUNS },
      );
    },
  );

  it('refuses a body over 256 KB with 413, and a note body over 100 KB with 400', async () => {
    const huge = {
      contentType: 'application/json',
      body: JSON.stringify({ title: 't', body: 'x'.repeat(300 * 1024) }),
    };
    const tooBig = await send('POST', '/api/notes', huge);
    expect(tooBig.status).toBe(413);
    await expectApiError(tooBig);
    const big = {
      contentType: 'application/json',
      body: JSON.stringify({ title: 't', body: 'é'.repeat(60 * 1024) }),
    };
    const tooLong = await send('POST', '/api/notes', big);
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({
      error: { fields: { body: expect.stringMatching(/at most/) } },
    });
  });
});
