/**
 * @module Vitest global setup: one PostgreSQL for the whole run (embedded, or `TEST_DATABASE_URL`),
 * and a migrated template database that each test file copies into a database of its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { withDatabase } from '#src/connection-url.ts';
import { startEmbeddedPostgres } from '#src/embedded-postgres.ts';
import { migrate } from '#src/migrate.ts';
import '#src/testing.ts'; // the ProvidedContext keys this setup provides

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.TEST_DATABASE_URL;
  let stopServer = async () => {};
  let adminUrl: string;
  if (external) {
    adminUrl = external;
  } else {
    const dataDir = await mkdtemp(join(tmpdir(), 'plumb-test-pg-'));
    const pg = await startEmbeddedPostgres({
      dataDir: join(dataDir, 'data'),
      persistent: false,
      // Durability buys nothing in a throw-away test cluster; speed does.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: 300 },
    });
    adminUrl = pg.url();
    stopServer = async () => {
      await pg.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  }

  const template = `plumb_template_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin`drop database if exists ${admin(template)}`;
  await admin`create database ${admin(template)}`;
  await migrate({ url: withDatabase(adminUrl, template) });

  project.provide('postgresAdminUrl', adminUrl);
  project.provide('migratedTemplate', template);

  return async () => {
    await admin`drop database if exists ${admin(template)} with (force)`.catch(() => {});
    await admin.end({ timeout: 5 });
    await stopServer();
  };
}
