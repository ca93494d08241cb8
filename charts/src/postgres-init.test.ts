import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '@plumb/db';
import { withDatabase } from '@plumb/db/connection-url';
import { createTestDatabase, type TestDatabase } from '@plumb/db/testing';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { APP_ROLE_SCRIPT } from '#src/k8s/postgres.ts';

// The script runs in the official image with its psql; here, Debian's (postgresql-client).
const psql = spawnSync('psql', ['--version'], { encoding: 'utf8' });

describe("the bundled PostgreSQL's init script", () => {
  if (psql.status !== 0) {
    if (process.env.CI === 'true') {
      it('psql is on PATH (required in CI)', () => {
        expect.fail('psql is missing: CI must run the bundled PostgreSQL init script with it');
      });
    } else {
      console.warn("charts: psql not found; the bundled PostgreSQL's init script is not run here");
    }
    return;
  }

  let db: TestDatabase;
  let dir: string;
  const admin = new URL(inject('postgresAdminUrl'));
  const password = randomBytes(12).toString('hex');
  /** Runs the script as the image does: as its superuser, on a database made for it. */
  const run = async (env: Record<string, string>) => {
    const script = join(dir, 'app-role.sh');
    await writeFile(script, APP_ROLE_SCRIPT, { mode: 0o555 });
    // Through sh, as the image's executable bit would (a temporary folder may be mounted noexec).
    return spawnSync('sh', [script], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        PGHOST: admin.hostname,
        PGPORT: admin.port,
        PGPASSWORD: decodeURIComponent(admin.password),
        POSTGRES_USER: decodeURIComponent(admin.username),
        POSTGRES_DB: db.name,
        ...env,
      },
    });
  };
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
    dir = await mkdtemp(join(tmpdir(), 'plumb-init-'));
  });
  afterAll(async () => {
    await db.drop();
    const sql = postgres(admin.href, { max: 1, onnotice: () => {} });
    await sql`drop role if exists ${sql(db.name)}`;
    await sql.end();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to run without the role’s password, naming the Secret key', async () => {
    const result = await run({});
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('the Secret plumb-database needs POSTGRES_PASSWORD');
  });

  it('makes a role that owns its database, migrates it and serves from it, and is no superuser', async () => {
    const result = await run({ PLUMB_PASSWORD: password });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`created role ${db.name}, owner of database ${db.name}, not a superuser`);

    const url = new URL(withDatabase(admin.href, db.name));
    url.username = db.name;
    url.password = password;
    // The migrate job's work: tables in the public schema, which the database's owner may create in.
    expect(await migrate({ url: url.href })).not.toEqual([]);
    const sql = postgres(url.href, { max: 1, onnotice: () => {} });
    try {
      const [me] = await sql<
        { rolsuper: boolean }[]
      >`select rolsuper from pg_roles where rolname = session_user`;
      expect(me?.rolsuper).toBe(false);
      await sql`insert into accounts (email, password_hash) values ('owner@example.test', 'x')`;
      expect(await sql`select email from accounts`).toEqual([{ email: 'owner@example.test' }]);
      // What a superuser could do and this role cannot: run programs, read the server's files, make roles.
      await expect(sql`copy (select 1) to program 'true'`).rejects.toMatchObject({ code: '42501' });
      await expect(sql`select pg_read_file('postgresql.conf')`).rejects.toMatchObject({ code: '42501' });
      await expect(sql`create role intruder superuser`).rejects.toMatchObject({ code: '42501' });
    } finally {
      await sql.end();
    }
  });
});
