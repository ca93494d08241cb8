/**
 * @module One knob — a machine size or a named profile — becomes requests and limits for every pod,
 * the server's workers and pool (the server's own decision function and connection budget, imported,
 * not copied), and PGTune-style settings for the bundled PostgreSQL.
 */
import { connectionBudget, decideSizing, leastMaxConnections, SizingError } from '@plumb/server/sizing';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

export interface Machine {
  /** Whole machine: CPUs. */
  cpu: number;
  /** Whole machine: bytes of memory. */
  memoryBytes: number;
}

/** The named sizes; a self-hoster can also give any `--cpu/--memory`. */
export const PROFILES = {
  small: { cpu: 2, memoryBytes: 4 * GiB },
  medium: { cpu: 4, memoryBytes: 16 * GiB },
  large: { cpu: 16, memoryBytes: 64 * GiB },
} as const satisfies Record<string, Machine>;
export type ProfileName = keyof typeof PROFILES;

export interface Resources {
  requests: { cpu: number; memoryBytes: number };
  limits: { cpu: number; memoryBytes: number };
}

export interface Plan {
  machine: Machine;
  /** Kept for the OS, the kubelet and k3s itself. */
  system: { cpu: number; memoryBytes: number };
  server: Resources & { replicas: number; workers: number; poolMax: number; heapMb: number };
  client: Resources & { replicas: number };
  migrate: Resources;
  backup: Resources;
  postgres: Resources & { settings: Record<string, string> };
  connections: { maxConnections: number; peak: number };
}

/** A size that cannot work; the message says what to change. */
export class PlanError extends Error {
  override name = 'PlanError';
}

const fixed = (cpu: number, memoryMb: number, limitMemoryMb = memoryMb): Resources => ({
  requests: { cpu, memoryBytes: memoryMb * MiB },
  limits: { cpu: Math.max(cpu, 0.5), memoryBytes: limitMemoryMb * MiB },
});

/**
 * Rounds down to a multiple of `step`. The shares are differences of decimals, which floating point
 * misses by a hair (33 CPUs leave 21.999999999999996, not 22): a hair below a step is the step.
 */
const down = (value: number, step: number) => Number((Math.floor(value / step + 1e-9) * step).toFixed(9));

/** The least a server pod can run with; two of them must fit during a rollout. */
const MIN_SERVER_MEMORY = 384 * MiB;
const MIN_SERVER_CPU = 0.1;
const fitsServer = (memoryBytes: number, cpu: number) =>
  memoryBytes >= MIN_SERVER_MEMORY && cpu >= MIN_SERVER_CPU;

/** How a machine is shared out: the system, PostgreSQL, the client and jobs, then the server. */
function shares(machine: Machine, options: { externalDatabase?: boolean | undefined }) {
  const system = {
    cpu: Math.max(0.25, down(machine.cpu * 0.1, 0.05)),
    memoryBytes: Math.max(512 * MiB, down(machine.memoryBytes * 0.1, MiB)),
  };
  const allocatable = {
    cpu: machine.cpu - system.cpu,
    memoryBytes: machine.memoryBytes - system.memoryBytes,
  };
  const client = { ...fixed(0.1, 64, 128), replicas: 1 };
  const migrate = fixed(0.1, 256);
  const backup = fixed(0.1, 256);

  const pgMemory = options.externalDatabase
    ? 0
    : Math.max(256 * MiB, down(allocatable.memoryBytes * 0.25, MiB));
  const pgCpu = options.externalDatabase ? 0 : Math.max(0.25, down(allocatable.cpu * 0.25, 0.05));

  const rest = {
    cpu: allocatable.cpu - pgCpu - client.requests.cpu - migrate.requests.cpu - backup.requests.cpu,
    memoryBytes:
      allocatable.memoryBytes -
      pgMemory -
      client.limits.memoryBytes -
      migrate.limits.memoryBytes -
      backup.limits.memoryBytes,
  };
  // Two server pods must fit at once during a rollout.
  const serverMemory = down(rest.memoryBytes / 2, MiB);
  const serverCpuRequest = down(rest.cpu / 2, 0.05);
  return { system, client, migrate, backup, pgMemory, pgCpu, rest, serverMemory, serverCpuRequest };
}

