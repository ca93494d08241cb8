/** @module The signed-in account's notes under /api/notes. Another account's note is always a 404. */
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { SessionStore } from '#src/auth/sessions.ts';
import { ApiError, notFound, unauthenticated } from '#src/errors.ts';
import { requireAccount, requireSessionCookie } from '#src/middleware/auth/index.ts';
import type { Note, NotesRepository, WriteResult } from '#src/notes/repository.ts';
import { apiRouter } from '#src/routes/router.ts';
import {
  Conflict,
  errors,
  IdParam,
  json,
  jsonRequest,
  ListQuery,
  NoteInput,
  NoteList,
  NotePatch,
  Note as NoteSchema,
  VersionQuery,
} from '#src/routes/schemas.ts';

const tags = ['notes'];
const security = [{ session: [] }];

const list = createRoute({
  method: 'get',
  path: '/notes',
  tags,
  security,
  summary: 'List notes, newest first, optionally searching',
  request: { query: ListQuery },
  responses: { 200: json(NoteList, 'A page of notes'), ...errors(400, 401, 503) },
});
const create = createRoute({
  method: 'post',
  path: '/notes',
  tags,
  security,
  summary: 'Create a note',
  request: jsonRequest(NoteInput),
  responses: { 201: json(NoteSchema, 'Created'), ...errors(400, 401, 403, 413, 415, 503) },
});
const read = createRoute({
  method: 'get',
  path: '/notes/{id}',
  tags,
  security,
  summary: 'Read a note (its ETag is its version)',
  request: { params: IdParam },
  responses: { 200: json(NoteSchema, 'The note'), ...errors(401, 404, 503) },
});
const patch = createRoute({
  method: 'patch',
  path: '/notes/{id}',
  tags,
  security,
  summary: 'Change a note if it is still at the given version (If-Match or body.version)',
  request: { params: IdParam, ...jsonRequest(NotePatch) },
  responses: {
    200: json(NoteSchema, 'Changed'),
    409: json(Conflict, 'Changed meanwhile: `current` is the note as it is now'),
    ...errors(400, 401, 403, 404, 413, 415, 428, 503),
  },
});
const remove = createRoute({
  method: 'delete',
  path: '/notes/{id}',
  tags,
  security,
  summary: 'Delete a note if it is still at the given version (If-Match or ?version=)',
  request: { params: IdParam, query: VersionQuery },
  responses: {
    204: { description: 'Deleted' },
    409: json(Conflict, 'Changed meanwhile: `current` is the note as it is now'),
    ...errors(400, 401, 403, 404, 428, 503),
  },
});

/** The version a write is conditional on: `If-Match: "3"` (or W/"3", or 3), else the one given in the request. */
function expectedVersion(c: Context, given: number | undefined): number {
  const header = c.req.header('if-match');
  if (header !== undefined) {
    const match = /^\s*(?:W\/)?"?(\d{1,10})"?\s*$/.exec(header);
    const version = match?.[1] ? Number(match[1]) : Number.NaN;
    if (!Number.isInteger(version) || version < 1 || version > 2_147_483_647) {
      throw new ApiError(400, 'invalid_if_match', 'If-Match must be the note\'s version, e.g. "3".');
    }
    if (given !== undefined && given !== version) {
      throw new ApiError(400, 'version_mismatch', 'If-Match and version name different versions; send one.');
    }
    return version;
  }
  if (given === undefined) {
    throw new ApiError(
      428,
      'version_required',
      'Say which version you changed: If-Match or a version field.',
    );
  }
  return given;
}

function conflictOr(result: WriteResult): Note {
  if (result.kind === 'missing') throw notFound();
  if (result.kind === 'conflict') {
    throw new ApiError(409, 'version_conflict', 'The note changed since you loaded it.', {
      extra: { current: result.current },
      headers: { ETag: `"${result.current.version}"` },
    });
  }
  return result.note;
}

export function notesRoutes(deps: { notes: NotesRepository; sessions: SessionStore }) {
  const { notes } = deps;
  const routes = apiRouter();
  // The list, the busiest route, looks its session up in its own statement: one round trip, not two.
  // Its guard is registered on the route (so HEAD, which Hono routes as GET, gets it too) and only
  // checks the cookie; every other request under /notes goes through requireAccount.
  const guard = requireAccount(deps.sessions);
  routes.get('/notes', requireSessionCookie());
  routes.use('/notes/*', (c, next) => (c.get('sessionHash') ? next() : guard(c, next)));

  routes.openapi(list, async (c) => {
    const { limit, cursor, q } = c.req.valid('query');
    const page = await notes.listForSession(c.get('sessionHash'), { limit, cursor, q });
    if (!page) throw unauthenticated();
    return c.json(page, 200);
  });

  routes.openapi(create, async (c) => {
    const note = await notes.create(c.get('account').accountId, c.req.valid('json'));
    c.header('Location', `/api/notes/${note.id}`);
    c.header('ETag', `"${note.version}"`);
    return c.json(note, 201);
  });

  routes.openapi(read, async (c) => {
    const note = await notes.get(c.get('account').accountId, c.req.valid('param').id);
    if (!note) throw notFound();
    c.header('ETag', `"${note.version}"`);
    c.header('Cache-Control', 'private, no-cache');
    return c.json(note, 200);
  });

  routes.openapi(patch, async (c) => {
    const { version, ...changes } = c.req.valid('json');
    const expected = expectedVersion(c, version);
    const result = await notes.update(c.get('account').accountId, c.req.valid('param').id, expected, changes);
    const note = conflictOr(result);
    c.header('ETag', `"${note.version}"`);
    return c.json(note, 200);
  });

  routes.openapi(remove, async (c) => {
    const expected = expectedVersion(c, c.req.valid('query').version);
    conflictOr(await notes.remove(c.get('account').accountId, c.req.valid('param').id, expected));
    return c.body(null, 204);
  });
  return routes;
}
