/** @module Sizing from the environment: detect the container, apply the operator's overrides, decide. */
import { getHeapStatistics } from 'node:v8';
import type { ServerEnv } from '#src/env.ts';
import { BudgetError, DEFAULT_MAX_CONNECTIONS, DEFAULT_REPLICAS } from '#src/sizing/budget.ts';
import { decideSizing, type Sizing, SizingError, START_SEMI_SPACE_MB } from '#src/sizing/decide.ts';
import { type DetectOptions, detectResources } from '#src/sizing/detect.ts';

export {
  BudgetError,
  capProblems,
  connectionBudget,
  type DatabaseLimits,
  leastMaxConnections,
  MAX_POOL_PER_WORKER,
} from '#src/sizing/budget.ts';
export { decideSizing, type Sizing, SizingError } from '#src/sizing/decide.ts';
export { detectResources } from '#src/sizing/detect.ts';

type SizingEnv = Pick<
  ServerEnv,
  | 'CPU_LIMIT'
  | 'MEMORY_LIMIT'
  | 'WEB_CONCURRENCY'
  | 'DB_POOL_MAX'
  | 'UV_THREADPOOL_SIZE'
  | 'DB_MAX_CONNECTIONS'
  | 'SERVER_REPLICAS'
>;

/**
 * The sizing this process should run with; throws {@link SizingError} (or a budget error) with a
 * message naming what to change when the overrides cannot work on this container.
 */
export function resolveSizing(env: SizingEnv, detect: DetectOptions = {}): Sizing {
  const detected = detectResources(detect);
  try {
    const decided = decideSizing({
      cpu: env.CPU_LIMIT ?? detected.cpu,
      cpuSource: env.CPU_LIMIT === undefined ? detected.cpuSource : 'CPU_LIMIT',
      memoryBytes: env.MEMORY_LIMIT ?? detected.memoryBytes,
      memorySource: env.MEMORY_LIMIT === undefined ? detected.memorySource : 'MEMORY_LIMIT',
      overrides: {
        workers: env.WEB_CONCURRENCY,
        poolMax: env.DB_POOL_MAX,
        uvThreadpoolSize: env.UV_THREADPOOL_SIZE,
      },
      budget: { maxConnections: env.DB_MAX_CONNECTIONS, replicas: env.SERVER_REPLICAS },
    });
    return { ...decided, detected: { cpu: detected.cpu, memoryBytes: detected.memoryBytes } };
  } catch (error) {
    if (error instanceof BudgetError) throw new SizingError(error.message);
    throw error;
  }
}

/** V8 takes its flags with dashes or underscores (`--max_old_space_size`). */
const HEAP_FLAG = /^--(max[-_]old|max[-_]semi|min[-_]semi)[-_]space[-_]size/;
const START_FLAG = /^--min-semi-space-size=/;
/** An operator's old space in NODE_OPTIONS: `--max-old-space-size=N`, or Node's `--max-old-space-size-percentage=N`. */
const OLD_SPACE_OPTION = /(?:^|\s)--max[-_]old[-_]space[-_]size(?:[-_]percentage)?=/;
const SEMI_SPACE_OPTION = /(?:^|\s)--max[-_]semi[-_]space[-_]size=(\d+)/g;

/**
 * What an operator's NODE_OPTIONS set of the heap: the old space, and the semi-space as V8 takes it
 * (the last one given, rounded up to a power of two; 0 means V8's default, so it sets nothing).
 */
export function operatorHeap(nodeOptions = process.env.NODE_OPTIONS ?? '') {
  const semi = Number([...nodeOptions.matchAll(SEMI_SPACE_OPTION)].at(-1)?.[1] ?? 0);
  return {
    oldSpace: OLD_SPACE_OPTION.test(nodeOptions),
    semiSpaceMb: semi > 0 ? 2 ** Math.ceil(Math.log2(semi)) : undefined,
  };
}

/**
 * A worker's heap flags (old space, and the semi-space it grows to and starts with). What an
 * operator's NODE_OPTIONS sets wins, limit by limit: the old space, or the semi-space (its start
 * size goes with it).
 */
export function heapArgs(
  execArgv: readonly string[],
  sizing: Pick<Sizing, 'heapMb' | 'semiSpaceMb'>,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): string[] {
  const operator = operatorHeap(nodeOptions);
  return [
    ...execArgv.filter((arg) => !HEAP_FLAG.test(arg)),
    ...(operator.oldSpace ? [] : [`--max-old-space-size=${sizing.heapMb}`]),
    ...(operator.semiSpaceMb === undefined
      ? [
          `--max-semi-space-size=${sizing.semiSpaceMb}`,
          `--min-semi-space-size=${Math.min(sizing.semiSpaceMb, START_SEMI_SPACE_MB)}`,
        ]
      : []),
  ];
}