/**
 * Plans one machine. The server gets what is left after the system, PostgreSQL, the client and the
 * jobs, halved so that a second server pod fits during a rolling update (`maxSurge: 1`); its CPU
 * limit may burst to the whole remainder. Its memory stops where its own decision stops growing
 * (the same workers, heap and young generation with any more): PostgreSQL gets the rest, twice over.
 *
 * @example
 * planMachine(PROFILES.small).server.workers; // 1
 */
export function planMachine(
  machine: Machine,
  options: { externalDatabase?: boolean | undefined; databaseMaxConnections?: number | undefined } = {},
): Plan {
  if (!(machine.cpu >= 1) || !(machine.memoryBytes >= 1 * GiB)) {
    throw new PlanError(
      `A machine needs at least 1 CPU and 1 GiB; got ${machine.cpu} CPU and ${fmt(machine.memoryBytes)}.`,
    );
  }
  const { system, pgCpu, pgMemory, client, migrate, backup, rest, serverMemory, serverCpuRequest } = shares(
    machine,
    options,
  );
  if (!fitsServer(serverMemory, serverCpuRequest)) {
    // The least memory with this many CPUs that fits, to the MiB, so that the message says what
    // would do (from 1 CPU up, the server's CPU share is at least 0.1).
    let enough = 1 * GiB;
    while (!fitsServer(shares({ ...machine, memoryBytes: enough }, options).serverMemory, MIN_SERVER_CPU)) {
      enough += MiB;
    }
    throw new PlanError(
      `${machine.cpu} CPU / ${fmt(machine.memoryBytes)} is too small${options.externalDatabase ? '' : ' with the bundled PostgreSQL'}: ` +
        `the server would get ${Number(serverCpuRequest.toFixed(2))} CPU and ${fmt(Math.max(0, serverMemory))}, and needs ` +
        `${MIN_SERVER_CPU} CPU and ${fmt(MIN_SERVER_MEMORY)} for each of the two pods a rolling update runs. ` +
        `Give the machine at least ${memoryQuantity(enough)} (${(Math.ceil((enough / GiB) * 100) / 100).toFixed(2)} GiB) of memory.`,
    );
  }
  const serverCpuLimit = Math.max(1, down(rest.cpu, 0.05));

  // The connection cap the server's pools must fit: an external database's own (a managed plan's
  // 100 by default); the bundled PostgreSQL is sized afterwards, to what the server needs.
  const externalCap = options.externalDatabase ? (options.databaseMaxConnections ?? 100) : undefined;
  // What the server itself will decide inside that pod, with the same function. Workers follow the
  // CPU limit (the quota it will detect; CPU is shared during a rollout), memory the halved share,
  // and the connection cap.
  const decideAt = (memoryBytes: number) =>
    decideSizing({
      cpu: serverCpuLimit,
      cpuSource: 'CPU_LIMIT',
      memoryBytes,
      memorySource: 'MEMORY_LIMIT',
      overrides: {},
      budget: { maxConnections: externalCap ?? 1000, replicas: 1 },
    });
  // Said here, with synth's flag: the budget's own refusal names the server's settings.
  const least = leastMaxConnections({ replicas: 1 });
  if (externalCap !== undefined && externalCap < least) {
    throw new PlanError(
      `--db-max-connections ${externalCap} is too few: even one server worker, the second pod of a rolling ` +
        `update, the migrate job, backups and a reserve need ${least}. Give the external database's ` +
        `max_connections (at least ${least}) as --db-max-connections.`,
    );
  }
  const decided = decideAt(serverMemory);
  // The least memory, to the MiB, at which the server decides just that: past it a worker's heap is
  // at its cap (512 MiB) and its semi-spaces at theirs (32 MiB, from 2 GiB a worker), and more
  // memory would sit unused in its limit while PostgreSQL could cache with it.
  const decidesTheSame = (memoryBytes: number) => {
    try {
      const at = decideAt(memoryBytes);
      return (
        at.workers === decided.workers &&
        at.heapMb === decided.heapMb &&
        at.semiSpaceMb === decided.semiSpaceMb
      );
    } catch (error) {
      if (error instanceof SizingError) return false;
      throw error;
    }
  };
  let [low, high] = [MIN_SERVER_MEMORY / MiB, serverMemory / MiB];
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (decidesTheSame(middle * MiB)) high = middle;
    else low = middle + 1;
  }
  const serverLimit = high * MiB;
  const postgresMemory = options.externalDatabase ? 0 : pgMemory + 2 * (serverMemory - serverLimit);
  const maxConnections =
    externalCap ??
    connectionBudget({ maxConnections: 1000, replicas: 1, workers: decided.workers }).peakConnections + 10;
  const budget = connectionBudget({ maxConnections, replicas: 1, workers: decided.workers });

  return {
    machine,
    system,
    server: {
      requests: { cpu: serverCpuRequest, memoryBytes: serverLimit },
      limits: { cpu: serverCpuLimit, memoryBytes: serverLimit },
      replicas: 1,
      workers: decided.workers,
      poolMax: budget.poolMax,
      heapMb: decided.heapMb,
    },
    client,
    migrate,
    backup,
    postgres: {
      requests: { cpu: pgCpu, memoryBytes: postgresMemory },
      limits: { cpu: Math.max(pgCpu, 1), memoryBytes: postgresMemory },
      settings: options.externalDatabase
        ? {}
        : pgTune(postgresMemory, Math.max(1, Math.round(pgCpu)), maxConnections),
    },
    connections: { maxConnections, peak: budget.peakConnections },
  };
}

