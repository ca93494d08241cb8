/**
 * @module The cluster primary: forks the workers with the decided heap, pool and thread pool,
 * replaces a worker that dies (with backoff, giving up loudly on a crash loop), forwards SIGTERM
 * for a graceful drain, and serves the workers' aggregated metrics.
 */
import cluster, { type Worker } from 'node:cluster';
import { serveClusterMetrics } from '#src/cluster-metrics.ts';
import { type ServerEnv, STOP_AFTER_DRAIN_MS } from '#src/env.ts';
import { watchHeartbeats } from '#src/heartbeat.ts';
import type { Logger } from '#src/logger.ts';
import { onStopSignal, SHUTDOWN_MESSAGE, type StopCause } from '#src/signals.ts';
import { heapArgs, type Sizing } from '#src/sizing/index.ts';

/**
 * When the primary gives up on its workers: after more than `maxCrashes` early deaths (of workers
 * that lived less than `quietMs`), each within `quietMs` of the one before (a crash loop:
 * restarting will not help). Each replacement after an early death waits twice as long as the one
 * before, from `firstBackoffMs` up to `maxBackoffMs`; `quietMs` without one starts the count and the
 * backoff again. A worker that had lived longer is replaced after `firstBackoffMs` and not counted:
 * sixteen workers killed by one incident are not a crash loop, their replacements dying at once
 * would be. (A worker killed for a stuck event loop, `heartbeat.ts`, is a death like any other:
 * early or not by the same rule.)
 */
export interface CrashLimits {
  maxCrashes: number;
  quietMs: number;
  firstBackoffMs: number;
  maxBackoffMs: number;
}

export const CRASH_LIMITS: CrashLimits = {
  maxCrashes: 10,
  quietMs: 60_000,
  firstBackoffMs: 100,
  maxBackoffMs: 10_000,
};

export function startPrimary(env: ServerEnv, logger: Logger, sizing: Sizing, limits = CRASH_LIMITS): void {
  cluster.setupPrimary({ execArgv: heapArgs(process.execArgv, sizing) });
  const workerEnv = {
    PLUMB_WORKER_SIZING: JSON.stringify(sizing),
    UV_THREADPOOL_SIZE: String(sizing.uvThreadpoolSize),
  };
  serveClusterMetrics();

  let stopping = false;
  /** Set when a worker exits other than cleanly during the drain: the primary then exits 1. */
  let unclean = false;
  let crashes = 0;
  let lastDeath = Number.NEGATIVE_INFINITY;
  const born = new WeakMap<Worker, number>();
  const fork = () => born.set(cluster.fork(workerEnv), performance.now());
  // A worker stays in cluster.workers until both its exit and its IPC channel's close were seen, in
  // either order: at its 'exit' it may still be listed. Counting it kept the primary waiting for an
  // event it never acted on, and it exited 0 when its loop ran dry, without its last line or its 1.
  const live = () =>
    Object.values(cluster.workers ?? {}).filter(
      (worker): worker is Worker => worker !== undefined && !worker.isDead(),
    );
  const stopWhenAllGone = () => {
    if (live().length > 0) return;
    if (unclean) logger.error('stopped; a worker did not drain cleanly (see above)');
    else logger.info('stopped');
    process.exit(unclean ? 1 : 0);
  };

  cluster.on('exit', (worker: Worker, code, signal) => {
    if (stopping) {
      if (code !== 0) {
        unclean = true;
        logger.error({ workerPid: worker.process.pid, code, signal }, 'worker exited while draining');
      }
      stopWhenAllGone();
      return;
    }
    const now = performance.now();
    const early = now - (born.get(worker) ?? now) < limits.quietMs;
    if (early) {
      crashes = now - lastDeath > limits.quietMs ? 1 : crashes + 1;
      lastDeath = now;
    }
    if (crashes > limits.maxCrashes) {
      logger.fatal(
        { crashes, quietMs: limits.quietMs },
        'workers keep crashing; giving up (see the errors above)',
      );
      stopping = true;
      for (const other of live()) other.process.kill('SIGKILL');
      process.exit(1);
    }
    const backoffMs = early
      ? Math.min(limits.maxBackoffMs, limits.firstBackoffMs * 2 ** (crashes - 1))
      : limits.firstBackoffMs;
    logger.error(
      { workerPid: worker.process.pid, code, signal, early, crashes, restartInMs: backoffMs },
      'worker died; replacing it',
    );
    // Not unref'd: when every worker is dead, this timer is what keeps the primary alive.
    setTimeout(() => {
      if (!stopping) fork();
    }, backoffMs);
  });

  const stopWatching = watchHeartbeats({
    stuckMs: env.WORKER_STUCK_TIMEOUT_S * 1000,
    onStuck: (worker, silentMs) => {
      if (stopping) return; // the drain's deadline deals with it
      logger.error(
        { workerPid: worker.process.pid, silentMs: Math.round(silentMs) },
        'worker stuck: its event loop has not answered for WORKER_STUCK_TIMEOUT_S; killing it to replace it',
      );
      worker.process.kill('SIGKILL');
    },
  });

  const stop = (signal: StopCause) => {
    const workers = live();
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      for (const worker of workers) worker.process.kill('SIGKILL');
      process.exit(1);
    }
    stopping = true;
    stopWatching();
    logger.info({ signal, workers: workers.length }, 'draining workers');
    // A worker that has just died cannot be told: its exit is handled above.
    for (const worker of workers) worker.send({ type: SHUTDOWN_MESSAGE }, () => {});
    const deadline = setTimeout(
      () => {
        logger.error('workers did not stop in time; killing them');
        for (const worker of live()) worker.process.kill('SIGKILL');
        process.exit(1);
      },
      env.SHUTDOWN_DELAY_MS + env.SHUTDOWN_TIMEOUT_MS + STOP_AFTER_DRAIN_MS,
    );
    deadline.unref();
    stopWhenAllGone();
  };
  onStopSignal(stop);

  for (let i = 0; i < sizing.workers; i++) fork();
}
