/** @module The server's environment: the only place the server reads configuration. */
import { integer, postgresUrl } from '@plumb/db/env-contract';
import { z } from 'zod';

export const serverEnvSchema = z.object({
  DATABASE_URL: postgresUrl.describe(
    'PostgreSQL connection string, e.g. postgres://user:password@host:5432/plumb.',
  ),
  PORT: integer(1, 65_535).default(8080).describe('TCP port the HTTP server listens on (Render sets it).'),
  HOST: z
    .string()
    .min(1)
    .default('0.0.0.0')
    .describe('Address the HTTP server binds; 0.0.0.0 in containers, 127.0.0.1 to stay local.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('Lowest level of the JSON log lines written to stdout.'),
  GIT_SHA: z
    .string()
    .regex(/^[0-9a-f]{7,40}$/, 'must be a git commit hash')
    .optional()
    .describe('Commit the build came from, shown by /api/info (set by the image build).'),
  DB_CONNECT_TIMEOUT_S: integer(1, 120)
    .default(5)
    .describe('Seconds to wait for a new database connection before answering 503.'),
});

export type ServerEnv = z.output<typeof serverEnvSchema>;
