/** @module The server package's public surface, for the start script, tests and benchmarks. */
export { type AppDeps, createApp } from '#src/app.ts';
export { createDatabase, type Sql } from '#src/database.ts';
export { serverEnvSchema } from '#src/env.ts';
export { createLogger } from '#src/logger.ts';
export { APP_NAME, APP_VERSION } from '#src/version.ts';
