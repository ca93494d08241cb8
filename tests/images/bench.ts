/**
 * @module The images' numbers: build time without the layer cache and with it, bytes above the
 * base image, and the server container's start → /readyz 200 time (median of several starts).
 * Prints a table and writes bench/results/images.json.
 *
 *   npm run bench:images [-- --starts 7]
 *
 * Builds without the layer cache still reuse npm's download cache (a build cache mount), as a CI
 * runner with a warm cache would; the first build on a new machine also downloads the packages.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { migrate } from '@plumb/db';
import { freePort, startEmbeddedPostgres } from '@plumb/db/embedded';
import { median } from '../../scripts/stats.ts';
import {
  buildImage,
  bytesAboveBase,
  containerLogs,
  ensureBaseImages,
  hasPodman,
  LAYERS,
  type Layer,
  podman,
  podmanResult,
  repoRoot,
  runArgs,
  usePodmanSettings,
  waitForStatus,
} from '../support/images.ts';

const { values: args } = parseArgs({ options: { starts: { type: 'string', default: '5' } } });
const log = (line: string) => process.stderr.write(`${line}\n`);

if (!hasPodman()) {
  log('bench:images needs podman (Debian: apt-get install podman)');
  process.exit(1);
}
usePodmanSettings();
await ensureBaseImages(log);

const images: Record<Layer, { coldSeconds: number; cachedSeconds: number; bytesAboveBase: number }> =
  {} as never;
for (const layer of LAYERS) {
  const tag = `localhost/plumb-${layer}:bench`;
  log(`building ${layer} without the layer cache…`);
  const cold = await buildImage(layer, tag, { noCache: true });
  log(`building ${layer} again (layer cache)…`);
  const cached = await buildImage(layer, tag);
  images[layer] = {
    coldSeconds: Math.round(cold.seconds * 10) / 10,
    cachedSeconds: Math.round(cached.seconds * 10) / 10,
    bytesAboveBase: await bytesAboveBase(tag, layer),
  };
}

log('starting PostgreSQL for the start-to-ready runs…');
const dir = await mkdtemp(join(os.tmpdir(), 'plumb-bench-images-'));
const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), persistent: false });
const startMs: number[] = [];
try {
  await pg.createDatabase('bench');
  const url = pg.url('bench');
  await migrate({ url });
  for (let i = 0; i < Number(args.starts); i++) {
    const port = await freePort();
    const name = `plumb-bench-${process.pid}-${i}`;
    const started = performance.now();
    await podman(
      runArgs('server', 'localhost/plumb-server:bench', {
        name,
        cpus: 1,
        memory: '512m',
        env: { DATABASE_URL: url, PORT: `${port}`, HOST: '127.0.0.1' },
      }),
    );
    try {
      await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, { describe: () => containerLogs(name) });
      startMs.push(Math.round(performance.now() - started));
      log(`start ${i + 1}: ${startMs.at(-1)} ms`);
    } finally {
      await podmanResult(['rm', '--force', '--time', '0', name]);
    }
  }
} finally {
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}

const results = {
  date: new Date().toISOString(),
  machine: `${os.availableParallelism()} CPUs, ${Math.round(os.totalmem() / 2 ** 30)} GiB, podman`,
  bases: 'local stand-ins from ../shared/containers/base-images.sh where no registry is reachable',
  images,
  serverStartToReadyMs: {
    median: median(startMs),
    runs: startMs,
    limits: '--cpus 1 --memory 512m, read-only',
  },
};
await mkdir(join(repoRoot, 'bench/results'), { recursive: true });
await writeFile(join(repoRoot, 'bench/results/images.json'), `${JSON.stringify(results, null, 2)}\n`);

console.log('| image | build, no layer cache | build, cached | above its base |');
console.log('| --- | --- | --- | --- |');
for (const layer of LAYERS) {
  const { coldSeconds, cachedSeconds, bytesAboveBase } = images[layer];
  console.log(
    `| ${layer} | ${coldSeconds} s | ${cachedSeconds} s | ${(bytesAboveBase / 1e6).toFixed(2)} MB |`,
  );
}
console.log(
  `\nserver container start → /readyz 200: median ${median(startMs)} ms over ${startMs.length} starts (${startMs.join(', ')})`,
);
console.log('saved bench/results/images.json');
