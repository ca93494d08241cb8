/**
 * @module The server process: read the environment, size to the container, then serve — as a
 * cluster primary with N workers, or alone when one worker is all that fits.
 */
import cluster from 'node:cluster';
import { loadEnvOrExit } from '@plumb/db/env-contract';
import { serverEnvSchema, workerEnvSchema } from '#src/env.ts';
import { createLogger } from '#src/logger.ts';
import { heapArgs, startPrimary } from '#src/primary.ts';
import { resolveSizing, type Sizing, SizingError } from '#src/sizing/index.ts';
import { startWorker } from '#src/worker.ts';

const env = loadEnvOrExit(serverEnvSchema);
const logger = createLogger(env.LOG_LEVEL);

if (cluster.isWorker) {
  const { PLUMB_WORKER_SIZING } = loadEnvOrExit(workerEnvSchema);
  await startWorker(env, logger, PLUMB_WORKER_SIZING as Sizing);
} else {
  let sizing: Sizing;
  try {
    sizing = resolveSizing(env);
  } catch (error) {
    if (!(error instanceof SizingError)) throw error;
    process.stderr.write(`Cannot size the server: ${error.message}\n`);
    process.exit(78);
  }
  const { cpu, memoryBytes, workers, heapMb, poolMax, uvThreadpoolSize, source, connections } = sizing;
  logger.info(
    { cpu, memoryBytes, workers, heapMb, poolMax, uvThreadpoolSize, source, connections },
    `sizing: ${workers} worker(s), heap ${heapMb} MiB, pool ${poolMax} each`,
  );
  if (workers > 1) {
    startPrimary(env, logger, sizing);
  } else {
    // One worker runs without a primary. Its heap flag must be given at start: re-exec this same
    // process (same pid, so it stays PID 1 in a container) with it, once.
    const wanted = heapArgs(process.execArgv, heapMb);
    if (wanted.some((arg) => !process.execArgv.includes(arg))) {
      process.execve?.(process.execPath, [process.execPath, ...wanted, ...process.argv.slice(1)], {
        ...process.env,
        UV_THREADPOOL_SIZE: String(uvThreadpoolSize),
      });
    }
    await startWorker(env, logger, sizing);
  }
}
