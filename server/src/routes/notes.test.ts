import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIST_PAGE_CHARACTERS, type Note as NoteJson } from '#src/notes/repository.ts';
import { createTestApp, type TestApp } from '#src/testing.ts';

describe('notes: the whole flow', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('signup → login → create → list → search → patch → conflicting patch → delete → logout → 401', async () => {
    const signupClient = t.client();
    const account = await signupClient.signup();
    expect(signupClient.cookie()).toMatch(/^plumb_session=/);

    const user = t.client();
    const login = await user.request('/api/auth/login', {
      method: 'POST',
      json: { email: account.email.toUpperCase(), password: account.password },
    });
    expect(login.status).toBe(200);
    expect(await login.json()).toEqual({ id: account.id, email: account.email });
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).not.toMatch(/Secure/); // plain http here

    const me = await user.request('/api/auth/me');
    expect(await me.json()).toEqual({ id: account.id, email: account.email });

    const created = await user.request('/api/notes', {
      method: 'POST',
      json: { title: 'Groceries', body: 'Milk, eggs and running shoes' },
    });
    expect(created.status).toBe(201);
    const first = (await created.json()) as NoteJson;
    expect(first).toMatchObject({ title: 'Groceries', body: 'Milk, eggs and running shoes', version: 1 });
    expect(created.headers.get('location')).toBe(`/api/notes/${first.id}`);
    expect(created.headers.get('etag')).toBe('"1"');
    expect(new Date(first.createdAt).toISOString()).toBe(first.createdAt);

    const second = (await (
      await user.request('/api/notes', {
        method: 'POST',
        json: { title: 'Ideas', body: 'A plumbing startup' },
      })
    ).json()) as NoteJson;

    const list = await user.request('/api/notes');
    expect(list.status).toBe(200);
    const page = (await list.json()) as { items: NoteJson[]; nextCursor: string | null };
    expect(page.items.map((note) => note.id)).toEqual([second.id, first.id]);
    expect(page.nextCursor).toBeNull();

    const search = await user.request(`/api/notes?q=${encodeURIComponent('run')}`);
    const found = (await search.json()) as { items: NoteJson[] };
    expect(found.items.map((note) => note.id)).toEqual([first.id]); // stemming: "run" finds "running"

    const patched = await user.request(`/api/notes/${first.id}`, {
      method: 'PATCH',
      headers: { 'if-match': '"1"' },
      json: { body: 'Milk and eggs' },
    });
    expect(patched.status).toBe(200);
    const v2 = (await patched.json()) as NoteJson;
    expect(v2).toMatchObject({ id: first.id, title: 'Groceries', body: 'Milk and eggs', version: 2 });
    expect(patched.headers.get('etag')).toBe('"2"');

    const stale = await user.request(`/api/notes/${first.id}`, {
      method: 'PATCH',
      json: { body: 'An edit made on version 1', version: 1 },
    });
    expect(stale.status).toBe(409);
    const conflict = (await stale.json()) as { error: { code: string }; current: NoteJson };
    expect(conflict.error.code).toBe('version_conflict');
    expect(conflict.current).toEqual(v2);

    const unchanged = (await (await user.request(`/api/notes/${first.id}`)).json()) as NoteJson;
    expect(unchanged).toEqual(v2);

    const staleDelete = await user.request(`/api/notes/${first.id}?version=1`, { method: 'DELETE' });
    expect(staleDelete.status).toBe(409);
    const deleted = await user.request(`/api/notes/${first.id}`, {
      method: 'DELETE',
      headers: { 'if-match': '"2"' },
    });
    expect(deleted.status).toBe(204);
    expect((await user.request(`/api/notes/${first.id}`)).status).toBe(404);

    const loggedInCookie = user.cookie() ?? '';
    const logout = await user.request('/api/auth/logout', { method: 'POST' });
    expect(logout.status).toBe(204);
    expect(logout.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect(user.cookie()).toBeUndefined();
    expect((await user.request('/api/notes')).status).toBe(401);
    // Revoked server-side too: replaying the old cookie does not work.
    const replay = await t.app.request('/api/auth/me', { headers: { cookie: loggedInCookie } });
    expect(replay.status).toBe(401);
    // The sign-up session is another session, still live.
    expect((await signupClient.request('/api/auth/me')).status).toBe(200);
  });

  it('pages through notes with the cursor, newest first, without gaps or repeats', async () => {
    const user = t.client();
    await user.signup();
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      const response = await user.request('/api/notes', {
        method: 'POST',
        json: { title: `Note ${i}`, body: '' },
      });
      ids.push(((await response.json()) as NoteJson).id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=10&cursor=${cursor}` : '?limit=10';
      const page = (await (await user.request(`/api/notes${query}`)).json()) as {
        items: NoteJson[];
        nextCursor: string | null;
      };
      expect(page.items.length).toBeLessThanOrEqual(10);
      seen.push(...page.items.map((note) => note.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it('ends a page of long notes at its text budget; the cursor leads through the rest, each once', async () => {
    // Seven notes of 100 KB: a page of 100 would be 700 KB. Each page stops after the note that
    // crosses LIST_PAGE_CHARACTERS (256 Ki), so what one request holds stays bounded.
    const user = t.client();
    await user.signup();
    const body = 'x'.repeat(100 * 1024);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const response = await user.request('/api/notes', {
        method: 'POST',
        json: { title: `Long ${i}`, body },
      });
      expect(response.status).toBe(201);
      ids.push(((await response.json()) as NoteJson).id);
    }
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const response = await user.request(`/api/notes?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      const page = (await response.json()) as { items: NoteJson[]; nextCursor: string | null };
      expect(page.items.every((note) => note.body === body)).toBe(true);
      sizes.push(page.items.length);
      seen.push(...page.items.map((note) => note.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    expect(Math.ceil(LIST_PAGE_CHARACTERS / (100 * 1024))).toBe(3);
    expect(sizes).toEqual([3, 3, 1]);
  });

  it("sends times as ISO 8601 in UTC with milliseconds, whatever the database session's time zone", async () => {
    const user = t.client();
    await user.signup();
    const created = (await (
      await user.request('/api/notes', { method: 'POST', json: { title: 'Timed', body: '' } })
    ).json()) as NoteJson;
    // Times with microseconds: cut to the millisecond, as a JavaScript Date does.
    await t.db.sql`
      update notes set created_at = '2026-01-02 03:04:05.999999+00', updated_at = '2027-12-31 23:59:59.0005+00'
      where id = ${created.id}`;
    const page = (await (await user.request('/api/notes')).json()) as { items: NoteJson[] };
    const read = (await (await user.request(`/api/notes/${created.id}`)).json()) as NoteJson;
    for (const note of [page.items[0], read]) {
      expect(note?.createdAt).toBe(new Date('2026-01-02T03:04:05.999999Z').toISOString());
      expect(note?.updatedAt).toBe('2027-12-31T23:59:59.000Z');
    }
    expect(created.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('answers a list with one statement: the session is looked up in it (ADR 013)', async () => {
    let statements = 0;
    const counted = await createTestApp(undefined, (db) => ({
      ...db,
      run: (work) => {
        statements++;
        return db.run(work);
      },
    }));
    const user = counted.client();
    await user.signup();
    await user.request('/api/notes', { method: 'POST', json: { title: 'One', body: '' } });
    statements = 0;
    const response = await user.request('/api/notes?limit=5');
    expect(response.status).toBe(200);
    expect(((await response.json()) as { items: NoteJson[] }).items).toHaveLength(1);
    expect(statements).toBe(1);
    await counted.close();
  });

  it('refuses a cursor it never gave out with 400, however large its numbers', async () => {
    const user = t.client();
    await user.signup();
    const id = '00000000-0000-4000-8000-000000000000';
    for (const us of ['9999999999999999999', '9223372036854775807', '99999999999999999999999', 'x']) {
      const cursor = Buffer.from(`${us}.${id}`).toString('base64url');
      const response = await user.request(`/api/notes?cursor=${cursor}`);
      expect(response.status, us).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: 'invalid_cursor' } });
    }
  });

  it('requires a version for writes (428) and refuses a malformed If-Match (400)', async () => {
    const user = t.client();
    await user.signup();
    const note = (await (
      await user.request('/api/notes', { method: 'POST', json: { title: 'x', body: '' } })
    ).json()) as NoteJson;
    const noVersion = await user.request(`/api/notes/${note.id}`, { method: 'PATCH', json: { title: 'y' } });
    expect(noVersion.status).toBe(428);
    expect((await noVersion.json()) as unknown).toMatchObject({ error: { code: 'version_required' } });
    const badHeader = await user.request(`/api/notes/${note.id}`, {
      method: 'PATCH',
      headers: { 'if-match': '*' },
      json: { title: 'y' },
    });
    expect(badHeader.status).toBe(400);
    expect((await user.request(`/api/notes/${note.id}`, { method: 'DELETE' })).status).toBe(428);
    const mismatch = await user.request(`/api/notes/${note.id}`, {
      method: 'PATCH',
      headers: { 'if-match': '"1"' },
      json: { title: 'y', version: 2 },
    });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.json()).toMatchObject({ error: { code: 'version_mismatch' } });
    const empty = await user.request(`/api/notes/${note.id}`, { method: 'PATCH', json: { version: 1 } });
    expect(empty.status).toBe(400);
    const still = (await (await user.request(`/api/notes/${note.id}`)).json()) as NoteJson;
    expect(still.version).toBe(1); // neither bumped the version
  });

  it('trims titles and refuses one that is only white space', async () => {
    const user = t.client();
    await user.signup();
    const created = await user.request('/api/notes', {
      method: 'POST',
      json: { title: '  Padded  ', body: '' },
    });
    expect(((await created.json()) as NoteJson).title).toBe('Padded');
    const blank = await user.request('/api/notes', { method: 'POST', json: { title: '   ', body: '' } });
    expect(blank.status).toBe(400);
  });
});
