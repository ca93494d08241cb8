/**
 * @module What the container was given: CPU quota and memory limit from cgroup v2, else cgroup v1,
 * else the host (`os`). The cgroup root and /proc/self/cgroup are parameters, so tests point them
 * at trees of real files.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join, posix } from 'node:path';

export type CpuSource = 'cgroup-v2' | 'cgroup-v1' | 'os' | 'CPU_LIMIT';
export type MemorySource = 'cgroup-v2' | 'cgroup-v1' | 'os' | 'MEMORY_LIMIT';

export interface Detected {
  /** CPUs the process may use, fractional for a quota (e.g. 0.5). */
  cpu: number;
  cpuSource: CpuSource;
  memoryBytes: number;
  memorySource: MemorySource;
}

export interface DetectOptions {
  /** Where the cgroup filesystem is mounted. @default '/sys/fs/cgroup' */
  cgroupRoot?: string;
  /** The file naming this process's cgroup(s). @default '/proc/self/cgroup' */
  procSelfCgroup?: string;
  /** The host's numbers, when no cgroup limits apply. @default from `os` */
  host?: { cpus: number; memoryBytes: number };
}

/** cgroup v1 writes a page-aligned 2^63-1 for "no limit"; anything this large means unlimited. */
const V1_UNLIMITED = 2 ** 62;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The cgroup directory of this process and every ancestor up to the mount root, innermost first. */
function hierarchy(root: string, relative: string): string[] {
  const dirs: string[] = [];
  let current = posix.normalize(`/${relative}`);
  for (;;) {
    dirs.push(join(root, current));
    if (current === '/') return dirs;
    current = posix.dirname(current);
  }
}

/** The smallest limit along the hierarchy (a parent's limit binds its children too). */
function smallest(values: (number | undefined)[]): number | undefined {
  const finite = values.filter(
    (value): value is number => value !== undefined && Number.isFinite(value) && value > 0,
  );
  return finite.length > 0 ? Math.min(...finite) : undefined;
}

function v2(root: string, path: string): { cpu?: number; memory?: number } {
  const dirs = hierarchy(root, path);
  const cpu = smallest(
    dirs.map((dir) => {
      const [quota, period] = (read(join(dir, 'cpu.max')) ?? '').split(/\s+/);
      if (!quota || quota === 'max') return undefined;
      return Number(quota) / Number(period || 100_000);
    }),
  );
  const memory = smallest(
    dirs.map((dir) => {
      const value = read(join(dir, 'memory.max'));
      return value && value !== 'max' ? Number(value) : undefined;
    }),
  );
  return { cpu, memory };
}

function v1(root: string, controllers: Map<string, string>): { cpu?: number; memory?: number } {
  const dirsOf = (controller: string) => {
    const entry = [...controllers].find(([names]) => names.split(',').includes(controller));
    if (!entry) return [];
    // Mounted as cpu,cpuacct or cpu (a symlink); inside a container the mount root is its own cgroup.
    const mounts = [join(root, entry[0]), join(root, controller)];
    return mounts.flatMap((mount) => [...hierarchy(mount, entry[1]), mount]);
  };
  const cpu = smallest(
    dirsOf('cpu').map((dir) => {
      const quota = Number(read(join(dir, 'cpu.cfs_quota_us')));
      const period = Number(read(join(dir, 'cpu.cfs_period_us')) ?? 100_000);
      return quota > 0 && period > 0 ? quota / period : undefined;
    }),
  );
  const memory = smallest(
    dirsOf('memory').map((dir) => {
      const value = Number(read(join(dir, 'memory.limit_in_bytes')));
      return value > 0 && value < V1_UNLIMITED ? value : undefined;
    }),
  );
  return { cpu, memory };
}

/**
 * Reads the limits. Overrides (`CPU_LIMIT`, `MEMORY_LIMIT`) are applied by the caller; a limit
 * larger than the host is capped at the host.
 *
 * @example
 * detectResources(); // { cpu: 2, cpuSource: 'cgroup-v2', memoryBytes: 536870912, memorySource: 'cgroup-v2' }
 */
export function detectResources(options: DetectOptions = {}): Detected {
  const root = options.cgroupRoot ?? '/sys/fs/cgroup';
  const host = options.host ?? { cpus: os.availableParallelism(), memoryBytes: os.totalmem() };
  const lines = (read(options.procSelfCgroup ?? '/proc/self/cgroup') ?? '').split('\n').filter(Boolean);

  let found: { cpu?: number; memory?: number } = {};
  let kind: 'cgroup-v2' | 'cgroup-v1' | undefined;
  const unified = lines.find((line) => line.startsWith('0::'));
  if (unified && read(join(root, 'cgroup.controllers')) !== undefined) {
    found = v2(root, unified.slice(3));
    kind = 'cgroup-v2';
  }
  if (found.cpu === undefined && found.memory === undefined) {
    const controllers = new Map<string, string>();
    for (const line of lines) {
      const [, names, path] = line.split(':');
      if (names && path !== undefined) controllers.set(names, path);
    }
    if (controllers.size > 0) {
      const fromV1 = v1(root, controllers);
      if (fromV1.cpu !== undefined || fromV1.memory !== undefined) {
        found = fromV1;
        kind = 'cgroup-v1';
      }
    }
  }

  const cpuLimited = found.cpu !== undefined && found.cpu < host.cpus;
  const memoryLimited = found.memory !== undefined && found.memory < host.memoryBytes;
  return {
    cpu: cpuLimited ? (found.cpu as number) : host.cpus,
    cpuSource: cpuLimited && kind ? kind : 'os',
    memoryBytes: memoryLimited ? (found.memory as number) : host.memoryBytes,
    memorySource: memoryLimited && kind ? kind : 'os',
  };
}
