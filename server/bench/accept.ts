/**
 * @module `npm run bench:accept`: how long a new connection waits for its first answer while the
 * workers are saturated, with Node's cluster handing connections to the workers (round-robin from
 * the primary) and with the server's own listening (`src/listen.ts`: SO_REUSEPORT sockets in each
 * worker). Two workers whose requests each take `--cost-ms` of CPU; `--busy` keep-alive
 * connections keep them saturated (a request again as soon as an answer comes); then `--fresh` new
 * connections send one request each. Loopback only; each round stops after 15 s at most. Prints
 * the medians and writes bench/results/accept.json.
 *
 * Usage: npm run bench:accept -- [--rounds 3] [--busy 100] [--fresh 200] [--cost-ms 1]
 */
import { fork } from 'node:child_process';
import cluster from 'node:cluster';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '@plumb/db/embedded';
import { listen } from '#src/listen.ts';
import { median, percentile } from '../../scripts/stats.ts';

type Mode = 'cluster' | 'listen';
const MODES: Mode[] = ['cluster', 'listen'];
const HOST = '127.0.0.1';
const WORKERS = 2;
const ROUND_LIMIT_MS = 15_000;

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    busy: { type: 'string', default: '100' },
    fresh: { type: 'string', default: '200' },
    'cost-ms': { type: 'string', default: '1' },
  },
});

/** A worker: an HTTP server whose every answer costs `costMs` of CPU. */
async function worker(mode: Mode, port: number, costMs: number) {
  const server = createServer((_request, response) => {
    const until = performance.now() + costMs;
    while (performance.now() < until);
    response.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  if (mode === 'cluster') await new Promise<void>((resolve) => server.listen(port, HOST, resolve));
  else await listen(server, { port, host: HOST });
  process.send?.('listening');
}

/** The primary of one server: its workers, then "ready" to the bench; SIGTERM stops all. */
function primary(mode: Mode, port: number, costMs: number) {
  let listening = 0;
  for (let i = 0; i < WORKERS; i++) {
    cluster.fork({
      BENCH_ROLE: 'worker',
      BENCH_MODE: mode,
      BENCH_PORT: String(port),
      BENCH_COST_MS: String(costMs),
    });
  }
  cluster.on('message', () => {
    if (++listening === WORKERS) process.send?.('ready');
  });
  process.on('SIGTERM', () => {
    for (const child of Object.values(cluster.workers ?? {})) child?.process.kill('SIGKILL');
    process.exit(0);
  });
}

const REQUEST = `GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
/** Counts answers on `socket` (each `ok` body ends one), calling `onAnswer` for each. */
function answers(socket: Socket, onAnswer: () => void) {
  socket.on('data', (chunk: Buffer) => {
    for (let at = chunk.indexOf('HTTP/1.1'); at !== -1; at = chunk.indexOf('HTTP/1.1', at + 1)) onAnswer();
  });
  socket.on('error', () => {});
}

/** One round against a server on `port`: ms from connecting to the first answer, for each fresh connection. */
async function round(port: number, busy: number, fresh: number): Promise<number[]> {
  let running = true;
  const saturating = Array.from({ length: busy }, () => {
    const socket = connect({ host: HOST, port, noDelay: true });
    answers(socket, () => running && socket.write(REQUEST));
    socket.write(REQUEST);
    return socket;
  });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const waits = await Promise.all(
    Array.from(
      { length: fresh },
      () =>
        new Promise<number>((resolve) => {
          const started = performance.now();
          const socket = connect({ host: HOST, port, noDelay: true });
          const timer = setTimeout(() => finish(Number.POSITIVE_INFINITY), ROUND_LIMIT_MS);
          const finish = (ms: number) => {
            clearTimeout(timer);
            socket.destroy();
            resolve(ms);
          };
          answers(socket, () => finish(performance.now() - started));
          socket.write(REQUEST);
        }),
    ),
  );
  running = false;
  for (const socket of saturating) socket.destroy();
  return waits;
}

async function bench() {
  const rounds = Number(args.rounds);
  const busy = Number(args.busy);
  const fresh = Number(args.fresh);
  const costMs = Number(args['cost-ms']);
  const results: Record<Mode, { p50: number[]; p90: number[]; max: number[]; unanswered: number }> = {
    cluster: { p50: [], p90: [], max: [], unanswered: 0 },
    listen: { p50: [], p90: [], max: [], unanswered: 0 },
  };
  console.log(
    `${WORKERS} workers, ${costMs} ms of CPU per request, ${busy} connections keeping them busy, then ${fresh} new ones`,
  );
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 ? [...MODES].reverse() : MODES) {
      const port = await freePort();
      const server = fork(fileURLToPath(import.meta.url), [], {
        env: {
          ...process.env,
          BENCH_ROLE: 'primary',
          BENCH_MODE: mode,
          BENCH_PORT: String(port),
          BENCH_COST_MS: String(costMs),
        },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      await new Promise((resolve) => server.once('message', resolve));
      const waits = await round(port, busy, fresh);
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
      const answered = waits.filter(Number.isFinite);
      const result = results[mode];
      result.unanswered += waits.length - answered.length;
      result.p50.push(percentile(waits, 0.5));
      result.p90.push(percentile(waits, 0.9));
      result.max.push(Math.max(...waits));
      console.log(
        `round ${r + 1} ${mode.padEnd(7)} first answer on a new connection: p50 ${Math.round(percentile(waits, 0.5))} ms, p90 ${Math.round(percentile(waits, 0.9))} ms, max ${Math.round(Math.max(...waits))} ms`,
      );
    }
  }
  const summarize = ({ p50, p90, max, unanswered }: (typeof results)[Mode]) => ({
    p50Ms: median(p50),
    p90Ms: median(p90),
    maxMs: median(max),
    unanswered,
  });
  const summary = { cluster: summarize(results.cluster), listen: summarize(results.listen) };
  console.log('medians of the rounds:');
  for (const mode of MODES) {
    const { p50Ms, p90Ms, maxMs, unanswered } = summary[mode];
    console.log(
      `  ${mode.padEnd(7)} p50 ${Math.round(p50Ms)} ms, p90 ${Math.round(p90Ms)} ms, max ${Math.round(maxMs)} ms, unanswered in ${ROUND_LIMIT_MS / 1000} s: ${unanswered}`,
    );
  }
  const root = fileURLToPath(new URL('../../', import.meta.url));
  await mkdir(join(root, 'bench/results'), { recursive: true });
  await writeFile(
    join(root, 'bench/results/accept.json'),
    `${JSON.stringify({ workers: WORKERS, costMs, busy, fresh, rounds, summary, results }, null, 2)}\n`,
  );
  console.log('wrote bench/results/accept.json');
}

const role = process.env.BENCH_ROLE;
const mode = process.env.BENCH_MODE as Mode;
const port = Number(process.env.BENCH_PORT);
const cost = Number(process.env.BENCH_COST_MS);
if (role === 'worker') await worker(mode, port, cost);
else if (role === 'primary') primary(mode, port, cost);
else await bench();
