import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseEnv } from '@plumb/db/env-contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverEnvSchema } from '#src/env.ts';
import { BudgetError, capProblems, connectionBudget, leastMaxConnections } from '#src/sizing/budget.ts';
import { decideSizing, MAX_HEAP_MB, MIN_HEAP_MB, type SizingInput } from '#src/sizing/decide.ts';
import { type Detected, detectResources } from '#src/sizing/detect.ts';
import { heapArgs, heapInEffect, heapReexecArgs, plainSizingEnv, resolveSizing } from '#src/sizing/index.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const host = { cpus: 16, memoryBytes: 64 * GiB };

describe('detecting the container', () => {
  let root: string;
  const tree = async (name: string, files: Record<string, string>) => {
    const dir = join(root, name);
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), `${content}\n`);
    }
    return { cgroupRoot: join(dir, 'sys/fs/cgroup'), procSelfCgroup: join(dir, 'proc/self/cgroup'), host };
  };
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'plumb-cgroups-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const v2 = { cpuSource: 'cgroup-v2', memorySource: 'cgroup-v2' } as const;
  const v1 = { cpuSource: 'cgroup-v1', memorySource: 'cgroup-v1' } as const;
  const hostOnly = { cpu: 16, cpuSource: 'os', memoryBytes: 64 * GiB, memorySource: 'os' } as const;
  it.each<[string, Record<string, string>, Partial<Detected>]>([
    [
      'reads cgroup v2 cpu.max and memory.max of the container (namespace root)',
      {
        'proc/self/cgroup': '0::/',
        'sys/fs/cgroup/cgroup.controllers': 'cpu memory pids',
        'sys/fs/cgroup/cpu.max': '150000 100000',
        'sys/fs/cgroup/memory.max': String(512 * MiB),
      },
      { cpu: 1.5, memoryBytes: 512 * MiB, ...v2 },
    ],
    [
      'takes the tightest limit along a nested cgroup v2 path, and "max" as no limit',
      {
        'proc/self/cgroup': '0::/kubepods/pod1/app',
        'sys/fs/cgroup/cgroup.controllers': 'cpu memory',
        'sys/fs/cgroup/kubepods/cpu.max': '400000 100000',
        'sys/fs/cgroup/kubepods/pod1/cpu.max': '200000 100000',
        'sys/fs/cgroup/kubepods/pod1/app/cpu.max': 'max 100000',
        'sys/fs/cgroup/kubepods/pod1/app/memory.max': 'max',
        'sys/fs/cgroup/kubepods/pod1/memory.max': String(2 * GiB),
      },
      { cpu: 2, memoryBytes: 2 * GiB, ...v2 },
    ],
    [
      // Without a cgroup namespace, /proc/self/cgroup gives the host's path; only the mount's root exists.
      "reads the container's own cgroup v2 files when its path names a host cgroup it cannot see",
      {
        'proc/self/cgroup': '0::/system.slice/docker-0123abcd.scope',
        'sys/fs/cgroup/cgroup.controllers': 'cpu memory',
        'sys/fs/cgroup/cpu.max': '100000 100000',
        'sys/fs/cgroup/memory.max': String(GiB),
      },
      { cpu: 1, memoryBytes: GiB, ...v2 },
    ],
    [
      'reads cgroup v1 on a hybrid host, whose unified hierarchy holds no limits',
      {
        'proc/self/cgroup': '12:memory:/\n4:cpu,cpuacct:/\n1:name=systemd:/\n0::/',
        'sys/fs/cgroup/unified/cgroup.controllers': '',
        'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '200000',
        'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000',
        'sys/fs/cgroup/memory/memory.limit_in_bytes': String(2 * GiB),
      },
      { cpu: 2, memoryBytes: 2 * GiB, ...v1 },
    ],
    [
      'reads cgroup v1 quota/period and limit_in_bytes',
      {
        'proc/self/cgroup': '12:memory:/\n4:cpu,cpuacct:/\n1:name=systemd:/',
        'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '50000',
        'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000',
        'sys/fs/cgroup/memory/memory.limit_in_bytes': String(GiB),
      },
      { cpu: 0.5, memoryBytes: GiB, ...v1 },
    ],
    [
      'ignores the cgroup v1 "unlimited" sentinel and a -1 quota',
      {
        'proc/self/cgroup': '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc',
        'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '-1',
        'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000',
        'sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712',
      },
      hostOnly,
    ],
    ['falls back to the host without cgroups', { 'proc/self/cgroup': '' }, hostOnly],
    [
      'caps a limit above the host at the host',
      {
        'proc/self/cgroup': '0::/',
        'sys/fs/cgroup/cgroup.controllers': 'cpu memory',
        'sys/fs/cgroup/cpu.max': '6400000 100000',
        'sys/fs/cgroup/memory.max': String(128 * GiB),
      },
      { cpu: 16, cpuSource: 'os', memoryBytes: 64 * GiB },
    ],
  ])('%s', async (title, files, expected) => {
    const options = await tree(title.replace(/\W+/g, '-'), files);
    expect(detectResources(options)).toMatchObject(expected);
  });

  it('lets CPU_LIMIT and MEMORY_LIMIT override detection', async () => {
    const options = await tree('override', {
      'proc/self/cgroup': '0::/',
      'sys/fs/cgroup/cgroup.controllers': 'cpu memory',
      'sys/fs/cgroup/cpu.max': '100000 100000',
      'sys/fs/cgroup/memory.max': String(GiB),
    });
    const env = parseEnv(serverEnvSchema, {
      DATABASE_URL: 'postgres://x',
      CPU_LIMIT: '4',
      MEMORY_LIMIT: '8Gi',
    });
    const sizing = resolveSizing(env, options);
    expect(sizing).toMatchObject({ cpu: 4, memoryBytes: 8 * GiB, workers: 4 });
    expect(sizing.source).toMatchObject({ cpu: 'CPU_LIMIT', memory: 'MEMORY_LIMIT', workers: 'cpu' });
  });

  it.each([
    ['2Gi', 2 * GiB],
    ['1.5Gi', 1.5 * GiB],
    ['2G', 2e9],
    ['2000000k', 2e9],
    ['2e9', 2e9],
    ['2E9', 2e9],
    ['0.001Pi', Math.floor(0.001 * 2 ** 50)],
    ['2147483648', 2 * GiB],
    ['.5Gi', 0.5 * GiB],
    ['2e+9', 2e9],
    ['128974848000m', 128974848],
  ])('reads MEMORY_LIMIT=%s as Kubernetes does: %d bytes', (value, bytes) => {
    expect(
      parseEnv(serverEnvSchema, { DATABASE_URL: 'postgres://x', MEMORY_LIMIT: value }).MEMORY_LIMIT,
    ).toBe(bytes);
  });
});

