/** @module The server process: read the environment, open the pool, serve, drain on SIGTERM/SIGINT. */
import { serve } from '@hono/node-server';
import { loadEnvOrExit } from '@plumb/db/env-contract';
import { listMigrations } from '@plumb/db';
import { appConfig, createApp } from '#src/app.ts';
import { createDatabase } from '#src/database.ts';
import { serverEnvSchema } from '#src/env.ts';
import { createLogger } from '#src/logger.ts';
import { APP_NAME, APP_VERSION } from '#src/version.ts';

const env = loadEnvOrExit(serverEnvSchema);
const logger = createLogger(env.LOG_LEVEL);
const db = createDatabase({
  url: env.DATABASE_URL,
  connectTimeoutSeconds: env.DB_CONNECT_TIMEOUT_S,
  statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
});
let draining = false;

const app = createApp({
  db,
  logger,
  config: appConfig(env),
  info: { name: APP_NAME, version: APP_VERSION, gitSha: env.GIT_SHA ?? null },
  knownMigrations: await listMigrations(),
  isDraining: () => draining,
});

const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, (address) => {
  logger.info({ port: address.port, host: env.HOST, version: APP_VERSION }, 'listening');
});
server.on('error', (error: NodeJS.ErrnoException) => {
  logger.fatal(
    { code: error.code },
    error.code === 'EADDRINUSE' ? `port ${env.PORT} is already in use` : `cannot listen: ${error.message}`,
  );
  process.exit(1);
});

async function shutdown(signal: string): Promise<void> {
  if (draining) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  draining = true;
  logger.info({ signal }, 'draining');
  // Stop accepting, let requests in flight finish (bounded), then close the pool.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if ('closeIdleConnections' in server) server.closeIdleConnections();
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  await db.end();
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
