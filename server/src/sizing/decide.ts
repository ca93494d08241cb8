/**
 * @module The sizing decision: one pure function from what the container has (CPU, memory), what
 * the operator overrides, and the connection budget, to worker count, heap, pool and thread pool.
 */
import { ARGON2_MEMORY_KIB } from '#src/auth/argon2-cost.ts';
import { connectionBudget, maxWorkersForBudget } from '#src/sizing/budget.ts';
import type { CpuSource, MemorySource } from '#src/sizing/detect.ts';

const MiB = 1024 * 1024;
/** Memory a worker uses outside its old-space heap: code, young generation, stacks, sockets, buffers. */
export const WORKER_OVERHEAD_MB = 64;
/** What the primary of a cluster takes (it serves no requests). */
export const PRIMARY_MB = 48;
/** Below this a worker's heap thrashes in GC; fewer, larger workers serve better. */
export const MIN_HEAP_MB = 96;
/**
 * A stateless API worker's live heap is tens of MiB; past this V8 only grows its old space (and the
 * process's RSS) lazily instead of collecting. Measured: 4 GiB → RSS 326 MB after 30 s of load,
 * 512 MiB with 8 MiB semi-spaces → 140 MB, at the same throughput (docs/performance.md).
 */
export const MAX_HEAP_MB = 512;
/** Young-generation semi-space: V8's default grows to 16 MiB or more and stays committed. */
export const SEMI_SPACE_MB = 8;
const ARGON2_MB = Math.ceil(ARGON2_MEMORY_KIB / 1024);

export interface SizingInput {
  cpu: number;
  cpuSource: CpuSource;
  memoryBytes: number;
  memorySource: MemorySource;
  overrides: {
    /** WEB_CONCURRENCY */
    workers?: number | undefined;
    /** DB_POOL_MAX */
    poolMax?: number | undefined;
    /** UV_THREADPOOL_SIZE */
    uvThreadpoolSize?: number | undefined;
  };
  budget: { maxConnections: number; replicas: number };
}

export interface Sizing {
  cpu: number;
  memoryBytes: number;
  workers: number;
  heapMb: number;
  poolMax: number;
  uvThreadpoolSize: number;
  /** Where each number came from. */
  source: {
    cpu: CpuSource;
    memory: MemorySource;
    workers: 'WEB_CONCURRENCY' | 'cpu' | 'memory' | 'connections';
    poolMax: 'DB_POOL_MAX' | 'budget';
  };
  /** Connections this service may hold at the worst moment, and the cap they must fit under. */
  connections: { peak: number; maxConnections: number };
}

/** A sizing that cannot work; the message says what to change. */
export class SizingError extends Error {
  override name = 'SizingError';
}

/** Heap per worker when `workers` share `memoryMb`, leaving room for overhead and concurrent argon2 hashes. */
function heapFor(memoryMb: number, workers: number, uvThreadpoolSize: number): number {
  const perWorker = (memoryMb - (workers > 1 ? PRIMARY_MB : 0)) / workers;
  // Every thread of the pool may be hashing a password at once.
  const heap = Math.floor((perWorker - WORKER_OVERHEAD_MB - uvThreadpoolSize * ARGON2_MB) * 0.9);
  return Math.min(heap, MAX_HEAP_MB);
}

/**
 * @example
 * decideSizing({ cpu: 2, cpuSource: 'cgroup-v2', memoryBytes: 2 * 1024 ** 3, memorySource: 'cgroup-v2',
 *   overrides: {}, budget: { maxConnections: 100, replicas: 1 } });
 * // { workers: 2, heapMb: 762, poolMax: 10, uvThreadpoolSize: 4, … }
 */
export function decideSizing(input: SizingInput): Sizing {
  const memoryMb = Math.floor(input.memoryBytes / MiB);
  const uvThreadpoolSize = input.overrides.uvThreadpoolSize ?? 4;
  if (heapFor(memoryMb, 1, uvThreadpoolSize) < MIN_HEAP_MB) {
    throw new SizingError(
      `${memoryMb} MiB of memory is too little for even one worker (it needs a ${MIN_HEAP_MB} MiB heap plus ` +
        `${WORKER_OVERHEAD_MB + uvThreadpoolSize * ARGON2_MB} MiB besides). Give the container more memory` +
        (input.overrides.uvThreadpoolSize ? ' or lower UV_THREADPOOL_SIZE.' : '.'),
    );
  }
  let maxByMemory = 1;
  while (heapFor(memoryMb, maxByMemory + 1, uvThreadpoolSize) >= MIN_HEAP_MB) maxByMemory++;

  let workers: number;
  let workersSource: Sizing['source']['workers'];
  if (input.overrides.workers !== undefined) {
    if (input.overrides.workers > maxByMemory) {
      throw new SizingError(
        `WEB_CONCURRENCY=${input.overrides.workers} needs more memory than the ${memoryMb} MiB available: ` +
          `at most ${maxByMemory} worker(s) fit with a ${MIN_HEAP_MB} MiB heap each. Lower WEB_CONCURRENCY or raise the memory limit.`,
      );
    }
    workers = input.overrides.workers;
    workersSource = 'WEB_CONCURRENCY';
  } else {
    const byCpu = Math.max(1, Math.floor(input.cpu));
    const byConnections = Math.max(1, maxWorkersForBudget(input.budget));
    workers = Math.min(byCpu, maxByMemory, byConnections);
    workersSource = workers === byCpu ? 'cpu' : workers === maxByMemory ? 'memory' : 'connections';
  }

  const budget = connectionBudget({ ...input.budget, workers, poolMax: input.overrides.poolMax });

  return {
    cpu: input.cpu,
    memoryBytes: input.memoryBytes,
    workers,
    heapMb: heapFor(memoryMb, workers, uvThreadpoolSize),
    poolMax: budget.poolMax,
    uvThreadpoolSize,
    source: {
      cpu: input.cpuSource,
      memory: input.memorySource,
      workers: workersSource,
      poolMax: input.overrides.poolMax === undefined ? 'budget' : 'DB_POOL_MAX',
    },
    connections: { peak: budget.peakConnections, maxConnections: budget.maxConnections },
  };
}
