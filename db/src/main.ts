/** @module The migrate command: `node db/src/main.ts [--status]`, and the entry point of the migration job image. */

import postgres from 'postgres';
import { dbEnvSchema } from '#src/env.ts';
import { loadEnvOrExit } from '#src/env-contract.ts';
import { migrate, migrationStatus } from '#src/migrate.ts';

const env = loadEnvOrExit(dbEnvSchema);
const log = (line: string) => process.stdout.write(`migrate: ${line}\n`);

// As a container's PID 1, Node ignores SIGTERM unless it listens: stop at once. The migration in
// progress is one transaction, so the closed connection rolls it back (and frees the lock).
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    process.stderr.write(`migrate: stopped by ${signal}; the migration in progress is rolled back\n`);
    process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
  });
}

try {
  if (process.argv.includes('--status')) {
    const sql = postgres(env.DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      const { applied, pending } = await migrationStatus(sql);
      for (const name of applied) log(`applied  ${name}`);
      for (const name of pending) log(`pending  ${name}`);
      log(`${applied.length} applied, ${pending.length} pending`);
    } finally {
      await sql.end({ timeout: 5 });
    }
  } else {
    const applied = await migrate({ url: env.DATABASE_URL, lockTimeoutMs: env.MIGRATE_LOCK_TIMEOUT_MS, log });
    log(
      applied.length === 0
        ? 'schema is up to date; nothing applied'
        : `applied ${applied.length} migration(s)`,
    );
  }
} catch (error) {
  // A migration's SQL error names the file and the database's message; never the connection string.
  const migration = (error as { migration?: { name?: string } }).migration?.name;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`migrate: failed${migration ? ` in ${migration}` : ''}: ${message}\n`);
  process.exitCode = 1;
}
