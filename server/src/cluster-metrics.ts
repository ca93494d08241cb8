/**
 * @module /metrics across worker processes: a worker asks the primary over IPC, the primary gathers
 * every worker's registry with prom-client's AggregatorRegistry and answers the one that asked.
 */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry } from 'prom-client';

type Rendered = { contentType: string; body: string };
const REQUEST = 'plumb:metrics-request';
const RESPONSE = 'plumb:metrics-response';
type Message = { type?: string; id?: string; contentType?: string; body?: string; error?: string };

/** In the primary: answer workers' requests for the aggregated metrics. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: Message) => {
    if (message?.type !== REQUEST) return;
    aggregator.clusterMetrics().then(
      (body) => worker.send({ type: RESPONSE, id: message.id, contentType: aggregator.contentType, body }),
      (error: unknown) => worker.send({ type: RESPONSE, id: message.id, error: String(error) }),
    );
  });
}

/** In a worker: the metrics of every worker, through the primary. */
export function requestClusterMetrics(timeoutMs = 5_000): Promise<Rendered> {
  return new Promise((resolve, reject) => {
    const id = randomUUID();
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('the primary did not answer the metrics request'));
    }, timeoutMs);
    const onMessage = (message: Message) => {
      if (message?.type !== RESPONSE || message.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (message.error || message.body === undefined) reject(new Error(message.error ?? 'no metrics'));
      else resolve({ contentType: message.contentType ?? 'text/plain', body: message.body });
    };
    process.on('message', onMessage);
    process.send?.({ type: REQUEST, id });
  });
}
