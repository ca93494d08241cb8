import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@plumb/db/testing';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, databaseLimits } from '#src/database.ts';

describe('databaseLimits', () => {
  let db: TestDatabase;
  const role = `plumb_limited_${randomBytes(4).toString('hex')}`;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
    const admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin`create role ${admin(role)} login password 'limited' connection limit 3`;
    await admin`alter database ${admin(db.name)} connection limit 40`;
    await admin.end();
  });
  afterAll(async () => {
    await db.drop();
    const admin = postgres(inject('postgresAdminUrl'), { max: 1, onnotice: () => {} });
    await admin`drop role if exists ${admin(role)}`;
    await admin.end();
  });

  it("reads max_connections and the role's and the database's CONNECTION LIMIT as the server's role sees them", async () => {
    const url = new URL(db.url);
    url.username = role;
    url.password = 'limited';
    const limited = createDatabase({ url: url.href, max: 1 });
    const superuser = createDatabase({ url: db.url, max: 1 });
    try {
      const [{ max_connections: actual = '' } = {}] = await superuser.sql<
        { max_connections: string }[]
      >`show max_connections`;
      expect(await databaseLimits(limited.sql)).toEqual({
        maxConnections: Number(actual),
        superuser: false,
        roleLimit: 3,
        databaseLimit: 40,
      });
      expect(await databaseLimits(superuser.sql)).toMatchObject({
        superuser: true,
        roleLimit: -1,
        databaseLimit: 40,
      });
    } finally {
      await Promise.all([limited.end(), superuser.end()]);
    }
  });
});
