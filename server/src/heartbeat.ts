/**
 * @module The primary's watchdog over its workers' event loops. Each worker answers a heartbeat
 * from its event loop; a worker that has not answered for `stuckMs` is killed, and the primary
 * replaces it as it replaces one that died. A worker's loop that stops turning (an endless loop,
 * a pathological regular expression) would otherwise keep its sockets and its share of new
 * connections, which the kernel spreads over every worker's sockets (ADR 020), and they would wait
 * for it forever; a health check that reaches another worker would not notice.
 */
import cluster, { type Worker } from 'node:cluster';

const HEARTBEAT = 'plumb:heartbeat';
/**
 * Worker → primary: I listen now. Its sockets are its own (ADR 020), so the cluster's `listening`
 * event does not come; the watchdog and /metrics (`cluster-metrics.ts`) start from this.
 */
export const LISTENING = 'plumb:listening';

const typeOf = (message: unknown) => (message as { type?: unknown } | null)?.type;
/**
 * For `send`'s callback: a send to a process that has just gone fails, and that is the exit
 * handler's business. Without a callback the failure (EPIPE) is thrown as an `error` event.
 */
export const ignoreSendFailure = () => {};

/** In a worker, once it listens. */
export function announceListening(): void {
  process.send?.({ type: LISTENING }, ignoreSendFailure);
}

/** In a worker, from its first line (`main.ts`): answer the primary's heartbeats. */
export function answerHeartbeats(): void {
  process.on('message', (message) => {
    if (typeOf(message) === HEARTBEAT && process.connected)
      process.send?.({ type: HEARTBEAT }, ignoreSendFailure);
  });
}

/**
 * In the primary: sends each worker a heartbeat every `stuckMs` ÷ 10 (at most every 1 s) and calls
 * `onStuck` once for a worker that has said it listens (`plumb:listening`) and then not answered
 * for `stuckMs`, nor the last ten heartbeats. A worker is watched from then on:
 * loading the application does not turn its event loop for a second or more at a time, and a start
 * that hangs is not what this is for. Ten heartbeats, not only the time: after the whole container
 * was frozen (`docker pause`, a suspended laptop) every worker has been silent for as long, and
 * none of them is stuck. Returns a function that stops watching.
 */
export function watchHeartbeats(options: {
  stuckMs: number;
  onStuck: (worker: Worker, silentMs: number) => void;
}): () => void {
  /** When it last answered (or said it listens); Infinity once reported. */
  const lastHeard = new WeakMap<Worker, number>();
  /** Heartbeats sent since it last answered. */
  const unanswered = new WeakMap<Worker, number>();
  const everyMs = Math.min(1_000, options.stuckMs / 10);
  const MISSED = 10;
  // Every worker's messages from its fork on: one that says it listens before the first heartbeat
  // goes out (a bundled worker does, ~350 ms after its fork) must not be missed, or it is never watched.
  const onMessage = (worker: Worker, message: unknown) => {
    const type = typeOf(message);
    const heard = lastHeard.get(worker);
    if (heard === Number.POSITIVE_INFINITY) return;
    if (type === LISTENING || (type === HEARTBEAT && heard !== undefined)) {
      lastHeard.set(worker, performance.now());
      unanswered.set(worker, 0);
    }
  };
  cluster.on('message', onMessage);
  const timer = setInterval(() => {
    const now = performance.now();
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker === undefined) continue;
      const heard = lastHeard.get(worker);
      const missed = unanswered.get(worker) ?? 0;
      if (heard !== undefined && now - heard >= options.stuckMs && missed >= MISSED) {
        lastHeard.set(worker, Number.POSITIVE_INFINITY); // reported once
        options.onStuck(worker, now - heard);
      } else if (heard !== undefined && heard !== Number.POSITIVE_INFINITY && worker.isConnected()) {
        unanswered.set(worker, missed + 1);
        worker.send({ type: HEARTBEAT }, ignoreSendFailure);
      }
    }
  }, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    cluster.off('message', onMessage);
  };
}
