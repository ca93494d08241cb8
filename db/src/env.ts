/** @module The migrate command's environment: the only place the db package reads configuration. */
import { z } from 'zod';
import { integer, postgresUrl } from '#src/env-contract.ts';

export const dbEnvSchema = z.object({
  DATABASE_URL: postgresUrl.describe(
    'PostgreSQL connection string the migrations run against, e.g. postgres://user:password@host:5432/plumb.',
  ),
  MIGRATE_LOCK_TIMEOUT_MS: integer(1_000, 3_600_000)
    .default(300_000)
    .describe('How long a migrate run waits for another run holding the migration lock before it gives up.'),
});

export type DbEnv = z.output<typeof dbEnvSchema>;
