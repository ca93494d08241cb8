/**
 * @module Gives a worker's memory back after a busy spell (ADR 030). Under load V8 grows the young
 * generation (up to two semi-spaces of the decided size) and the old space, and keeps them while
 * nothing allocates: only its memory reducer shrinks them, and in a server whose live data stays
 * small nothing may start it again once it has run. Getting V8's collection function (a new `vm`
 * context) starts it for the first spell; after that, a worker quiet for 30 s whose heap grew runs
 * one collection for memory pressure. Measured here: one worker at ~180 MB after the notes list,
 * ~100 MB after it.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '#src/logger.ts';

/** How often a worker looks at its CPU time and its heap. */
export const TRIM_EVERY_MS = 5_000;
/**
 * How many quiet intervals in a row before it collects (30 s). A spell that follows a collection
 * starts with a small young generation and pays for regrowing it (~15 % more CPU per request over
 * its first 8 s, measured): short gaps between bursts are not worth that.
 */
export const QUIET_INTERVALS = 6;
/**
 * An interval in which the process used at most this share of one CPU is quiet: 100 ms in 5 s,
 * the CPU time of ~170 notes lists here, or of probes, a scrape and a sign-in or two.
 */
export const QUIET_CPU_SHARE = 0.02;
/** Growth of V8's committed heap since the last collection (or the start) worth one collection. */
export const TRIM_SLACK_BYTES = 8 * 2 ** 20;

export interface TrimState {
  /** Quiet intervals in a row, the one that just ended included (see {@link isQuiet}). */
  quietIntervals: number;
  /** V8's committed heap now, and after the last collection (or at the start). */
  heapBytes: number;
  baselineBytes: number;
}

/** Whether an interval of `intervalMs` in which the process used `cpuMicros` of CPU time was quiet. */
export function isQuiet(cpuMicros: number, intervalMs: number): boolean {
  return cpuMicros <= QUIET_CPU_SHARE * intervalMs * 1000;
}

/**
 * Whether to collect now: {@link QUIET_INTERVALS} quiet intervals in a row, and the heap grew by
 * {@link TRIM_SLACK_BYTES}.
 */
export function shouldTrim(state: TrimState): boolean {
  return state.quietIntervals >= QUIET_INTERVALS && state.heapBytes - state.baselineBytes >= TRIM_SLACK_BYTES;
}

/**
 * V8's collection for memory pressure (its `gc` with `flavor: 'last-resort'`: full collections that
 * shrink the young generation and release the pages V8 keeps for reuse), without `gc` on the
 * application's global object: `--expose-gc` is set for as long as it takes a new context to get
 * the function, then unset. Undefined where V8 refuses.
 */
export function memoryReducingCollection(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? () => void gc({ type: 'major', flavor: 'last-resort' }) : undefined;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

export interface TrimOptions {
  /** @default {@link TRIM_EVERY_MS} */
  everyMs?: number;
  /** @default {@link memoryReducingCollection} */
  collect?: (() => void) | undefined;
  /** V8's committed heap. @default `getHeapStatistics().total_heap_size` */
  heapBytes?: () => number;
  /** The process's CPU time so far, in µs. @default user + system of `process.cpuUsage()` */
  cpuMicros?: () => number;
}

const processCpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/**
 * Starts looking every `everyMs` (an unref'd timer); returns a function that stops it.
 *
 * @example
 * trimWhenQuiet(logger);
 */
export function trimWhenQuiet(logger: Logger, options: TrimOptions = {}): () => void {
  const everyMs = options.everyMs ?? TRIM_EVERY_MS;
  const collect = 'collect' in options ? options.collect : memoryReducingCollection();
  const heapBytes = options.heapBytes ?? (() => getHeapStatistics().total_heap_size);
  const cpuMicros = options.cpuMicros ?? processCpuMicros;
  if (!collect) {
    logger.warn('V8 refused its collection: memory is not given back after a busy spell');
    return () => {};
  }
  let baselineBytes = heapBytes();
  let cpuBefore = cpuMicros();
  let quietIntervals = 0;
  const timer = setInterval(() => {
    const cpuNow = cpuMicros();
    quietIntervals = isQuiet(cpuNow - cpuBefore, everyMs) ? quietIntervals + 1 : 0;
    cpuBefore = cpuNow;
    const state = { quietIntervals, heapBytes: heapBytes(), baselineBytes };
    // A heap that shrank by itself lowers the mark, so growth is counted from its lowest point.
    if (!shouldTrim(state)) {
      baselineBytes = Math.min(baselineBytes, state.heapBytes);
      return;
    }
    const started = performance.now();
    collect();
    // What the collection leaves is in use: the mark for the next spell. Its own CPU time is not
    // the next interval's.
    baselineBytes = heapBytes();
    cpuBefore = cpuMicros();
    logger.debug(
      {
        heapMbBefore: Math.round(state.heapBytes / 2 ** 20),
        heapMbAfter: Math.round(baselineBytes / 2 ** 20),
        ms: Math.round(performance.now() - started),
      },
      'quiet after a busy spell: heap collected, memory given back',
    );
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
