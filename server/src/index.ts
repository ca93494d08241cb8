/** @module The server package's public surface, for the start script, tests and benchmarks. */
export { type AppConfig, type AppDeps, appConfig, createApp, defaultAppConfig } from '#src/app.ts';
export { createDatabase, type Database, type Sql } from '#src/database.ts';
export { serverEnvSchema } from '#src/env.ts';
export { createLogger } from '#src/logger.ts';
export type { Note } from '#src/notes/repository.ts';
export { APP_NAME, APP_VERSION } from '#src/version.ts';
