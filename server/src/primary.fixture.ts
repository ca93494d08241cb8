/**
 * @module A test entry (`primary.test.ts`): the real cluster primary, with the crash limits in
 * PLUMB_TEST_LIMITS, over PLUMB_TEST_WORKERS (2) workers that stand in for the server's. Each exits 3 after
 * PLUMB_TEST_LIFE_MS (never when unset), and exits PLUMB_TEST_DRAIN_EXIT (default 0) when the
 * primary asks it to drain (leaving its IPC channel open PLUMB_TEST_HOLD_CHANNEL_MS longer, when set). With PLUMB_TEST_STUCK_AFTER_MS its event loop stops turning (for a minute)
 * that long after it starts (it answers the primary's heartbeats until then). A worker writes `{"msg":"worker up"}` when it is; it loads next to nothing,
 * so that it starts in a few milliseconds.
 */
import { spawn } from 'node:child_process';
import cluster from 'node:cluster';
import { announceListening, answerHeartbeats } from '#src/heartbeat.ts';
import type { CrashLimits } from '#src/primary.ts';
import { SHUTDOWN_MESSAGE } from '#src/signals.ts';
import type { Sizing } from '#src/sizing/index.ts';

if (cluster.isPrimary) {
  const [{ serverEnvSchema }, { createLogger }, { startPrimary, CRASH_LIMITS }] = await Promise.all([
    import('#src/env.ts'),
    import('#src/logger.ts'),
    import('#src/primary.ts'),
  ]);
  const sizing: Sizing = {
    cpu: 2,
    memoryBytes: 2 ** 30,
    workers: Number(process.env.PLUMB_TEST_WORKERS ?? 2),
    heapMb: 96,
    semiSpaceMb: 8,
    poolMax: 1,
    uvThreadpoolSize: 4,
    source: { cpu: 'CPU_LIMIT', memory: 'MEMORY_LIMIT', workers: 'WEB_CONCURRENCY', poolMax: 'DB_POOL_MAX' },
    connections: { peak: 4, maxConnections: 100 },
  };
  const env = serverEnvSchema.parse({
    DATABASE_URL: 'postgres://unused@127.0.0.1:1/none',
    WORKER_STUCK_TIMEOUT_S: process.env.WORKER_STUCK_TIMEOUT_S,
  });
  const limits = JSON.parse(process.env.PLUMB_TEST_LIMITS ?? '{}') as Partial<CrashLimits>;
  startPrimary(env, createLogger('info'), sizing, { ...CRASH_LIMITS, ...limits });
} else {
  answerHeartbeats();
  announceListening();
  process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'worker up', pid: process.pid })}\n`);
  const stuckAfter = process.env.PLUMB_TEST_STUCK_AFTER_MS;
  if (stuckAfter !== undefined) {
    // The event loop stops for a minute, without using a core (nor outliving a test by much).
    setTimeout(
      () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000),
      Number(stuckAfter),
    );
  }
  const life = process.env.PLUMB_TEST_LIFE_MS;
  if (life !== undefined) setTimeout(() => process.exit(3), Number(life));
  process.on('message', (message: { type?: string }) => {
    if (message?.type !== SHUTDOWN_MESSAGE) return;
    const hold = process.env.PLUMB_TEST_HOLD_CHANNEL_MS;
    if (hold !== undefined) {
      // A process that outlives this one holds its IPC channel (fd 3, as cluster.fork opens it):
      // the primary sees this worker's exit first, and the channel's close only `hold` ms later.
      spawn('sleep', [String(Number(hold) / 1000)], { stdio: ['ignore', 'ignore', 'ignore', 3] }).unref();
    }
    process.exit(Number(process.env.PLUMB_TEST_DRAIN_EXIT ?? 0));
  });
}
