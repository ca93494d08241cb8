/** @module Sizing from the environment: detect the container, apply the operator's overrides, decide. */
import type { ServerEnv } from '#src/env.ts';
import { BudgetError } from '#src/sizing/budget.ts';
import { decideSizing, SEMI_SPACE_MB, type Sizing, SizingError } from '#src/sizing/decide.ts';
import { type DetectOptions, detectResources } from '#src/sizing/detect.ts';

export { BudgetError, connectionBudget, MAX_POOL_PER_WORKER } from '#src/sizing/budget.ts';
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
    return decideSizing({
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
  } catch (error) {
    if (error instanceof BudgetError) throw new SizingError(error.message);
    throw error;
  }
}

/** A worker's heap flags (old space and semi-space); an operator's own NODE_OPTIONS setting wins. */
export function heapArgs(execArgv: readonly string[], heapMb: number): string[] {
  const own = execArgv.filter((arg) => !/^--max-(old|semi)-space-size/.test(arg));
  return /--max-old-space-size/.test(process.env.NODE_OPTIONS ?? '')
    ? own
    : [...own, `--max-old-space-size=${heapMb}`, `--max-semi-space-size=${SEMI_SPACE_MB}`];
}
