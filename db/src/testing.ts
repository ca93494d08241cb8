/** @module Test helpers: a database of one's own per test file, on the run's PostgreSQL (see test-global-setup.ts). */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { withDatabase } from '#src/connection-url.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A connection string with the right to create databases. */
    postgresAdminUrl: string;
    /** A database with every migration applied, to copy with `create database … template`. */
    migratedTemplate: string;
  }
}

export interface TestDatabase {
  /** Connection string of the new database. */
  url: string;
  name: string;
  /** Drops the database (closing whatever is still connected to it). */
  drop(): Promise<void>;
}

/**
 * Creates a fresh database: migrated (a copy of the run's template) or empty.
 *
 * @example
 * const db = await createTestDatabase();
 * afterAll(() => db.drop());
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = inject('postgresAdminUrl');
  const name = `plumb_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await (options.migrated === false
      ? admin`create database ${admin(name)}`
      : admin`create database ${admin(name)} template ${admin(inject('migratedTemplate'))}`);
    // Not UTC, and not a whole hour from it: code that leaves a time's zone to the session shows here.
    await admin`alter database ${admin(name)} set timezone to 'Asia/Kathmandu'`;
  } finally {
    await admin.end({ timeout: 5 });
  }
  return {
    url: withDatabase(adminUrl, name),
    name,
    async drop() {
      const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await sql`drop database if exists ${sql(name)} with (force)`;
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}