const input = (over: Partial<SizingInput> = {}): SizingInput => ({
  cpu: 2,
  cpuSource: 'cgroup-v2',
  memoryBytes: 2 * GiB,
  memorySource: 'cgroup-v2',
  overrides: {},
  budget: { maxConnections: 100, replicas: 1 },
  ...over,
});

describe('deciding', () => {
  it('runs one worker per whole CPU, with a floor of one', () => {
    expect(decideSizing(input({ cpu: 0.1, memoryBytes: 512 * MiB })).workers).toBe(1);
    expect(decideSizing(input({ cpu: 1.9 })).workers).toBe(1);
    expect(decideSizing(input({ cpu: 2 })).workers).toBe(2);
    expect(decideSizing(input({ cpu: 8, memoryBytes: 32 * GiB })).workers).toBe(8);
  });

  it('never plans more memory than the container has', () => {
    for (const [cpu, gib] of [
      [0.1, 0.5],
      [1, 1],
      [2, 4],
      [4, 16],
      [16, 64],
      [64, 256],
    ] as const) {
      const sizing = decideSizing(input({ cpu, memoryBytes: gib * GiB }));
      // Per worker: the heap, 48 MiB of code and buffers, the young generation, four argon2 hashes.
      const perWorker = sizing.heapMb + 48 + 2 * sizing.semiSpaceMb + 4 * 19;
      const planned = sizing.workers * perWorker + (sizing.workers > 1 ? 48 : 0);
      expect(planned, `${cpu} CPU / ${gib} GiB`).toBeLessThanOrEqual(gib * 1024);
      expect(sizing.heapMb).toBeGreaterThanOrEqual(MIN_HEAP_MB);
    }
  });

  it('gives a worker larger semi-spaces when its share of memory allows: 8 MiB below 1 GiB, 16 from 1 GiB, 32 from 2', () => {
    const semi = (cpu: number, memory: number) =>
      decideSizing(input({ cpu, memoryBytes: memory })).semiSpaceMb;
    expect(semi(1, 512 * MiB)).toBe(8);
    expect(semi(1, 1023 * MiB)).toBe(8);
    expect(semi(1, 1 * GiB)).toBe(16);
    expect(semi(1, 2 * GiB)).toBe(32);
    expect(semi(2, 2 * GiB)).toBe(8); // 1000 MiB each, after the primary's 48
    expect(semi(2, 4 * GiB)).toBe(16);
    expect(semi(8, 256 * GiB)).toBe(32); // never more than 32
    // The young generation is counted before the heap: two 8 MiB semi-spaces at 640 MiB.
    expect(decideSizing(input({ cpu: 1, memoryBytes: 640 * MiB })).heapMb).toBe(
      Math.floor((640 - 48 - 2 * 8 - 4 * 19) * 0.9),
    );
  });

  it('runs fewer workers than CPUs when memory is short, and says so', () => {
    const sizing = decideSizing(input({ cpu: 8, memoryBytes: 1 * GiB }));
    expect(sizing.workers).toBeLessThan(8);
    expect(sizing.workers).toBeGreaterThanOrEqual(1);
    expect(sizing.source.workers).toBe('memory');
  });

  it('runs fewer workers than CPUs when the connection budget is short', () => {
    const sizing = decideSizing(input({ cpu: 64, memoryBytes: 256 * GiB }));
    expect(sizing.workers).toBe(46); // (100 - 7) / 2 processes during a rollout
    expect(sizing.source.workers).toBe('connections');
    expect(sizing.connections.peak).toBeLessThanOrEqual(100);
  });

  it('honours WEB_CONCURRENCY and refuses more workers than memory allows', () => {
    expect(decideSizing(input({ overrides: { workers: 3 } }))).toMatchObject({
      workers: 3,
      source: { workers: 'WEB_CONCURRENCY' },
    });
    expect(() => decideSizing(input({ memoryBytes: 512 * MiB, overrides: { workers: 8 } }))).toThrow(
      /WEB_CONCURRENCY=8 needs more memory than the 512 MiB available: at most 1 worker\(s\) fit/,
    );
  });

  it('refuses a container too small for one worker, saying how much one needs', () => {
    expect(() => decideSizing(input({ memoryBytes: 200 * MiB }))).toThrow(
      /^200 MiB of memory is too little for even one worker: it needs at least \d+ MiB .*Give the container more memory\.$/,
    );
    let message = '';
    try {
      decideSizing(input({ memoryBytes: 240 * MiB, memorySource: 'MEMORY_LIMIT' }));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/Raise MEMORY_LIMIT\.$/);
    const neededMb = Number(/at least (\d+) MiB/.exec(message)?.[1]);
    expect(decideSizing(input({ cpu: 1, memoryBytes: neededMb * MiB })).heapMb).toBe(MIN_HEAP_MB);
    expect(() => decideSizing(input({ cpu: 1, memoryBytes: (neededMb - 1) * MiB }))).toThrow(/too little/);
  });

  it('decides at once for any memory limit, however large', () => {
    expect(decideSizing(input({ cpu: 4, memoryBytes: 2 ** 60 }))).toMatchObject({
      workers: 4,
      heapMb: MAX_HEAP_MB,
    });
  });

  it('sizes the pool from the connection budget, and honours DB_POOL_MAX only when it fits', () => {
    // 2 workers, 1 replica doubled in a rollout: 4 processes share 100 - 7.
    expect(decideSizing(input()).poolMax).toBe(10);
    const tight = decideSizing(
      input({ cpu: 4, memoryBytes: 8 * GiB, budget: { maxConnections: 25, replicas: 1 } }),
    );
    expect(tight.poolMax).toBe(2); // floor((25 - 7) / 8)
    expect(tight.connections).toEqual({ peak: 23, maxConnections: 25 });
    expect(decideSizing(input({ overrides: { poolMax: 3 } }))).toMatchObject({
      poolMax: 3,
      source: { poolMax: 'DB_POOL_MAX' },
    });
    // The largest pool that fits is named, above the automatic cap of 10 too: the workers come down
    // to one for a pinned pool, and 2 × 46 + 7 = 99.
    expect(() => decideSizing(input({ overrides: { poolMax: 50 } }))).toThrow(
      /A pool of 50 per worker does not fit: .* need 107 connections, but max_connections \(DB_MAX_CONNECTIONS\) is 100\. At most 46 per worker fits; lower DB_POOL_MAX\./,
    );
    expect(decideSizing(input({ overrides: { poolMax: 46 } })).connections).toEqual({
      peak: 99,
      maxConnections: 100,
    });
    expect(() => decideSizing(input({ overrides: { poolMax: 47 } }))).toThrow(/At most 46 per worker fits/);
  });

  it('runs fewer workers than CPUs when a pinned DB_POOL_MAX would not fit the budget with more', () => {
    const pinned = (cpu: number) =>
      decideSizing(input({ cpu, memoryBytes: 16 * GiB, overrides: { poolMax: 10 } }));
    expect(pinned(4)).toMatchObject({ workers: 4, poolMax: 10, source: { workers: 'cpu' } });
    // floor((100 - 7) / (2 × 10)) = 4 workers: the same settings still start on a bigger machine.
    expect(pinned(8)).toMatchObject({
      workers: 4,
      poolMax: 10,
      source: { workers: 'connections' },
      connections: { peak: 87, maxConnections: 100 },
    });
  });

  it('names the least max_connections as the budget counts it: one connection per worker of each replica, in a rollout too', () => {
    for (const replicas of [1, 3]) {
      const least = leastMaxConnections({ replicas });
      expect(least).toBe(replicas * 2 + 7);
      expect(connectionBudget({ maxConnections: least, replicas, workers: 1 }).poolMax).toBe(1);
      expect(() => connectionBudget({ maxConnections: least - 1, replicas, workers: 1 })).toThrow(
        BudgetError,
      );
    }
  });

  it('refuses a budget below one connection per worker', () => {
    expect(() => decideSizing(input({ budget: { maxConnections: 8, replicas: 1 } }))).toThrow(
      /connection budget does not fit/,
    );
    expect(() =>
      decideSizing(
        input({
          cpu: 16,
          memoryBytes: 64 * GiB,
          overrides: { workers: 16 },
          budget: { maxConnections: 20, replicas: 1 },
        }),
      ),
    ).toThrow(
      /32 server processes .* need at least 39 connections, but max_connections \(DB_MAX_CONNECTIONS\) is 20: set DB_MAX_CONNECTIONS .* \(100 unless set\), or lower the workers \(WEB_CONCURRENCY\)\.$/,
    );
    // One worker of one replica already: fewer would not help, so the message does not suggest it.
    expect(() => decideSizing(input({ cpu: 1, budget: { maxConnections: 8, replicas: 1 } }))).toThrow(
      /max_connections if it allows more \(100 unless set\)\.$/,
    );
    expect(() => decideSizing(input({ cpu: 1, budget: { maxConnections: 8, replicas: 2 } }))).toThrow(
      /\(100 unless set\), or lower SERVER_REPLICAS\.$/,
    );
  });
});

