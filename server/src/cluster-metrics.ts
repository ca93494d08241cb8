/**
 * @module /metrics across worker processes: a worker asks the primary over IPC, the primary
 * collects the registry of every worker that is listening, merges them with prom-client's
 * `AggregatorRegistry.aggregate` and answers the one that asked.
 *
 * The primary asks only listening workers: one still loading (at start, or a replacement for a
 * crashed one) has no registry to answer from yet, and waiting for it delayed every scrape in that
 * window (up to ~0.9 s, measured). A worker that exits while being asked is left out (waiting for
 * it made the scrape a 500 after 5 s); its counts went with it anyway.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { ignoreSendFailure, LISTENING } from '#src/heartbeat.ts';

type RegistryJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

type Rendered = { contentType: string; body: string };
type Message = {
  type?: string;
  id?: string;
  contentType?: string;
  body?: string;
  error?: string;
  metrics?: RegistryJson;
};
/** Worker → primary: render every worker's metrics for me. */
const REQUEST = 'plumb:metrics-request';
const RESPONSE = 'plumb:metrics-response';
/** Primary → worker: send me your registry; and its answer. */
const COLLECT = 'plumb:metrics-collect';
const COLLECTED = 'plumb:metrics-collected';

/** In the primary: answer workers' requests for the aggregated metrics. */
export function serveClusterMetrics(timeoutMs = 3_000): void {
  const listening = new Set<Worker>();
  type Collection = { waiting: Set<Worker>; metrics: RegistryJson[]; finish: (error?: string) => void };
  const collections = new Map<string, Collection>();

  const collect = (asker: Worker, requestId: string | undefined) => {
    const id = randomUUID();
    const answer = (reply: Omit<Message, 'type' | 'id'>) => {
      if (asker.isConnected()) asker.send({ type: RESPONSE, id: requestId, ...reply }, ignoreSendFailure);
    };
    const collection: Collection = {
      waiting: new Set([...listening].filter((worker) => worker.isConnected())),
      metrics: [],
      finish: (error) => {
        if (!collections.delete(id)) return;
        clearTimeout(timer);
        if (error) return answer({ error });
        try {
          const registry = AggregatorRegistry.aggregate(collection.metrics);
          registry.metrics().then(
            (body) => answer({ contentType: registry.contentType, body }),
            (failure: unknown) => answer({ error: String(failure) }),
          );
        } catch (failure) {
          answer({ error: String(failure) }); // metrics the aggregator cannot merge must not stop the primary
        }
      },
    };
    const timer = setTimeout(() => {
      const late = [...collection.waiting].map((worker) => worker.process.pid);
      collection.finish(`workers ${late.join(', ')} did not send their metrics within ${timeoutMs} ms`);
    }, timeoutMs);
    collections.set(id, collection);
    // A worker that died a moment ago still looks connected until its exit is handled; its exit
    // settles the collection. Without a callback, the failed write (EPIPE) would be thrown in the
    // primary, and the primary's exit takes every worker with it.
    for (const worker of collection.waiting) worker.send({ type: COLLECT, id }, ignoreSendFailure);
    if (collection.waiting.size === 0) collection.finish();
  };
  const settle = (worker: Worker, id: string | undefined, reply?: Message) => {
    for (const [key, collection] of collections) {
      if ((id !== undefined && key !== id) || !collection.waiting.delete(worker)) continue;
      if (reply?.error) collection.finish(`worker ${worker.process.pid}: ${reply.error}`);
      else if (reply?.metrics) collection.metrics.push(reply.metrics);
      if (collection.waiting.size === 0) collection.finish();
    }
  };

  cluster.on('exit', (worker) => {
    listening.delete(worker);
    settle(worker, undefined);
  });
  cluster.on('message', (worker, message: Message) => {
    if (message?.type === LISTENING) listening.add(worker);
    else if (message?.type === REQUEST) collect(worker, message.id);
    else if (message?.type === COLLECTED) settle(worker, message.id, message);
  });
}

/** In a worker: send this registry when the primary collects. */
export function answerMetricsCollection(registry: Registry): void {
  process.on('message', (message: Message) => {
    if (message?.type !== COLLECT) return;
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: COLLECTED, id: message.id, metrics }, ignoreSendFailure),
      (error: unknown) =>
        process.send?.({ type: COLLECTED, id: message.id, error: String(error) }, ignoreSendFailure),
    );
  });
}

const asked = new Map<string, (message: Message) => void>();

/** In a worker: the metrics of every worker, through the primary. */
export function requestClusterMetrics(timeoutMs = 5_000): Promise<Rendered> {
  // One listener for every request in flight (a scrape storm adds no listeners).
  if (asked.size === 0) process.on('message', onResponse);
  return new Promise<Rendered>((resolve, reject) => {
    const id = randomUUID();
    const timer = setTimeout(
      () => settle({ error: 'the primary did not answer the metrics request' }),
      timeoutMs,
    );
    const settle = (message: Message) => {
      clearTimeout(timer);
      asked.delete(id);
      if (asked.size === 0) process.off('message', onResponse);
      if (message.error || message.body === undefined) reject(new Error(message.error ?? 'no metrics'));
      else resolve({ contentType: message.contentType ?? 'text/plain', body: message.body });
    };
    asked.set(id, settle);
    process.send?.({ type: REQUEST, id }, (error: Error | null) => {
      if (error) settle({ error: `the primary cannot be asked: ${error.message}` });
    });
  });
}

function onResponse(message: Message): void {
  if (message?.type === RESPONSE && message.id !== undefined) asked.get(message.id)?.(message);
}
