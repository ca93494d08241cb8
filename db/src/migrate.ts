/** @module Applies the migrations with ley under a PostgreSQL advisory lock, so any number of runners may start at once. */
import { readdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import * as ley from 'ley';
import postgres from 'postgres';
import { defaultMigrationsDir, listMigrations, MIGRATIONS_TABLE, migrationName } from '#src/migrations.ts';

/** One key for "the schema of this database is being changed"; every runner waits on it. */
const MIGRATION_LOCK_KEY = 'plumb:migrations';

type Sql = postgres.Sql;
type MigrationFile = { name: string; abs: string };
type MigrationModule = { up?: (sql: postgres.TransactionSql) => Promise<unknown> };

export interface MigrateOptions {
  /** PostgreSQL connection string. */
  url: string;
  /** Folder holding the migration files. @default the migrations shipped with this build */
  dir?: string;
  /** How long to wait for another runner's lock. @default 300000 */
  lockTimeoutMs?: number;
  /** Progress output, one line per event. @default no output */
  log?: (line: string) => void;
}

/**
 * Applies every pending migration, each in its own transaction together with its record, and
 * returns the names it applied (none when the schema is current). Concurrent runners serialize
 * on an advisory lock taken before the applied list is read, so exactly one applies each file.
 *
 * @example
 * const applied = await migrate({ url: process.env.DATABASE_URL, log: console.log });
 */
export async function migrate(options: MigrateOptions): Promise<string[]> {
  const dir = options.dir ?? defaultMigrationsDir;
  const log = options.log ?? (() => {});
  const fileNames = await readdir(dir);
  const driver = createDriver(fileNames, options.lockTimeoutMs ?? 300_000, log);
  const applied = await ley.up({ cwd: dir, dir: '.', driver: driver as never, config: { url: options.url } });
  return applied.map((file) => migrationName(file) ?? file);
}

/** What is applied and what is pending, read with plain queries (ley's status call would create tables). */
export async function migrationStatus(
  sql: Sql,
  dir: string = defaultMigrationsDir,
): Promise<{ applied: string[]; pending: string[] }> {
  const [known, applied] = await Promise.all([listMigrations(dir), appliedMigrations(sql)]);
  const done = new Set(applied);
  return { applied, pending: known.filter((name) => !done.has(name)) };
}

/** The names recorded in the migrations table; empty when the table does not exist yet. */
export async function appliedMigrations(sql: Sql): Promise<string[]> {
  const [table] = await sql<{ exists: boolean }[]>`
    select to_regclass(${MIGRATIONS_TABLE}) is not null as exists`;
  if (!table?.exists) return [];
  const rows = await sql<{ name: string }[]>`select name from ${sql(MIGRATIONS_TABLE)} order by id`;
  return rows.map((row) => row.name);
}

/**
 * A ley driver over one postgres.js connection (the advisory lock is held by a session). ley
 * compares names with extensions, so stored names are mapped back to the file that carries them.
 */
function createDriver(fileNames: readonly string[], lockTimeoutMs: number, log: (line: string) => void) {
  const fileByName = new Map<string, string>();
  for (const file of fileNames) {
    const name = migrationName(file);
    if (name) fileByName.set(name, file);
  }
  return {
    connect(config: { url: string }): Sql {
      return postgres(config.url, {
        max: 1,
        onnotice: () => {},
        connection: { application_name: 'plumb-migrate' },
      });
    },
    async setup(sql: Sql): Promise<{ name: string }[]> {
      const started = performance.now();
      await sql`select set_config('lock_timeout', ${String(lockTimeoutMs)}, false)`;
      await sql`select pg_advisory_lock(hashtextextended(${MIGRATION_LOCK_KEY}, 0))`;
      await sql`select set_config('lock_timeout', '0', false)`;
      const waited = performance.now() - started;
      if (waited > 1_000) log(`waited ${Math.round(waited)} ms for another migration run to finish`);
      await sql`
        create table if not exists ${sql(MIGRATIONS_TABLE)} (
          id serial primary key,
          name text not null unique,
          applied_at timestamptz not null default now()
        )`;
      const applied = await appliedMigrations(sql);
      return applied.map((name) => ({ name: fileByName.get(name) ?? name }));
    },
    async loop(sql: Sql, files: MigrationFile[], method: 'up' | 'down'): Promise<void> {
      if (method !== 'up') throw new Error('Plumb migrations only go forward (expand, then contract).');
      for (const file of files) {
        const name = migrationName(file.name) ?? file.name;
        const started = performance.now();
        const module = (await import(pathToFileURL(file.abs).href)) as MigrationModule;
        if (typeof module.up !== 'function')
          throw new Error(`Migration ${file.name} exports no up() function`);
        const up = module.up;
        await sql.begin(async (tx) => {
          await up(tx);
          await tx`insert into ${tx(MIGRATIONS_TABLE)} (name) values (${name})`;
        });
        log(`applied ${name} (${Math.round(performance.now() - started)} ms)`);
      }
    },
    async end(sql: Sql): Promise<void> {
      // Closing the session releases the advisory lock for the next runner.
      await sql.end({ timeout: 5 });
    },
  };
}
