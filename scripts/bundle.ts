/**
 * @module Production bundles for the server and migration-job images: each entry becomes one ESM
 * file with its dependencies inside (no npm at run time), native modules stay external, and the
 * migrations are compiled one file each beside them (`dist/migrations/NNN-name.js`), where the
 * bundled code looks for them (`../migrations` from `dist/bin/`).
 *
 *   node scripts/bundle.ts --out server/dist --entry server=server/src/main.ts --entry migrate=db/src/main.ts
 */
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

/** Packages with native code: installed in the image with `npm ci --omit=dev`, not bundled. */
export const NATIVE_EXTERNALS = ['@node-rs/argon2'];

const root = resolve(import.meta.dirname, '..');

export async function bundle(options: { out: string; entries: Record<string, string> }): Promise<void> {
  const out = resolve(root, options.out);
  await rm(out, { recursive: true, force: true });
  const started = performance.now();
  await build({
    entryPoints: Object.fromEntries(
      Object.entries(options.entries).map(([name, file]) => [name, resolve(root, file)]),
    ),
    outdir: join(out, 'bin'),
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    external: NATIVE_EXTERNALS,
    minifySyntax: true,
    minifyWhitespace: true,
    keepNames: true,
    legalComments: 'none',
    logLevel: 'warning',
    // CommonJS dependencies inside an ES module still call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __plumbRequire } from 'node:module'; const require = __plumbRequire(import.meta.url);",
    },
  });
  const migrationsDir = join(root, 'db/migrations');
  const migrations = (await readdir(migrationsDir)).filter((file) => /^\d+-[\w-]+\.ts$/.test(file));
  await build({
    entryPoints: migrations.map((file) => join(migrationsDir, file)),
    outdir: join(out, 'migrations'),
    platform: 'node',
    target: 'node24',
    format: 'esm',
    logLevel: 'warning',
  });
  console.log(
    `bundled ${Object.keys(options.entries).join(', ')} and ${migrations.length} migrations into ${options.out} ` +
      `in ${Math.round(performance.now() - started)} ms`,
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, entry: { type: 'string', multiple: true } },
  });
  if (!values.out || !values.entry?.length) {
    console.error('usage: node scripts/bundle.ts --out DIR --entry NAME=FILE [--entry NAME=FILE…]');
    process.exit(2);
  }
  const entries = Object.fromEntries(values.entry.map((pair) => pair.split('=', 2) as [string, string]));
  await bundle({ out: values.out, entries });
}
