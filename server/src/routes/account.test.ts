import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_BATCH_NOTES, notesRepository } from '#src/notes/repository.ts';
import { EXPORTS_PER_ACCOUNT } from '#src/routes/account.ts';
import { createTestApp, httpStatus, PASSWORD, type TestApp } from '#src/testing.ts';

describe('account self-service', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('refuses a second account with the same email, whatever its case', async () => {
    const first = t.client();
    const account = await first.signup();
    const again = await t.client().request('/api/auth/signup', {
      method: 'POST',
      json: { email: `  ${account.email.toUpperCase()} `, password: PASSWORD },
    });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: 'email_taken' } });
  });

  it('refuses a password with a lone surrogate, which would hash like any other one', async () => {
    // As UTF-8 every lone surrogate is U+FFFD, so "\ud800…" and "\udfff…" would be one password.
    const signup = await t.client().request('/api/auth/signup', {
      method: 'POST',
      json: { email: 'surrogate@example.test', password: '\ud800aaaaaaaaaaaa' },
    });
    expect(signup.status).toBe(400);
    expect(await signup.json()).toMatchObject({
      error: { fields: { password: expect.stringMatching(/Unicode/) } },
    });
  });

  it('answers a wrong password and an unknown account alike', async () => {
    const account = await t.client().signup();
    const wrong = await t.client().request('/api/auth/login', {
      method: 'POST',
      json: { email: account.email, password: 'not the password' },
    });
    const unknown = await t.client().request('/api/auth/login', {
      method: 'POST',
      json: { email: 'nobody-here@example.test', password: 'not the password' },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.json()).toEqual(await unknown.json());
  });

  it('changing the password signs out every other session and keeps this one', async () => {
    const here = t.client();
    const account = await here.signup();
    const elsewhere = t.client();
    await elsewhere.request('/api/auth/login', {
      method: 'POST',
      json: { email: account.email, password: PASSWORD },
    });
    expect((await elsewhere.request('/api/auth/me')).status).toBe(200);

    const wrong = await here.request('/api/account/password', {
      method: 'POST',
      json: { currentPassword: 'definitely wrong', newPassword: 'a brand new password' },
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: { code: 'wrong_password' } });

    const changed = await here.request('/api/account/password', {
      method: 'POST',
      json: { currentPassword: PASSWORD, newPassword: 'a brand new password' },
    });
    expect(changed.status).toBe(204);
    expect((await here.request('/api/auth/me')).status).toBe(200);
    expect((await elsewhere.request('/api/auth/me')).status).toBe(401);

    const oldPassword = await t.client().request('/api/auth/login', {
      method: 'POST',
      json: { email: account.email, password: PASSWORD },
    });
    expect(oldPassword.status).toBe(401);
    const newPassword = await t.client().request('/api/auth/login', {
      method: 'POST',
      json: { email: account.email, password: 'a brand new password' },
    });
    expect(newPassword.status).toBe(200);
  });

  it('a sign-in that verified the old password cannot start a session after the password changed', async () => {
    const here = t.client();
    const account = await here.signup();
    const [before] = await t.db.sql<
      { hash: string }[]
    >`select password_hash as hash from accounts where id = ${account.id}`;
    await here.request('/api/account/password', {
      method: 'POST',
      json: { currentPassword: PASSWORD, newPassword: 'another fresh password' },
    });
    // What a sign-in that checked the old hash just before the change would try next:
    const { sessionStore } = await import('#src/auth/sessions.ts');
    expect(await sessionStore(t.db, 1).create(account.id, before?.hash ?? '')).toBeUndefined();
  });

  it('signing out everywhere revokes every session, this one included', async () => {
    const here = t.client();
    const account = await here.signup();
    const elsewhere = t.client();
    await elsewhere.request('/api/auth/login', {
      method: 'POST',
      json: { email: account.email, password: PASSWORD },
    });
    const response = await here.request('/api/account/sign-out-everywhere', { method: 'POST' });
    expect(response.status).toBe(204);
    expect((await here.request('/api/auth/me')).status).toBe(401);
    expect((await elsewhere.request('/api/auth/me')).status).toBe(401);
  });

  it('exports the account and its notes as a JSON download', async () => {
    const user = t.client();
    const account = await user.signup();
    await user.request('/api/notes', { method: 'POST', json: { title: 'One', body: 'first' } });
    await user.request('/api/notes', { method: 'POST', json: { title: 'Two', body: 'second' } });
    const response = await user.request('/api/account/export');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(
      /^attachment; filename="plumb-notes-\d{4}-\d\d-\d\d\.json"$/,
    );
    const exported = (await response.json()) as {
      account: { id: string; email: string };
      notes: { title: string }[];
    };
    expect(exported.account).toMatchObject({ id: account.id, email: account.email });
    expect(exported.notes.map((note) => note.title)).toEqual(['One', 'Two']);
    expect(JSON.stringify(exported)).not.toMatch(/password|argon2/i);
  });

  it('exports every note in order across batches, each once', async () => {
    const user = t.client();
    await user.signup();
    const titles = Array.from({ length: EXPORT_BATCH_NOTES * 2 + 3 }, (_, i) => `Note ${i}`);
    for (const title of titles) await user.request('/api/notes', { method: 'POST', json: { title } });
    const exported = (await (await user.request('/api/account/export')).json()) as {
      notes: { title: string }[];
    };
    expect(exported.notes.map((note) => note.title)).toEqual(titles);
  });

  it('an export waiting for its client holds no database connection', async () => {
    // More exports than the pool has connections (5 here), each waiting on a client that never
    // reads: before, each held its connection, and every other statement waited without end.
    const user = t.client();
    const account = await user.signup();
    // More than one batch: the first is handed over while the rest are still to be read.
    for (let i = 0; i <= EXPORT_BATCH_NOTES; i++) {
      await user.request('/api/notes', { method: 'POST', json: { title: `Note ${i}` } });
    }
    const notes = notesRepository(t.db);
    for (let i = 0; i < 7; i++) void notes.forEachBatch(account.id, () => new Promise<undefined>(() => {}));
    const answered = await Promise.race([
      t.db.run((sql) => sql`select 1 as one`).then(() => 'answered'),
      new Promise((resolve) => setTimeout(() => resolve('no connection in 5 s'), 5_000)),
    ]);
    expect(answered).toBe('answered');
  });

  it('downloads that are not read: two per account at most (429 after), freed when their clients go; others are served', async () => {
    const hoarder = t.client();
    await hoarder.signup();
    const body = 'x'.repeat(100 * 1024);
    for (let i = 0; i < 100; i++) {
      const created = await hoarder.request('/api/notes', {
        method: 'POST',
        json: { title: `Big ${i}`, body },
      });
      expect(created.status).toBe(201);
    }
    const other = t.client();
    await other.signup();
    const base = await t.serve();
    const { port } = new URL(base);
    const exportOf = (cookie: string) =>
      fetch(`${base}/api/account/export`, { headers: { cookie }, signal: AbortSignal.timeout(5_000) });
    const stalled: Socket[] = [];
    try {
      for (let i = 0; i < EXPORTS_PER_ACCOUNT; i++) {
        const socket = connect(Number(port), '127.0.0.1');
        socket.write(`GET /api/account/export HTTP/1.1\r\nHost: x\r\nCookie: ${hoarder.cookie()}\r\n\r\n`);
        socket.pause();
        stalled.push(socket);
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const third = await exportOf(hoarder.cookie() ?? '');
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toBe('10');
      expect(await third.json()).toMatchObject({ error: { code: 'export_running' } });

      const listed = await fetch(`${base}/api/notes`, {
        headers: { cookie: other.cookie() ?? '' },
        signal: AbortSignal.timeout(5_000),
      });
      expect(listed.status).toBe(200);
      expect(await httpStatus(`${base}/readyz`, 5_000)).toBe(200);
    } finally {
      for (const socket of stalled) socket.destroy();
    }
    // Their clients gone, the two downloads end and free their places.
    let status = 0;
    for (let tries = 0; tries < 50 && status !== 200; tries++) {
      const again = await exportOf(hoarder.cookie() ?? '');
      status = again.status;
      await again.body?.cancel();
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
  }, 60_000);

  it('deletes the account with its notes and sessions, only after the password', async () => {
    const user = t.client();
    const account = await user.signup();
    await user.request('/api/notes', { method: 'POST', json: { title: 'Doomed', body: '' } });
    const refused = await user.request('/api/account', {
      method: 'DELETE',
      json: { password: 'not my password' },
    });
    expect(refused.status).toBe(400);
    expect((await user.request('/api/auth/me')).status).toBe(200);

    const deleted = await user.request('/api/account', { method: 'DELETE', json: { password: PASSWORD } });
    expect(deleted.status).toBe(204);
    expect((await user.request('/api/auth/me')).status).toBe(401);
    const [left] = await t.db.sql<{ accounts: number; notes: number; sessions: number }[]>`
      select (select count(*)::int from accounts where id = ${account.id}) as accounts,
             (select count(*)::int from notes where account_id = ${account.id}) as notes,
             (select count(*)::int from sessions where account_id = ${account.id}) as sessions`;
    expect(left).toEqual({ accounts: 0, notes: 0, sessions: 0 });
    const login = await t.client().request('/api/auth/login', {
      method: 'POST',
      json: { email: account.email, password: PASSWORD },
    });
    expect(login.status).toBe(401);
  });

  it('never stores or returns the password', async () => {
    const user = t.client();
    const account = await user.signup(undefined, 'a very memorable password');
    const [row] = await t.db.sql<
      { hash: string }[]
    >`select password_hash as hash from accounts where id = ${account.id}`;
    expect(row?.hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row?.hash).not.toContain('a very memorable password');
  });
});
