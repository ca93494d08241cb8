/**
 * @module Prometheus metrics: request count and duration by route and status, in-flight database
 * work, and the process's own metrics, at `GET /metrics` (optionally behind a bearer token).
 */

import cluster from 'node:cluster';
import { timingSafeEqual } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { routePath } from 'hono/route';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { answerMetricsCollection } from '#src/cluster-metrics.ts';

export interface Metrics {
  readonly registry: Registry;
  /** Counts an answered request by method, route and status, and its duration. */
  record(c: Context, seconds: number): void;
}

export function createMetrics(options: {
  dbInFlight: () => number;
  /** The admission control's figures. @default none (no such metrics) */
  admission?: () => { running: number; queued: number; rejected: number };
}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // In a cluster worker, the primary collects from this registry for /metrics.
  if (cluster.isWorker) answerMetricsCollection(registry);
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to answering it',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'db_queries_in_flight',
    help: 'Database queries and transactions started and not yet settled',
    registers: [registry],
    collect() {
      this.set(options.dbInFlight());
    },
  });

  const admission = options.admission;
  if (admission) {
    new Gauge({
      name: 'http_requests_running',
      help: 'API requests admitted and not yet answered',
      registers: [registry],
      collect() {
        this.set(admission().running);
      },
    });
    new Gauge({
      name: 'http_requests_queued',
      help: 'API requests waiting for admission',
      registers: [registry],
      collect() {
        this.set(admission().queued);
      },
    });
    let counted = 0;
    new Counter({
      name: 'http_requests_refused_total',
      help: 'API requests refused with 503 because the admission queue was full or its wait too long',
      registers: [registry],
      collect() {
        const { rejected } = admission();
        this.inc(rejected - counted);
        counted = rejected;
      },
    });
  }

  const record = (c: Context, seconds: number) => {
    const matched = routePath(c, -1);
    // Unmatched paths share one label, so a scan cannot blow up the series count.
    const route = c.res.status === 404 && (matched === '*' || matched === '/*') ? 'unmatched' : matched;
    const labels = { method: c.req.method, route, status: String(c.res.status) };
    requests.inc(labels);
    duration.observe(labels, seconds);
  };
  return { registry, record };
}

/** `GET /metrics`, 404 when disabled, 401 without the token when one is set. */
export function metricsRoutes(
  render: () => Promise<{ contentType: string; body: string }>,
  options: { enabled: boolean; token?: string | undefined },
): Hono {
  const routes = new Hono();
  routes.get('/metrics', async (c) => {
    if (!options.enabled) return c.json({ error: { code: 'not_found', message: 'Not found.' } }, 404);
    if (options.token && !bearerMatches(c.req.header('authorization'), options.token)) {
      c.header('WWW-Authenticate', 'Bearer');
      return c.json({ error: { code: 'unauthenticated', message: 'A metrics token is required.' } }, 401);
    }
    const { contentType, body } = await render();
    return c.body(body, 200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  });
  return routes;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer\s+/i, '') ?? '');
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
