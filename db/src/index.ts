/** @module The db package's public surface: migrate, read migration status, the env contract. */
export { dbEnvSchema } from '#src/env.ts';
export { appliedMigrations, type MigrateOptions, migrate, migrationStatus } from '#src/migrate.ts';
export { defaultMigrationsDir, listMigrations, MIGRATIONS_TABLE, migrationName } from '#src/migrations.ts';
export { POSTGRES_MAJOR } from '#src/postgres-version.ts';