/**
 * The sizing as V8 runs it in this worker (a cluster worker, or a single one after its re-exec):
 * where an operator's NODE_OPTIONS set a limit, `heapArgs` left it to them. The semi-space is then
 * theirs, else the decided one; the old space is what V8's heap limit leaves after three
 * semi-spaces (measured: `--max-old-space-size=1024` with 64 MiB semi-spaces → 1,216 MiB), which
 * also covers `--max-old-space-size-percentage` and a flag given twice. Otherwise `sizing` unchanged.
 *
 * @example
 * heapInEffect(sizing, '--max-old-space-size=1024', 1120 * 2 ** 20); // heapMb 1024, semiSpaceMb 32 (decided), source.heap 'NODE_OPTIONS'
 */
export function heapInEffect(
  sizing: Sizing,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
  heapSizeLimit = getHeapStatistics().heap_size_limit,
): Sizing {
  const operator = operatorHeap(nodeOptions);
  if (!operator.oldSpace && operator.semiSpaceMb === undefined) return sizing;
  const semiSpaceMb = operator.semiSpaceMb ?? sizing.semiSpaceMb;
  const heapMb = operator.oldSpace ? Math.round(heapSizeLimit / 2 ** 20 - 3 * semiSpaceMb) : sizing.heapMb;
  return { ...sizing, heapMb, semiSpaceMb, source: { ...sizing.source, heap: 'NODE_OPTIONS' } };
}

/**
 * The flags a process that runs one worker must re-execute itself with, or undefined: more than
 * one worker (the primary starts each with its flags), the decided limits already given, or an
 * operator's NODE_OPTIONS setting the heap. Its own command-line heap flags, if they differ, are
 * replaced by the decided ones, as `heapArgs` does for cluster workers. It re-executes whatever
 * V8's own default heap is (Node derives it from the memory it sees: 259 MiB in a 512 MiB
 * container, against 334 decided), so that the heap in effect is the one reported. The start size of the young generation
 * alone is not worth a second boot: it saves less than one costs.
 */
export function heapReexecArgs(
  sizing: Sizing,
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
) {
  if (sizing.workers > 1) return undefined;
  const wanted = heapArgs(execArgv, sizing, nodeOptions);
  const missing = wanted.some((arg) => !execArgv.includes(arg) && !START_FLAG.test(arg));
  return missing ? wanted : undefined;
}

/**
 * Replaces this process (same pid, so it stays PID 1 in a container) with Node started with
 * `args`, the same script, and the decided thread pool. Returns at once where there is no
 * `process.execve` (Windows); throws where Node's permission model refuses it. (A failing exec
 * system call aborts the process: Node cannot return to it.)
 */
export function reexec(args: readonly string[], sizing: Sizing): void {
  process.execve?.(process.execPath, [process.execPath, ...args, ...process.argv.slice(1)], {
    ...process.env,
    UV_THREADPOOL_SIZE: String(sizing.uvThreadpoolSize),
  });
}

/**
 * The sizing settings of `env` when each is unset (or empty) or a plain whole number (MEMORY_LIMIT: unset),
 * with the schema's defaults; otherwise undefined. This is what env.ts would read from them,
 * without loading the schema (zod) that validates the rest: for the quick start in main.ts.
 */
export function plainSizingEnv(env: NodeJS.ProcessEnv): SizingEnv | undefined {
  if (env.MEMORY_LIMIT !== undefined && env.MEMORY_LIMIT !== '') return undefined;
  const names = [
    'CPU_LIMIT',
    'WEB_CONCURRENCY',
    'DB_POOL_MAX',
    'UV_THREADPOOL_SIZE',
    'DB_MAX_CONNECTIONS',
    'SERVER_REPLICAS',
  ] as const;
  const read: Partial<Record<(typeof names)[number], number>> = {};
  for (const name of names) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue; // empty is unset, as env.ts reads it
    if (!/^[1-9]\d{0,5}$/.test(raw)) return undefined;
    read[name] = Number(raw);
  }
  return {
    CPU_LIMIT: read.CPU_LIMIT,
    MEMORY_LIMIT: undefined,
    WEB_CONCURRENCY: read.WEB_CONCURRENCY,
    DB_POOL_MAX: read.DB_POOL_MAX,
    UV_THREADPOOL_SIZE: read.UV_THREADPOOL_SIZE,
    DB_MAX_CONNECTIONS: read.DB_MAX_CONNECTIONS ?? DEFAULT_MAX_CONNECTIONS,
    SERVER_REPLICAS: read.SERVER_REPLICAS ?? DEFAULT_REPLICAS,
  };
}