describe('the connection budget', () => {
  it('fits every process of a rollout, the jobs and a reserve under max_connections', () => {
    for (const maxConnections of [20, 97, 100, 500]) {
      for (const replicas of [1, 2, 3]) {
        for (const workers of [1, 2, 4]) {
          try {
            const budget = connectionBudget({ maxConnections, replicas, workers });
            expect(budget.peakConnections).toBeLessThanOrEqual(maxConnections);
            expect(replicas * 2 * workers * budget.poolMax + 7).toBe(budget.peakConnections);
          } catch (error) {
            expect((error as Error).message).toMatch(/does not fit/);
            expect(replicas * 2 * workers + 7).toBeGreaterThan(maxConnections);
          }
        }
      }
    }
  });
});

describe("the database's own connection limits against the budget", () => {
  const unlimited = { maxConnections: 300, superuser: false, roleLimit: -1, databaseLimit: -1 };
  // One worker at the default cap: 2 processes during a rollout × 10 + 7 = 27 at the peak.
  const budget = connectionBudget({ maxConnections: 100, replicas: 1, workers: 1 });
  const connections = { peak: budget.peakConnections, maxConnections: 100 };

  it('says nothing when the peak fits, even under a DB_MAX_CONNECTIONS above the real one', () => {
    expect(capProblems(connections, unlimited)).toEqual([]);
    expect(capProblems(connections, { ...unlimited, maxConnections: 27, roleLimit: 22 })).toEqual([]);
  });

  it("names the database's max_connections, and the DB_MAX_CONNECTIONS to set, when the peak does not fit", () => {
    expect(capProblems(connections, { ...unlimited, maxConnections: 25 })).toEqual([
      expect.stringMatching(
        /^The pools and jobs may open 27 connections .* DB_MAX_CONNECTIONS 100, but the database's max_connections is 25: raise max_connections, or set DB_MAX_CONNECTIONS=25,/,
      ),
    ]);
  });

  it("names a role's or a database's CONNECTION LIMIT, which bind all but a superuser", () => {
    const limited = { ...unlimited, roleLimit: 10, databaseLimit: 12 };
    expect(capProblems(connections, limited)).toEqual([
      expect.stringMatching(
        /22 connections at their peak, but the role's CONNECTION LIMIT is 10: raise it, or set DB_MAX_CONNECTIONS=15,/,
      ),
      expect.stringMatching(/the database's CONNECTION LIMIT is 12: .*DB_MAX_CONNECTIONS=17,/),
    ]);
    expect(capProblems(connections, { ...limited, superuser: true })).toEqual([]);
    // A DB_MAX_CONNECTIONS below what even one worker needs is not advised: the server would refuse it.
    expect(capProblems(connections, { ...unlimited, roleLimit: 3 })).toEqual([
      expect.stringMatching(
        /CONNECTION LIMIT is 3: raise it \(even one worker needs DB_MAX_CONNECTIONS 9\)\.$/,
      ),
    ]);
    expect(capProblems(connections, { ...unlimited, maxConnections: 8 })).toEqual([
      expect.stringMatching(
        /max_connections is 8: raise max_connections \(even one worker needs DB_MAX_CONNECTIONS 9\)\.$/,
      ),
    ]);
    // What it says to set fits: the budget under DB_MAX_CONNECTIONS=15 passes the check.
    const smaller = connectionBudget({ maxConnections: 15, replicas: 1, workers: 1 });
    expect(
      capProblems({ peak: smaller.peakConnections, maxConnections: 15 }, { ...unlimited, roleLimit: 10 }),
    ).toEqual([]);
  });
});

describe('refusing bad overrides at start', () => {
  const bad = (name: string, value: string) => () =>
    parseEnv(serverEnvSchema, { DATABASE_URL: 'postgres://x', [name]: value });
  it.each([
    ['WEB_CONCURRENCY', '0'],
    ['WEB_CONCURRENCY', '-2'],
    ['WEB_CONCURRENCY', 'lots'],
    ['WEB_CONCURRENCY', '1.5'],
    ['DB_POOL_MAX', '0'],
    ['CPU_LIMIT', '0'],
    ['CPU_LIMIT', 'two'],
    ['MEMORY_LIMIT', '12 GB'],
    ['MEMORY_LIMIT', '2gi'],
    ['MEMORY_LIMIT', '2Gb'],
    ['MEMORY_LIMIT', '-2Gi'],
    ['MEMORY_LIMIT', '1e400'],
    ['MEMORY_LIMIT', '1Mi'],
    ['UV_THREADPOOL_SIZE', '0'],
  ])('%s=%s', (name, value) => {
    expect(bad(name, value)).toThrow(new RegExp(`${name}: (?!is required but not set)`));
  });
});

describe('the quick read of the sizing settings (main.ts, before the schema loads)', () => {
  const SIZING = [
    'CPU_LIMIT',
    'MEMORY_LIMIT',
    'WEB_CONCURRENCY',
    'DB_POOL_MAX',
    'UV_THREADPOOL_SIZE',
    'DB_MAX_CONNECTIONS',
    'SERVER_REPLICAS',
  ] as const;
  const bySchema = (env: Record<string, string>) => {
    const parsed = parseEnv(serverEnvSchema, { DATABASE_URL: 'postgres://x', ...env });
    return Object.fromEntries(SIZING.map((name) => [name, parsed[name]]));
  };

  it.each<Record<string, string>>([
    {},
    { WEB_CONCURRENCY: '1' },
    { CPU_LIMIT: '3', DB_POOL_MAX: '4', UV_THREADPOOL_SIZE: '8' },
    { DB_MAX_CONNECTIONS: '25', SERVER_REPLICAS: '3', WEB_CONCURRENCY: '2' },
    { WEB_CONCURRENCY: '', MEMORY_LIMIT: '', DB_MAX_CONNECTIONS: '' },
  ])('reads plain numbers (and empty values as unset) as the schema does, with its defaults: %o', (env) => {
    expect(plainSizingEnv(env)).toEqual(bySchema(env));
  });

  it.each<Record<string, string>>([
    { MEMORY_LIMIT: '2Gi' },
    { CPU_LIMIT: '1.5' },
    { WEB_CONCURRENCY: '02' },
    { DB_POOL_MAX: 'ten' },
    { SERVER_REPLICAS: '-1' },
  ])('leaves anything else to the schema: %o', (env) => {
    expect(plainSizingEnv(env)).toBeUndefined();
  });
});

describe('heapArgs', () => {
  it("replaces the process's own heap flags, in either spelling, with the decided ones", () => {
    const sizing = { heapMb: 512, semiSpaceMb: 16 };
    expect(
      heapArgs(
        ['--max_old_space_size=4096', '--max-semi-space-size=32', '--min_semi_space_size=1', '--inspect'],
        sizing,
        '',
      ),
    ).toEqual([
      '--inspect',
      '--max-old-space-size=512',
      '--max-semi-space-size=16',
      '--min-semi-space-size=16',
    ]);
  });

  it('starts the young generation at 16 MiB, or at the decided semi-space when that is smaller', () => {
    const start = (semiSpaceMb: number) => heapArgs([], { heapMb: 512, semiSpaceMb }, '').at(-1);
    expect([8, 16, 32].map(start)).toEqual([
      '--min-semi-space-size=8',
      '--min-semi-space-size=16',
      '--min-semi-space-size=16',
    ]);
  });

  it("leaves to an operator's NODE_OPTIONS each limit it sets, in either spelling", () => {
    const sizing = { heapMb: 512, semiSpaceMb: 8 };
    for (const nodeOptions of [
      '--max-old-space-size=300',
      '--enable-source-maps --max_old_space_size=300',
      '--max-old-space-size-percentage=25',
    ]) {
      expect(heapArgs(['--inspect'], sizing, nodeOptions)).toEqual([
        '--inspect',
        '--max-semi-space-size=8',
        '--min-semi-space-size=8',
      ]);
    }
    expect(heapArgs([], sizing, '--max_semi_space_size=4')).toEqual(['--max-old-space-size=512']);
    // 0 is V8's default: the decided semi-space stays.
    expect(heapArgs([], sizing, '--max-semi-space-size=0')).toEqual(heapArgs([], sizing, ''));
    expect(heapArgs([], sizing, '--max-old-space-size=300 --max-semi-space-size=4')).toEqual([]);
    expect(heapArgs([], { heapMb: 512, semiSpaceMb: 8 }, '--stack-size=2000')).toEqual([
      '--max-old-space-size=512',
      '--max-semi-space-size=8',
      '--min-semi-space-size=8',
    ]);
  });
});

describe('heapReexecArgs', () => {
  const one = decideSizing(input({ cpu: 1, memoryBytes: 512 * MiB }));

  it('re-executes one worker without its heap limits, with all of its flags', () => {
    expect(heapReexecArgs(one, ['--inspect'], '')).toEqual(['--inspect', ...heapArgs([], one, '')]);
  });

  it("re-executes whether V8's default heap is larger or smaller than the decided one", () => {
    const large = decideSizing(input({ cpu: 1, memoryBytes: 64 * GiB }));
    expect(large.heapMb).toBe(MAX_HEAP_MB);
    expect(heapReexecArgs(large, [], '')).toEqual(heapArgs([], large, ''));
    // In a 512 MiB container V8's default is ~259 MiB in all: smaller than the 334 MiB decided.
    expect(one.heapMb).toBeGreaterThan(259);
    expect(heapReexecArgs(one, [], '')).toEqual(heapArgs([], one, ''));
  });

  it("re-executes only for the limits an operator's NODE_OPTIONS leaves to it", () => {
    expect(heapReexecArgs(one, [], '--max-old-space-size=300')).toEqual([
      '--max-semi-space-size=8',
      '--min-semi-space-size=8',
    ]);
    expect(heapReexecArgs(one, [], '--max-old-space-size=300 --max-semi-space-size=4')).toBeUndefined();
  });

  it('does not re-execute for the start size of the young generation alone', () => {
    const limits = heapArgs([], one, '').filter((arg) => !arg.startsWith('--min-semi-space-size'));
    expect(limits).toHaveLength(2);
    expect(heapReexecArgs(one, limits, '')).toBeUndefined();
  });

  it('leaves several workers to the primary, which starts each with the flags', () => {
    const two = decideSizing(input({ cpu: 2, memoryBytes: 2 * GiB }));
    expect(two.workers).toBe(2);
    expect(heapReexecArgs(two, [], '')).toBeUndefined();
  });
});

describe('heapInEffect', () => {
  const decided = decideSizing(input({ cpu: 1, memoryBytes: 4 * GiB }));

  /** V8's heap limit in a Node started as a worker is, with `nodeOptions` and the flags heapArgs adds. */
  const limitOf = (nodeOptions: string) =>
    Number(
      execFileSync(
        process.execPath,
        [...heapArgs([], decided, nodeOptions), '-p', 'require("v8").getHeapStatistics().heap_size_limit'],
        { env: { PATH: process.env.PATH, NODE_OPTIONS: nodeOptions }, encoding: 'utf8' },
      ),
    );

  it.each([
    ['--enable-source-maps --max_old_space_size=1024', 1024, 32],
    // V8 rounds a semi-space up to a power of two, and takes 0 for its default (the decided one stays).
    ['--max-old-space-size=1024 --max-semi-space-size=5', 1024, 8],
    ['--max-old-space-size=1024 --max-semi-space-size=0', 1024, 32],
    ['--max-semi-space-size=200 --max-old-space-size=300', 300, 256],
    // Given twice, V8 keeps the last.
    ['--max-old-space-size=2048 --max-old-space-size=1024', 1024, 32],
    // The semi-space alone: the decided old space stays.
    ['--max-semi-space-size=3', 512, 4],
  ])(
    'reports what V8 runs with for NODE_OPTIONS=%s: old space %i MiB, semi-spaces %i',
    (nodeOptions, heapMb, semiSpaceMb) => {
      expect(decided).toMatchObject({ heapMb: 512, semiSpaceMb: 32 });
      expect(heapInEffect(decided, nodeOptions, limitOf(nodeOptions))).toEqual({
        ...decided,
        heapMb,
        semiSpaceMb,
        source: { ...decided.source, heap: 'NODE_OPTIONS' },
      });
    },
  );

  it("counts a percentage of the machine as the operator's old space, read from V8's limit", () => {
    const nodeOptions = '--max-old-space-size-percentage=10';
    const limit = limitOf(nodeOptions);
    expect(heapInEffect(decided, nodeOptions, limit).heapMb).toBe(Math.round(limit / MiB) - 3 * 32);
  });

  it('leaves the decided heap when NODE_OPTIONS sets no limit', () => {
    expect(heapInEffect(decided, '--stack-size=2000 --max-old-space-size', 999 * MiB)).toBe(decided);
    expect(heapInEffect(decided, '', 999 * MiB)).toBe(decided);
  });
});
