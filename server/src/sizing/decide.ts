/**
 * @module The sizing decision: one pure function from what the container has (CPU, memory), what
 * the operator overrides, and the connection budget, to worker count, heap, pool and thread pool.
 */
import { ARGON2_MEMORY_KIB } from '#src/auth/argon2-cost.ts';
import { connectionBudget, maxWorkersForBudget } from '#src/sizing/budget.ts';
import type { CpuSource, MemorySource } from '#src/sizing/detect.ts';

const MiB = 1024 * 1024;
/** Memory a worker uses outside its old space and young generation: code, stacks, sockets, buffers. */
export const WORKER_BASE_MB = 48;
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
/**
 * The young generation's semi-space bounds. V8's own default grows to 64 MiB semi-spaces on a large
 * machine, and they stay committed; see {@link semiSpaceFor}.
 */
export const MIN_SEMI_SPACE_MB = 8;
export const MAX_SEMI_SPACE_MB = 32;
/**
 * The semi-space a worker starts with (`--min-semi-space-size`, at most its decided one). V8 starts
 * at 1 MiB and grows it through a scavenge each time it fills: loading the application allocates
 * ~15–20 MB, most of which stays alive, so a start copied it in 4–5 scavenges (~12 ms). From 16 MiB
 * it takes none; paired, a start to the first `/readyz` took 0.93 of the time (ADR 019).
 */
export const START_SEMI_SPACE_MB = 16;

/**
 * The semi-space of a worker with `perWorkerMb` of memory: the largest power of two from 8 to
 * 32 MiB whose young generation (two semi-spaces) is at most 1/32 of it — 8 MiB below 1 GiB per
 * worker, 16 from 1 GiB, 32 from 2 GiB. Objects that are alive when a semi-space fills (those of the
 * requests in flight) are copied, and promoted to the old space on the second copy; a larger one
 * fills less often, so fewer are. Measured under the notes list: 32 MiB semi-spaces spent ~35 %
 * less time in GC pauses than 8, for ~45 MB more RSS (docs/performance.md, ADR 019).
 */
export function semiSpaceFor(perWorkerMb: number): number {
  let semi = MIN_SEMI_SPACE_MB;
  while (semi * 2 <= MAX_SEMI_SPACE_MB && 2 * (semi * 2) * 32 <= perWorkerMb) semi *= 2;
  return semi;
}
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
  /** `--max-old-space-size` of each worker. */
  heapMb: number;
  /** `--max-semi-space-size` of each worker. */
  semiSpaceMb: number;
  poolMax: number;
  uvThreadpoolSize: number;
  /** Where each number came from. */
  source: {
    cpu: CpuSource;
    memory: MemorySource;
    workers: 'WEB_CONCURRENCY' | 'cpu' | 'memory' | 'connections';
    poolMax: 'DB_POOL_MAX' | 'budget';
    /** Present when an operator's NODE_OPTIONS set a heap limit (`heapInEffect`): V8 runs with theirs. */
    heap?: 'NODE_OPTIONS';
  };
  /** Connections this service may hold at the worst moment, and the cap they must fit under. */
  connections: { peak: number; maxConnections: number };
  /**
   * What detection found, which CPU_LIMIT and MEMORY_LIMIT replace (`resolveSizing` adds it; the
   * pure decision does not know it).
   */
  detected?: { cpu: number; memoryBytes: number };
}

/** A sizing that cannot work; the message says what to change. */
export class SizingError extends Error {
  override name = 'SizingError';
}

/** The memory of one worker when `workers` share `memoryMb` (a cluster's primary takes its part first). */
const shareOf = (memoryMb: number, workers: number) => (memoryMb - (workers > 1 ? PRIMARY_MB : 0)) / workers;

/** What a worker with `perWorkerMb` needs besides its old space (every pool thread may be hashing a password at once). */
const besidesHeapMb = (perWorkerMb: number, uvThreadpoolSize: number) =>
  WORKER_BASE_MB + 2 * semiSpaceFor(perWorkerMb) + uvThreadpoolSize * ARGON2_MB;

/** Heap per worker when `workers` share `memoryMb`, leaving room for overhead and concurrent argon2 hashes. */
function heapFor(memoryMb: number, workers: number, uvThreadpoolSize: number): number {
  const perWorker = shareOf(memoryMb, workers);
  return Math.min(Math.floor((perWorker - besidesHeapMb(perWorker, uvThreadpoolSize)) * 0.9), MAX_HEAP_MB);
}

/**
 * @example
 * decideSizing({ cpu: 2, cpuSource: 'cgroup-v2', memoryBytes: 2 * 1024 ** 3, memorySource: 'cgroup-v2',
 *   overrides: {}, budget: { maxConnections: 100, replicas: 1 } });
 * // { workers: 2, heapMb: 512, semiSpaceMb: 8, poolMax: 10, uvThreadpoolSize: 4, … }
 */
export function decideSizing(input: SizingInput): Sizing {
  const memoryMb = Math.floor(input.memoryBytes / MiB);
  const uvThreadpoolSize = input.overrides.uvThreadpoolSize ?? 4;
  if (heapFor(memoryMb, 1, uvThreadpoolSize) < MIN_HEAP_MB) {
    let neededMb = memoryMb;
    while (heapFor(neededMb, 1, uvThreadpoolSize) < MIN_HEAP_MB) neededMb++;
    throw new SizingError(
      `${memoryMb} MiB of memory is too little for even one worker: it needs at least ${neededMb} MiB ` +
        `(a ${MIN_HEAP_MB} MiB heap, and ${besidesHeapMb(neededMb, uvThreadpoolSize)} MiB for the rest of ` +
        `the process and ${uvThreadpoolSize} password hashes at once). ` +
        (input.memorySource === 'MEMORY_LIMIT' ? 'Raise MEMORY_LIMIT' : 'Give the container more memory') +
        (input.overrides.uvThreadpoolSize ? ' or lower UV_THREADPOOL_SIZE.' : '.'),
    );
  }
  // Counted up to the most workers asked for or worth having: a huge memory limit is not a long loop.
  const byCpu = Math.max(1, Math.floor(input.cpu));
  const asked = Math.max(byCpu, input.overrides.workers ?? 0);
  let maxByMemory = 1;
  while (maxByMemory < asked && heapFor(memoryMb, maxByMemory + 1, uvThreadpoolSize) >= MIN_HEAP_MB) {
    maxByMemory++;
  }

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
    // A pool pinned by DB_POOL_MAX leaves room for fewer workers than pools of one would.
    const byConnections = Math.max(
      1,
      maxWorkersForBudget({ ...input.budget, poolMax: input.overrides.poolMax }),
    );
    workers = Math.min(byCpu, maxByMemory, byConnections);
    workersSource = workers === byCpu ? 'cpu' : workers === maxByMemory ? 'memory' : 'connections';
  }

  const budget = connectionBudget({ ...input.budget, workers, poolMax: input.overrides.poolMax });

  return {
    cpu: input.cpu,
    memoryBytes: input.memoryBytes,
    workers,
    heapMb: heapFor(memoryMb, workers, uvThreadpoolSize),
    semiSpaceMb: semiSpaceFor(shareOf(memoryMb, workers)),
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
