/**
 * @module The primary's watchdog over its workers' event loops. Each worker answers a heartbeat
 * from its event loop; a worker that has not answered for `stuckMs` is killed, and the primary
 * replaces it as it replaces one that died. A worker's loop that stops turning (an endless loop,
 * a pathological regular expression) would otherwise keep its sockets and its share of new
 * connections, which the kernel spreads over every worker's sockets (ADR 020), and they would wait
 * for it forever; a health check that reaches another worker would not notice.
 */
import type { Worker } from 'node:cluster';

const HEARTBEAT = 'plumb:heartbeat';

const isHeartbeat = (message: unknown) => (message as { type?: unknown } | null)?.type === HEARTBEAT;

/** In a worker, from its first line (`main.ts`): answer the primary's heartbeats. */
export function answerHeartbeats(): void {
  process.on('message', (message) => {
    if (isHeartbeat(message) && process.connected) process.send?.({ type: HEARTBEAT });
  });
}

/**
 * In the primary: sends each of `workers()` a heartbeat every `stuckMs` ÷ 10 (at least 50 ms, at
 * most 1 s) and calls `onStuck` once for a worker that has answered before but not for `stuckMs`
 * since. A worker is watched from its first answer: while it loads the application (over a second
 * from source on a busy machine) its event loop does not turn, and a start that hangs is not what
 * this is for. Returns a function that stops watching.
 */
export function watchHeartbeats(options: {
  workers: () => Worker[];
  stuckMs: number;
  onStuck: (worker: Worker, silentMs: number) => void;
}): () => void {
  const lastHeard = new WeakMap<Worker, number>();
  const asked = new WeakSet<Worker>();
  const everyMs = Math.min(1_000, Math.max(50, options.stuckMs / 10));
  const timer = setInterval(() => {
    const now = performance.now();
    for (const worker of options.workers()) {
      if (!asked.has(worker)) {
        asked.add(worker);
        worker.on('message', (message) => {
          if (isHeartbeat(message) && lastHeard.get(worker) !== Number.POSITIVE_INFINITY) {
            lastHeard.set(worker, performance.now());
          }
        });
      }
      const heard = lastHeard.get(worker);
      if (heard !== undefined && now - heard >= options.stuckMs) {
        lastHeard.set(worker, Number.POSITIVE_INFINITY); // reported once
        options.onStuck(worker, now - heard);
      } else if (worker.isConnected()) {
        worker.send({ type: HEARTBEAT });
      }
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
