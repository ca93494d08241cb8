/**
 * @module The server process after main.ts: read the environment, size to the container, then
 * serve — as a cluster primary with N workers, or alone when one worker is all that fits. The
 * primary and the worker are loaded only once it is known which this process is (the bundle
 * splits them into chunks), so a process that re-executes itself with its heap flags, and the
 * primary, do not load the application first.
 */
import cluster from 'node:cluster';
import { loadEnvOrExit } from '@plumb/db/env-contract';
import { compileCacheState } from '#src/compile-cache.ts';
import { serverEnvSchema, workerEnvSchema } from '#src/env.ts';
import { checkPortFree, listenFailure } from '#src/listen.ts';
import { createLogger } from '#src/logger.ts';
import {
  heapInEffect,
  heapReexecArgs,
  operatorHeap,
  reexec,
  resolveSizing,
  type Sizing,
  SizingError,
} from '#src/sizing/index.ts';

const env = loadEnvOrExit(serverEnvSchema);
const logger = createLogger(env.LOG_LEVEL);

if (cluster.isWorker) {
  const { PLUMB_WORKER_SIZING } = loadEnvOrExit(workerEnvSchema);
  const { startWorker } = await import('#src/worker.ts');
  await startWorker(env, logger, heapInEffect(PLUMB_WORKER_SIZING as Sizing));
} else {
  let sizing: Sizing;
  try {
    sizing = resolveSizing(env);
  } catch (error) {
    if (!(error instanceof SizingError)) throw error;
    process.stderr.write(`Cannot size the server: ${error.message}\n`);
    process.exit(78);
  }
  const { workers, heapMb, semiSpaceMb, poolMax, uvThreadpoolSize } = sizing;
  logger.info(
    { ...sizing, compileCache: compileCacheState() },
    `sizing: ${workers} worker(s), heap ${heapMb} MiB (semi-spaces ${semiSpaceMb} MiB), pool ${poolMax} each`,
  );
  // Before any worker listens: they share the port (listen.ts), so none of them could tell. Checked
  // by the process that stays (after a re-exec, not before it too).
  const exitUnlessPortFree = async () => {
    try {
      await checkPortFree(env.PORT, env.HOST);
    } catch (error) {
      logger.fatal({ code: (error as NodeJS.ErrnoException).code }, listenFailure(error, env.PORT));
      process.exit(1);
    }
  };
  if (workers > 1) {
    const operator = operatorHeap();
    if (operator.oldSpace || operator.semiSpaceMb !== undefined) {
      logger.warn(
        `NODE_OPTIONS sets the heap: the workers run with it, not all of the decided ${heapMb} MiB (semi-spaces ${semiSpaceMb} MiB); /api/info shows what they run with`,
      );
    }
    await exitUnlessPortFree();
    const { startPrimary } = await import('#src/primary.ts');
    startPrimary(env, logger, sizing);
  } else {
    // One worker runs without a primary. Heap limits are given at start: started without them, this
    // same process re-executes once with them (main.ts usually did that already, before this module
    // loaded).
    const args = heapReexecArgs(sizing);
    if (args) {
      // A stop signal that came while this module loaded is waiting for a turn of the event loop:
      // give it one (it ends the process), or the new image would start without it.
      await new Promise((turn) => setImmediate(turn));
      let refusal: unknown;
      try {
        reexec(args, sizing); // returns only where there is no process.execve (Windows)
      } catch (error) {
        refusal = error; // Node's permission model, say
      }
      // V8's default heap stays; the memory decision does not.
      logger.warn(
        { err: refusal, heapMb },
        'cannot re-execute with the heap flags: running with V8 default heap; pass --max-old-space-size yourself',
      );
    }
    const running = heapInEffect(sizing);
    if (running.heapMb !== heapMb || running.semiSpaceMb !== semiSpaceMb) {
      logger.warn(
        { decided: { heapMb, semiSpaceMb } },
        `NODE_OPTIONS sets the heap: running with ${running.heapMb} MiB (semi-spaces ${running.semiSpaceMb} MiB), not the decided ${heapMb} (${semiSpaceMb})`,
      );
    }
    await exitUnlessPortFree();
    // Not re-executed: libuv reads this when its pool first starts, which has not happened yet.
    process.env.UV_THREADPOOL_SIZE = String(uvThreadpoolSize);
    const { startWorker } = await import('#src/worker.ts');
    await startWorker(env, logger, running);
  }
}
