/** @module Where the migrations live and how a migration is named, in development (`.ts`) and in a bundle (`.js`). */
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The table that records applied migrations, one row per migration name. */
export const MIGRATIONS_TABLE = 'schema_migrations';

const MIGRATION_FILE = /^(?<name>\d+-[\w-]+)\.[cm]?[jt]s$/;

/**
 * The migrations folder shipped beside this module: `db/migrations` in the repository, and the
 * `migrations/` folder beside the bundle in an image (the build copies them there).
 */
export const defaultMigrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));

/**
 * A migration's name is its file name without the extension, so `001-init.ts` (development) and
 * `001-init.js` (an image) are recorded as the same migration everywhere.
 */
export function migrationName(fileName: string): string | undefined {
  return MIGRATION_FILE.exec(fileName)?.groups?.name;
}

/** The names of the migrations in `dir`, in the order they apply. */
export async function listMigrations(dir: string = defaultMigrationsDir): Promise<string[]> {
  // Sorted as files, extension included, as ley sorts them: `1-a-b.ts` comes before `1-a.ts`.
  const files = (await readdir(dir)).filter((file) => migrationName(file) !== undefined);
  return files.sort(compareMigrationFiles).map((file) => migrationName(file) as string);
}

/** ICU compares a run of more digits than this in pieces, not as one number. */
const MAX_WHOLE_DIGITS = 200;

/**
 * The order ley applies migration files in: `localeCompare` with numeric collation. Their names
 * start with their number, so that decides whenever the numbers differ, without the collator:
 * creating the first one loads ICU's collation data, ~15 ms of a server's start for three files.
 */
export function compareMigrationFiles(a: string, b: string): number {
  const [x, y] = [leadingDigits(a), leadingDigits(b)];
  if (x !== y && x.length <= MAX_WHOLE_DIGITS && y.length <= MAX_WHOLE_DIGITS) {
    return x.length - y.length || (x < y ? -1 : 1);
  }
  return a.localeCompare(b, undefined, { numeric: true });
}

/** The name's leading number as digits without leading zeros ("" for none). */
function leadingDigits(name: string): string {
  return (/^\d*/.exec(name)?.[0] ?? '').replace(/^0+/, '');
}
