import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliedMigrations, migrate, migrationStatus } from '#src/migrate.ts';
import { compareMigrationFiles, listMigrations, migrationName } from '#src/migrations.ts';
import { createTestDatabase, type TestDatabase } from '#src/testing.ts';

const tables = async (sql: postgres.Sql) =>
  (
    await sql<{ name: string }[]>`
    select table_name as name from information_schema.tables
    where table_schema = 'public' order by table_name`
  ).map((row) => row.name);

describe('migrate', () => {
  const databases: TestDatabase[] = [];
  const sqls: postgres.Sql[] = [];
  const emptyDatabase = async () => {
    const db = await createTestDatabase({ migrated: false });
    databases.push(db);
    const sql = postgres(db.url, { max: 2, onnotice: () => {} });
    sqls.push(sql);
    return { db, sql };
  };
  afterAll(async () => {
    await Promise.all(sqls.map((sql) => sql.end({ timeout: 5 })));
    await Promise.all(databases.map((db) => db.drop()));
  });

  it('applies every migration to an empty database, then nothing on a second run', async () => {
    const { db, sql } = await emptyDatabase();
    const known = await listMigrations();
    expect(known.length).toBeGreaterThan(0);

    const lines: string[] = [];
    const first = await migrate({ url: db.url, log: (line) => lines.push(line) });
    expect(first).toEqual(known);
    expect(lines.filter((line) => line.startsWith('applied '))).toHaveLength(known.length);
    expect(await tables(sql)).toEqual(expect.arrayContaining(['accounts', 'notes', 'schema_migrations']));

    expect(await migrate({ url: db.url })).toEqual([]);
    expect(await appliedMigrations(sql)).toEqual(known);
  });

  it('lets five runners start at once: all succeed and each migration is applied exactly once', async () => {
    const { db, sql } = await emptyDatabase();
    const runs = await Promise.all(Array.from({ length: 5 }, () => migrate({ url: db.url })));

    const known = await listMigrations();
    expect(runs.flat().sort()).toEqual(known);
    expect(runs.filter((applied) => applied.length > 0)).toHaveLength(1);
    const rows = await sql<{ name: string; count: number }[]>`
      select name, count(*)::int as count from schema_migrations group by name order by name`;
    expect(rows).toEqual(known.map((name) => ({ name, count: 1 })));
  });

  it('reports pending and applied migrations with plain queries', async () => {
    const { db, sql } = await emptyDatabase();
    const known = await listMigrations();
    expect(await migrationStatus(sql)).toEqual({ applied: [], pending: known });
    expect(await tables(sql)).toEqual([]); // reading the status created nothing
    await migrate({ url: db.url });
    expect(await migrationStatus(sql)).toEqual({ applied: known, pending: [] });
  });

  describe('a migration that fails', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'plumb-migrations-'));
      await writeFile(
        join(dir, '001-good.js'),
        'export async function up(sql) { await sql`create table good (id int)`; }\n',
      );
      await writeFile(
        join(dir, '002-broken.js'),
        'export async function up(sql) { await sql`create table half (id int)`; await sql`select * from missing_table`; }\n',
      );
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('rolls back its own changes, keeps the ones before it, and names the file', async () => {
      const { db, sql } = await emptyDatabase();
      const error = await migrate({ url: db.url, dir }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/missing_table/);
      expect(await tables(sql)).toEqual(['good', 'schema_migrations']);
      expect(await appliedMigrations(sql)).toEqual(['001-good']);
    });
  });
});

describe('migrationName', () => {
  it('names a migration by its file name without the extension, the same in .ts and .js', () => {
    expect(migrationName('001-accounts-and-notes.ts')).toBe('001-accounts-and-notes');
    expect(migrationName('001-accounts-and-notes.js')).toBe('001-accounts-and-notes');
    expect(migrationName('README.md')).toBeUndefined();
    expect(migrationName('001-x.test.ts')).toBeUndefined();
  });
});

describe('compareMigrationFiles', () => {
  it('orders files as ley applies them (localeCompare with numeric collation), numbers of any width included', () => {
    const files = [
      '10-ten.ts',
      '2-two.ts',
      '002-also-two.ts',
      '0002-b.ts',
      '02-A.ts',
      '1-one.ts',
      '1-one-more.ts',
      '20241127120000-timestamped.ts',
      '999999999999999999999-huge.ts',
      `${'9'.repeat(254)}-longer-than-icu-compares-whole.ts`,
      `1${'0'.repeat(254)}-longer-still.ts`,
      '3-x_y.ts',
      '3-x-y.ts',
      '003-X.ts',
      '100-hundred.ts',
      '0-zero.ts',
    ];
    const ley = [...files].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    expect([...files].sort(compareMigrationFiles)).toEqual(ley);
    expect([...files].reverse().sort(compareMigrationFiles)).toEqual(ley);
  });

  it('lists migration names in the order of their files, as ley applies them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plumb-order-'));
    try {
      for (const file of ['1-a.ts', '1-a-b.ts', '10-c.ts', '9-d.ts', 'README.md']) {
        await writeFile(join(dir, file), 'export async function up() {}\n');
      }
      expect(await listMigrations(dir)).toEqual(['1-a-b', '1-a', '9-d', '10-c']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
