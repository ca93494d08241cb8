/**
 * @module Fills the server bundle's V8 compile cache (`<dist>/compile-cache/`): starts the bundled
 * server once, without a database, until it listens, then stops it; Node writes the code it
 * compiled on the way to the cache as it exits. The bundle's entry (server/src/main.ts) reads the
 * cache when it is there, so a start skips most of that compiling (docs/performance.md).
 *
 * Node keys the cache by Node version, V8 flags, user id and each file's path: run this where the
 * bundle will run from, as the user it will run as (the server image does it in /app, as its user
 * 1000). Where the cache does not match, Node compiles as usual.
 *
 *   node scripts/compile-cache.ts server/dist
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const dist = resolve(process.argv[2] ?? 'server/dist');
const cache = join(dist, 'compile-cache');
const TIMEOUT_MS = 120_000; // a multi-arch image build runs this under emulation

const port = await new Promise<number>((found, failed) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const address = probe.address();
    probe.close(() => (typeof address === 'object' && address ? found(address.port) : failed()));
  });
});

// Emptied, not replaced: in the image build the folder is the image user's, its parent is not.
await mkdir(cache, { recursive: true });
for (const entry of await readdir(cache)) await rm(join(cache, entry), { recursive: true });
const child = spawn(process.execPath, [join(dist, 'bin/server.js')], {
  env: {
    PATH: process.env.PATH ?? '',
    // Nothing listens there: the server starts without a database and says so on /readyz.
    DATABASE_URL: 'postgres://compile-cache@127.0.0.1:1/none',
    PORT: String(port),
    HOST: '127.0.0.1',
    WEB_CONCURRENCY: '1',
    SHUTDOWN_DELAY_MS: '0',
    LOG_LEVEL: 'info',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let output = '';
const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
const listening = new Promise<void>((resolved) => {
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk;
    if (output.includes('"msg":"listening"')) resolved();
  });
});
child.stderr.on('data', (chunk: Buffer) => (output += chunk));
const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
await Promise.race([listening, exited]);
child.kill('SIGTERM');
const [code, signal] = await exited;
clearTimeout(timer);
const entries = (await readdir(cache, { recursive: true })).length;
if (code !== 0 || entries === 0) {
  process.stderr.write(
    `compile-cache: the server did not start and stop cleanly (exit ${code ?? signal}, ${entries} cache entries):\n${output}\n`,
  );
  process.exit(1);
}
process.stdout.write(`compile-cache: ${cache} (${entries} entries)\n`);
