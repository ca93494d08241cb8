/**
 * @module V8's compile cache that the build ships beside the bundle (`scripts/compile-cache.ts`
 * fills it): main.ts enables it before the application loads, start.ts reports how that went.
 * Node keys the cache by its version, the architecture, V8's flags and the CPU features it found,
 * and the user id; a process that matches none of the shipped entries cannot add one to the
 * read-only image and starts as if there were no cache, which the sizing line then says.
 */
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

let state = 'none (no compile-cache folder beside the code)';

/** Enables the cache in `dir` if it exists; how it went is {@link compileCacheState}. */
export function enableShippedCompileCache(dir: URL): void {
  const path = fileURLToPath(dir);
  if (!existsSync(path) || !module.enableCompileCache) return;
  const result = module.enableCompileCache(path);
  const { FAILED, DISABLED } = module.constants.compileCacheStatus;
  state =
    result.status === FAILED
      ? `unusable: ${result.message ?? 'no reason given'}`
      : result.status === DISABLED
        ? 'disabled (NODE_DISABLE_COMPILE_CACHE)'
        : 'enabled';
}

/** "enabled", "unusable: …" (no entry for this process, and none can be written), or why there is none. */
export function compileCacheState(): string {
  return state;
}