/** PGTune-style settings for a "web application" workload on SSD storage. */
export function pgTune(memoryBytes: number, cpus: number, maxConnections: number): Record<string, string> {
  const mb = (bytes: number) => `${Math.max(1, Math.floor(bytes / MiB))}MB`;
  const sharedBuffers = memoryBytes / 4;
  const settings: Record<string, string> = {
    max_connections: String(maxConnections),
    shared_buffers: mb(sharedBuffers),
    effective_cache_size: mb((memoryBytes * 3) / 4),
    maintenance_work_mem: mb(Math.min(memoryBytes / 16, 2 * GiB)),
    work_mem: `${Math.max(64, Math.floor((memoryBytes - sharedBuffers) / (maxConnections * 3) / 1024))}kB`,
    wal_buffers: mb(Math.min(Math.max(sharedBuffers * 0.03, 64 * 1024), 16 * MiB)),
    min_wal_size: '1GB',
    max_wal_size: '4GB',
    checkpoint_completion_target: '0.9',
    default_statistics_target: '100',
    random_page_cost: '1.1',
    effective_io_concurrency: '200',
    max_worker_processes: String(Math.max(8, cpus)),
  };
  if (cpus >= 4) {
    settings.max_parallel_workers_per_gather = String(Math.floor(cpus / 2));
    settings.max_parallel_workers = String(cpus);
    settings.max_parallel_maintenance_workers = String(Math.floor(cpus / 2));
  }
  return settings;
}

/** Kubernetes quantities. */
export const cpuQuantity = (cpu: number) => `${Math.round(cpu * 1000)}m`;
export const memoryQuantity = (bytes: number) => `${Math.floor(bytes / MiB)}Mi`;
const fmt = (bytes: number) => `${(bytes / GiB).toFixed(bytes % GiB === 0 ? 0 : 2)} GiB`;

/** Reads `--cpu 8 --memory 32Gi` style input. */
export function parseMachine(cpu: string, memory: string): Machine {
  const match = /^(\d+(?:\.\d+)?)(Mi|Gi|Ti)$/.exec(memory);
  if (!match?.[1] || !match[2] || !(Number(cpu) > 0)) {
    throw new PlanError(`Give the machine as --cpu N --memory NNGi (got --cpu ${cpu} --memory ${memory}).`);
  }
  const unit = { Mi: MiB, Gi: GiB, Ti: 1024 * GiB }[match[2] as 'Mi' | 'Gi' | 'Ti'];
  return { cpu: Number(cpu), memoryBytes: Number(match[1]) * unit };
}
