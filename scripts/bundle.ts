/**
 * @module Production bundles for the server and migration-job images: each entry becomes an ESM
 * file with its dependencies inside (no npm at run time); code behind a dynamic import, and code
 * entries share, goes into chunk files beside it (`dist/bin/*-HASH.js`), so a process loads only
 * what it runs (the server's primary never loads the application). The migrations are compiled one file
 * each beside them (`dist/migrations/NNN-name.js`), where the bundled code looks for them
 * (`../migrations` from `dist/bin/`). Native modules stay external: the ones a bundle imports are
 * copied from the lockfile's install into `dist/node_modules` (with the platform package npm chose
 * for this machine), so `dist/` is the whole application an image copies.
 *
 *   node scripts/bundle.ts --out server/dist --entry server=server/src/main.ts --entry migrate=db/src/main.ts
 */
import { existsSync } from 'node:fs';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Metafile } from 'esbuild';

/** Packages with native code: not bundled; copied with their platform package into `dist/node_modules`. */
export const NATIVE_EXTERNALS = ['@node-rs/argon2'];

const root = resolve(import.meta.dirname, '..');

export async function bundle(options: { out: string; entries: Record<string, string> }): Promise<void> {
  const out = resolve(root, options.out);
  await rm(out, { recursive: true, force: true });
  const started = performance.now();
  const result = await build({
    entryPoints: Object.fromEntries(
      Object.entries(options.entries).map(([name, file]) => [name, resolve(root, file)]),
    ),
    outdir: join(out, 'bin'),
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    // Dynamic imports become chunks of their own: a process loads only the code it runs.
    splitting: true,
    // (beside the entries: code finds the migrations at ../migrations from its own file)
    chunkNames: '[name]-[hash]',
    external: NATIVE_EXTERNALS,
    minifySyntax: true,
    minifyWhitespace: true,
    // Not keepNames: it wraps every named function made at run time in a `__name()` call (a
    // defineProperty), per request too; /healthz took 13–22 % more CPU with it (docs/performance.md).
    // Names that collide across modules get a digit (`Hono3`): in stack traces and util.inspect only
    // (no error class is renamed today, so logs' error `type` is unchanged).
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
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
  const natives = [...importedPackages(result.metafile)];
  for (const name of natives) await copyPackage(name, out);
  await writeFile(
    join(out, 'package.json'),
    `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`,
  );
  console.log(
    `bundled ${Object.keys(options.entries).join(', ')} and ${migrations.length} migrations into ${options.out}` +
      (natives.length ? ` with ${natives.join(', ')}` : '') +
      ' ' +
      `in ${Math.round(performance.now() - started)} ms`,
  );
}

/** The external packages (not Node's built-ins) that the bundles import. */
function importedPackages(metafile: Metafile): Set<string> {
  const names = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const { path, external } of output.imports) {
      if (!external || path.startsWith('node:') || builtinModules.includes(path)) continue;
      names.add(path.split('/', path.startsWith('@') ? 2 : 1).join('/'));
    }
  }
  return names;
}

/** Copies an installed package and whichever of its dependencies npm installed here, recursively. */
async function copyPackage(name: string, out: string, seen = new Set<string>()): Promise<void> {
  if (seen.has(name)) return;
  seen.add(name);
  const from = join(root, 'node_modules', name);
  if (!existsSync(from)) throw new Error(`${name} is not installed: run npm ci first`);
  await cp(from, join(out, 'node_modules', name), { recursive: true, dereference: true });
  const manifest = JSON.parse(await readFile(join(from, 'package.json'), 'utf8'));
  const dependencies = Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies });
  for (const dependency of dependencies) {
    // Optional ones that npm skipped (other platforms) are simply absent.
    if (existsSync(join(root, 'node_modules', dependency)) || manifest.dependencies?.[dependency]) {
      await copyPackage(dependency, out, seen);
    }
  }
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
