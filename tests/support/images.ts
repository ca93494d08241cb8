/**
 * @module The three images under podman, for the image suite, its benchmark and the fault suite:
 * find podman and this machine's settings for it, make sure the base images the Dockerfiles name
 * exist (pulled, or local stand-ins from `../shared/containers/base-images.sh` when no registry can
 * be reached), build, run and measure.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export { waitForStatus } from '@plumb/server/testing';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const LAYERS = ['server', 'client', 'db'] as const;
export type Layer = (typeof LAYERS)[number];

/** Flags every HTTP container runs with, as the Kubernetes manifests run them (contract 7). */
export const READ_ONLY_FLAGS = [
  '--read-only',
  '--read-only-tmpfs=false',
  '--tmpfs',
  '/tmp',
  '--cap-drop=ALL',
];
/** The numeric users the images declare, and the manifests' runAsUser. */
export const USERS: Record<Layer, string> = { server: '1000', client: '101', db: '1000' };

/** The stand-in script's path: PLUMB_BASE_IMAGES_SCRIPT, else the workplace's `../shared/containers/`. */
export const baseImagesScript = () =>
  process.env.PLUMB_BASE_IMAGES_SCRIPT ?? resolve(repoRoot, '../shared/containers/base-images.sh');

export const hasPodman = () => spawnSync('podman', ['--version']).status === 0;

/**
 * The podman settings this machine needs (runtime, cgroup manager, storage), as printed by the
 * stand-in script, applied to this process so every podman call below uses them. A machine
 * without the script uses podman as it is configured.
 */
export function usePodmanSettings(): void {
  const script = baseImagesScript();
  if (!existsSync(script) || process.env.CONTAINERS_CONF) return;
  const printed = spawnSync('bash', [script, '--print-env'], { encoding: 'utf8' });
  if (printed.status !== 0) throw new Error(`${script} --print-env failed:\n${printed.stderr}`);
  for (const line of printed.stdout.split('\n')) {
    const [, name, value] = /^export (\w+)=(.*)$/.exec(line.trim()) ?? [];
    if (name && value !== undefined) process.env[name] = value;
  }
}

export interface RunOptions {
  /** Container name (without it: removed when it exits). */
  name?: string;
  env?: Record<string, string>;
  /** host (loopback, where PostgreSQL is) or none. */
  network?: 'host' | 'none';
  /** Read-only root and a /tmp tmpfs, as the manifests run it (default true). */
  readOnly?: boolean;
  /** A size limit for the /tmp tmpfs (podman's syntax, e.g. `1m`). */
  tmpSize?: string;
  cpus?: number;
  memory?: string;
  entrypoint?: string;
  /** Another user than the image's own (as a platform that assigns uids would run it). */
  user?: string;
  /** Arguments after the image name. */
  args?: string[];
}

/** `podman run` arguments for a layer's image: detached when named, else removed at exit. */
export function runArgs(layer: Layer, image: string, options: RunOptions = {}): string[] {
  return [
    'run',
    ...(options.name ? ['--detach', '--name', options.name] : ['--rm']),
    '--network',
    options.network ?? 'host',
    ...(options.readOnly === false
      ? []
      : READ_ONLY_FLAGS.map((flag) =>
          flag === '/tmp' && options.tmpSize ? `/tmp:size=${options.tmpSize}` : flag,
        )),
    '--user',
    options.user ?? USERS[layer],
    ...(options.cpus ? ['--cpus', String(options.cpus)] : []),
    ...(options.memory ? ['--memory', options.memory] : []),
    ...(options.entrypoint ? ['--entrypoint', options.entrypoint] : []),
    ...Object.entries(options.env ?? {}).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
    image,
    ...(options.args ?? []),
  ];
}

export async function podman(args: string[], options: { timeoutMs?: number } = {}) {
  const { stdout, stderr } = await run('podman', args, {
    maxBuffer: 64 * 1024 * 1024,
    timeout: options.timeoutMs ?? 120_000,
  });
  return { stdout: stdout.trim(), stderr };
}

/** `podman …` that may fail: its exit code and output instead of a throw. */
export function podmanResult(
  args: string[],
  timeoutMs = 120_000,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile('podman', args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      done({ status, stdout: stdout.trim(), stderr });
    });
  });
}

export const dockerfile = (layer: Layer) => join(repoRoot, layer, 'Dockerfile');

/** The base images a Dockerfile names through `ARG NAME_IMAGE=tag` defaults. */
export function baseImages(layer: Layer): Record<string, string> {
  const text = readFileSync(dockerfile(layer), 'utf8');
  return Object.fromEntries(
    [...text.matchAll(/^ARG (\w+_IMAGE)=(\S+)$/gm)].map(([, arg, tag]) => [arg, tag]),
  );
}

/**
 * Makes every base image the Dockerfiles name available: present already, or pulled, or — when
 * no registry answers — built here as a stand-in (Node and nginx only; see the script's header).
 */
