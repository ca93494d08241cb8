/**
 * @module The server's entry point. A process that will run one worker, and needs a heap flag V8
 * was not started with, re-executes itself with it before anything else loads: decided here from
 * the environment's plain numbers and the cgroup files in a few milliseconds, where loading the
 * application first (its schema, logger and password hasher) took ~130 ms of a ~400 ms start.
 * Anything else — a cluster worker, a setting that needs validating, a sizing that cannot work —
 * goes to start.ts unchanged, which validates the environment, says what is wrong, and
 * re-executes itself if it still must.
 */
import cluster from 'node:cluster';
import { enableShippedCompileCache } from '#src/compile-cache.ts';
import { answerHeartbeats } from '#src/heartbeat.ts';
import { exitOnStopSignalWhileStarting } from '#src/signals.ts';
import { heapReexecArgs, plainSizingEnv, reexec, resolveSizing } from '#src/sizing/index.ts';

if (cluster.isPrimary) {
  try {
    const env = plainSizingEnv(process.env);
    const sizing = env && resolveSizing(env);
    const args = sizing && heapReexecArgs(sizing);
    if (sizing && args) reexec(args, sizing);
  } catch {
    // start.ts decides again, and reports what is wrong (a refused execve too).
  }
}
// After the re-exec, not before: a signal caught by a handler here would be lost with the image.
exitOnStopSignalWhileStarting();
// A worker answers its primary's watchdog from the start, loading included.
if (cluster.isWorker) answerHeartbeats();
// The bundle's V8 compile cache (scripts/compile-cache.ts fills it at build): the application
// below loads from it instead of being compiled again. Run from source, there is none.
enableShippedCompileCache(new URL('../compile-cache', import.meta.url));
await import('#src/start.ts');
