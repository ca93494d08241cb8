/**
 * @module The cluster primary: forks the workers with the decided heap, pool and thread pool,
 * replaces a worker that dies (with backoff, giving up loudly on a crash loop), forwards SIGTERM
 * for a graceful drain, and serves the workers' aggregated metrics.
 */
import cluster, { type Worker } from 'node:cluster';
import { serveClusterMetrics } from '#src/cluster-metrics.ts';
import type { ServerEnv } from '#src/env.ts';
import type { Logger } from '#src/logger.ts';
import { heapArgs, type Sizing } from '#src/sizing/index.ts';

/** What the primary sends a worker to make it drain. */
export const SHUTDOWN_MESSAGE = 'plumb:shutdown';

/** More crashes than this within {@link CRASH_WINDOW_MS} is a crash loop: restarting will not help. */
const MAX_CRASHES = 10;
const CRASH_WINDOW_MS = 60_000;
const MAX_BACKOFF_MS = 10_000;

export function startPrimary(env: ServerEnv, logger: Logger, sizing: Sizing): void {
  cluster.setupPrimary({ execArgv: heapArgs(process.execArgv, sizing) });
  const workerEnv = {
    PLUMB_WORKER_SIZING: JSON.stringify(sizing),
    UV_THREADPOOL_SIZE: String(sizing.uvThreadpoolSize),
  };
  serveClusterMetrics();

  let stopping = false;
  const crashes: number[] = [];
  const fork = () => cluster.fork(workerEnv);

  cluster.on('exit', (worker: Worker, code, signal) => {
    if (stopping) return;
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && (crashes[0] ?? now) < now - CRASH_WINDOW_MS) crashes.shift();
    if (crashes.length > MAX_CRASHES) {
      logger.fatal(
        { crashes: crashes.length, windowMs: CRASH_WINDOW_MS },
        'workers keep crashing; giving up (see the errors above)',
      );
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGKILL');
      process.exit(1);
    }
    const backoffMs = Math.min(MAX_BACKOFF_MS, 100 * 2 ** (crashes.length - 1));
    logger.error(
      { pid: worker.process.pid, code, signal, restartInMs: backoffMs },
      'worker died; replacing it',
    );
    setTimeout(() => {
      if (!stopping) fork();
    }, backoffMs).unref();
  });

  const stop = (signal: NodeJS.Signals) => {
    const workers = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      for (const worker of workers) worker.process.kill('SIGKILL');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, workers: workers.length }, 'draining workers');
    for (const worker of workers) worker.send({ type: SHUTDOWN_MESSAGE });
    const deadline = setTimeout(
      () => {
        logger.error('workers did not stop in time; killing them');
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
        process.exit(1);
      },
      env.SHUTDOWN_DELAY_MS + env.SHUTDOWN_TIMEOUT_MS + 5_000,
    );
    deadline.unref();
    const check = () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info('stopped');
        process.exit(0);
      }
    };
    cluster.on('exit', check);
    check();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  for (let i = 0; i < sizing.workers; i++) fork();
}