export async function ensureBaseImages(log: (line: string) => void = console.log): Promise<void> {
  const tags = new Map<string, string>();
  for (const layer of LAYERS) for (const [arg, tag] of Object.entries(baseImages(layer))) tags.set(tag, arg);
  const missing: [string, string][] = [];
  for (const [tag, arg] of tags) {
    if ((await podmanResult(['image', 'exists', tag])).status === 0) continue;
    const pulled = await podmanResult(['pull', '--quiet', tag], 60_000);
    if (pulled.status === 0) log(`images: pulled ${tag}`);
    else missing.push([tag, arg]);
  }
  if (missing.length === 0) return;
  const script = baseImagesScript();
  if (!existsSync(script)) {
    throw new Error(
      `no registry reachable for ${missing.map(([tag]) => tag).join(', ')} and no stand-in script at ${script} ` +
        '(set PLUMB_BASE_IMAGES_SCRIPT)',
    );
  }
  const args = missing.flatMap(([tag, arg]) => {
    if (arg === 'NODE_IMAGE') return ['--node', tag];
    if (arg === 'NGINX_IMAGE') return ['--nginx', tag];
    throw new Error(`no stand-in for ${arg}=${tag}`);
  });
  log(
    `images: no registry reachable; building local stand-ins for ${missing.map(([tag]) => tag).join(', ')}`,
  );
  await run('bash', [script, ...args], { timeout: 900_000, maxBuffer: 16 * 1024 * 1024 });
}

export interface BuildResult {
  image: string;
  seconds: number;
}

/** Builds one layer's image from the repository root with its real Dockerfile (docs/decisions/009). */
export async function buildImage(
  layer: Layer,
  tag: string,
  options: { noCache?: boolean; revision?: string } = {},
): Promise<BuildResult> {
  const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;
  const revision =
    options.revision ??
    spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).stdout.trim();
  const started = performance.now();
  try {
    await podman(
      [
        'build',
        // The OCI format would drop HEALTHCHECK.
        '--format',
        'docker',
        '--pull=never',
        ...(options.noCache ? ['--no-cache'] : []),
        '--file',
        dockerfile(layer),
        '--tag',
        tag,
        '--build-arg',
        `VERSION=${version}`,
        '--build-arg',
        `REVISION=${revision}`,
        repoRoot,
      ],
      { timeoutMs: 900_000 },
    );
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`podman build of ${layer} failed:\n${`${stdout}\n${stderr}`.slice(-4000)}`);
  }
  return { image: tag, seconds: (performance.now() - started) / 1000 };
}

/** Bytes an image adds above its runtime base (the layers its Dockerfile's last stage wrote). */
export async function bytesAboveBase(image: string, layer: Layer): Promise<number> {
  const runtimeBase = baseImages(layer)[layer === 'client' ? 'NGINX_IMAGE' : 'NODE_IMAGE'];
  if (!runtimeBase) throw new Error(`${layer}/Dockerfile names no runtime base image`);
  const size = async (name: string) =>
    Number((await podman(['image', 'inspect', '--format', '{{.Size}}', name])).stdout);
  return (await size(image)) - (await size(runtimeBase));
}

/** The Docker-format config of an image: user, healthcheck, stop signal, labels. */
export async function imageConfig(image: string) {
  const [inspected] = JSON.parse((await podman(['image', 'inspect', image])).stdout) as [
    {
      /** Where podman shows it (Docker: Config.Healthcheck). */
      Healthcheck?: { Test?: string[] };
      Config: {
        User?: string;
        ExposedPorts?: Record<string, unknown>;
        StopSignal?: string;
        Labels?: Record<string, string>;
        Healthcheck?: { Test?: string[] };
        Entrypoint?: string[];
      };
    },
  ];
  return { ...inspected.Config, Healthcheck: inspected.Config.Healthcheck ?? inspected.Healthcheck };
}

/** The last lines a container logged (both streams), for failure messages. */
export const containerLogs = async (name: string) => {
  const result = await podmanResult(['logs', '--tail', '40', name]);
  return `--- ${name} logs ---\n${result.stdout}\n${result.stderr}`;
};

/**
 * The PostgreSQL image the manifests run (and their backup CronJob), for running its client tools:
 * present, pulled, or — with no registry — a stand-in built from Debian's packages
 * (tests/support/postgres-standin.Containerfile) on the stand-in script's Debian base.
 */
export async function ensurePostgresImage(log: (line: string) => void = console.log): Promise<string> {
  const manifest = readFileSync(join(repoRoot, 'k8s/base/postgres.yaml'), 'utf8');
  const tag = /image: (postgres:\S+)/.exec(manifest)?.[1];
  if (!tag) throw new Error('k8s/base/postgres.yaml names no postgres image');
  if ((await podmanResult(['image', 'exists', tag])).status === 0) return tag;
  if ((await podmanResult(['pull', '--quiet', tag], 120_000)).status === 0) return tag;
  const base = 'localhost/debian-minbase:trixie';
  if ((await podmanResult(['image', 'exists', base])).status !== 0) {
    await run('bash', [baseImagesScript()], { timeout: 900_000, maxBuffer: 16 * 1024 * 1024 });
  }
  log(`images: no registry reachable; building a stand-in for ${tag} (PostgreSQL client tools from Debian)`);
  const standIn = 'localhost/postgres-standin:trixie';
  await podman(
    [
      'build',
      '--format',
      'docker',
      '--pull=never',
      '--build-arg',
      `BASE=${base}`,
      '--file',
      join(repoRoot, 'tests/support/postgres-standin.Containerfile'),
      '--tag',
      standIn,
      join(repoRoot, 'tests/support'),
    ],
    { timeoutMs: 900_000 },
  );
  for (const name of [tag, `docker.io/library/${tag}`]) await podman(['tag', standIn, name]);
  return tag;
}
