import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Note as NoteJson } from '#src/notes/repository.ts';
import { createTestApp, type TestApp, type TestClient } from '#src/testing.ts';

/**
 * Every route that names a note, acted on by another account. Each must answer 404 (never 403:
 * another account's note must not even be known to exist) and leave the note as it was.
 */
const noteRoutes: { name: string; call: (client: TestClient, note: NoteJson) => Promise<Response> }[] = [
  { name: 'GET /api/notes/:id', call: (c, n) => c.request(`/api/notes/${n.id}`) },
  {
    name: 'PATCH /api/notes/:id (If-Match)',
    call: (c, n) =>
      c.request(`/api/notes/${n.id}`, {
        method: 'PATCH',
        headers: { 'if-match': `"${n.version}"` },
        json: { title: 'B was here' },
      }),
  },
  {
    name: 'PATCH /api/notes/:id (body version)',
    call: (c, n) =>
      c.request(`/api/notes/${n.id}`, { method: 'PATCH', json: { body: 'B was here', version: n.version } }),
  },
  {
    name: 'DELETE /api/notes/:id (If-Match)',
    call: (c, n) =>
      c.request(`/api/notes/${n.id}`, { method: 'DELETE', headers: { 'if-match': `"${n.version}"` } }),
  },
  {
    name: 'DELETE /api/notes/:id (?version)',
    call: (c, n) => c.request(`/api/notes/${n.id}?version=${n.version}`, { method: 'DELETE' }),
  },
];

describe('authorization', () => {
  let t: TestApp;
  let alice: TestClient;
  let bob: TestClient;
  let note: NoteJson;

  beforeAll(async () => {
    t = await createTestApp();
    alice = t.client();
    bob = t.client();
    await alice.signup();
    await bob.signup();
    const response = await alice.request('/api/notes', {
      method: 'POST',
      json: { title: 'Alice private', body: 'only for alice' },
    });
    note = (await response.json()) as NoteJson;
  });
  afterAll(() => t.close());

  it.each(noteRoutes)('$name by another account is 404 and changes nothing', async ({ call }) => {
    const response = await call(bob, note);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'not_found', message: 'Not found.' } });
    const still = await alice.request(`/api/notes/${note.id}`);
    expect(still.status).toBe(200);
    expect(await still.json()).toEqual(note);
  });

  it("an id that does not exist answers exactly as another account's note does", async () => {
    const missing = { ...note, id: '00000000-0000-4000-8000-000000000000' };
    for (const { call } of noteRoutes) {
      const [theirs, nobodys] = await Promise.all([call(bob, note), call(bob, missing)]);
      expect(nobodys.status).toBe(theirs.status);
      expect(await nobodys.json()).toEqual(await theirs.json());
    }
  });

  it("lists, searches and exports never include another account's notes", async () => {
    const list = (await (await bob.request('/api/notes')).json()) as { items: NoteJson[] };
    expect(list.items).toEqual([]);
    const search = (await (await bob.request('/api/notes?q=alice')).json()) as { items: NoteJson[] };
    expect(search.items).toEqual([]);
    const exported = (await (await bob.request('/api/account/export')).json()) as { notes: NoteJson[] };
    expect(exported.notes).toEqual([]);
  });

  const signedOutRoutes = [
    ['GET', '/api/auth/me'],
    ['GET', '/api/notes'],
    ['POST', '/api/notes'],
    ['GET', '/api/notes/00000000-0000-4000-8000-000000000000'],
    ['PATCH', '/api/notes/00000000-0000-4000-8000-000000000000'],
    ['DELETE', '/api/notes/00000000-0000-4000-8000-000000000000'],
    ['POST', '/api/account/password'],
    ['POST', '/api/account/sign-out-everywhere'],
    ['GET', '/api/account/export'],
    ['DELETE', '/api/account'],
  ] as const;

  it.each(signedOutRoutes)('%s %s without a session is 401', async (method, path) => {
    const anonymous = t.client();
    const response = await anonymous.request(path, { method, ...(method === 'GET' ? {} : { json: {} }) });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: 'unauthenticated' } });
  });

  it('HEAD /api/notes answers as GET does: 200 with a session, 401 without', async () => {
    const signedIn = t.client();
    await signedIn.signup();
    expect((await signedIn.request('/api/notes', { method: 'HEAD' })).status).toBe(200);
    expect((await t.client().request('/api/notes', { method: 'HEAD' })).status).toBe(401);
  });

  // The notes list looks its session up in its own statement; the others through the guard.
  const sessionChecks = ['/api/auth/me', '/api/notes', '/api/notes?q=private&limit=5'];

  it.each(sessionChecks)('GET %s with a forged, malformed or expired session cookie is 401', async (path) => {
    for (const token of ['A'.repeat(43), 'short', '']) {
      const forged = await t.app.request(path, { headers: { cookie: `plumb_session=${token}` } });
      expect(forged.status, token).toBe(401);
      expect(await forged.json()).toMatchObject({ error: { code: 'unauthenticated' } });
    }
    const expiredClient = t.client();
    await expiredClient.signup();
    await expiredClient.request('/api/notes', { method: 'POST', json: { title: 'private', body: '' } });
    expect((await expiredClient.request(path)).status).toBe(200);
    await t.db.sql`update sessions set expires_at = now() - interval '1 second' where expires_at > now()`;
    expect((await expiredClient.request(path)).status).toBe(401);
  });
});
