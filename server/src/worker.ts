/**
 * @module One HTTP server process (a cluster worker, or the whole server when it runs one worker):
 * serve, and on SIGTERM/SIGINT drain without dropping a request that was accepted.
 */
import cluster from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import { listMigrations } from '@plumb/db';
import { appConfig, createApp } from '#src/app.ts';
import { requestClusterMetrics } from '#src/cluster-metrics.ts';
import { createDatabase, databaseLimits, type Sql } from '#src/database.ts';
import type { ServerEnv } from '#src/env.ts';
import { announceListening } from '#src/heartbeat.ts';
import { type Listening, listen, listenFailure } from '#src/listen.ts';
import { createAppServer } from '#src/listener.ts';
import type { Logger } from '#src/logger.ts';
import { trimWhenQuiet } from '#src/memory-trim.ts';
import { admission } from '#src/middleware/admission/index.ts';
import { onStopSignal, type StopCause } from '#src/signals.ts';
import { capProblems, leastMaxConnections, type Sizing } from '#src/sizing/index.ts';
import { APP_NAME, APP_VERSION } from '#src/version.ts';

export async function startWorker(env: ServerEnv, logger: Logger, sizing: Sizing): Promise<void> {
  const db = createDatabase({
    url: env.DATABASE_URL,
    max: sizing.poolMax,
    connectTimeoutSeconds: env.DB_CONNECT_TIMEOUT_S,
    statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
  });
  // The first connection opens while the application loads, so the first /readyz need not wait
  // for it (a database that is away fails this quietly; /readyz reports it). The first worker reads
  // the database's connection limits with it, once: one warning each, not one per worker.
  if (!cluster.isWorker || cluster.worker?.id === 1)
    checkConnectionCap(db.sql, sizing, env.SERVER_REPLICAS, logger);
  else db.sql`select 1`.catch(() => {});
  let draining = false;
  const config = appConfig(env, sizing.poolMax);
  const gate = admission(config.admission);
  const app = createApp({
    db,
    logger,
    config,
    admission: gate,
    info: { name: APP_NAME, version: APP_VERSION, gitSha: env.GIT_SHA ?? null },
    sizing,
    knownMigrations: await listMigrations(),
    isDraining: () => draining,
    ...(cluster.isWorker ? { renderMetrics: () => requestClusterMetrics() } : {}),
  });

  const server = createAppServer(app, {
    logger,
    config,
    admission: gate,
    isDraining: () => draining,
    hostname: env.HOST,
    serverOptions: {
      // Slow clients (slowloris): the headers within 10 s, the whole request within
      // REQUEST_TIMEOUT_MS, checked every second (Node's default check runs every 30 s).
      headersTimeout: Math.min(10_000, env.REQUEST_TIMEOUT_MS),
      requestTimeout: env.REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: 1_000,
      // Node's default is 5 s: a proxy reusing a connection just as the server closed it gets a
      // reset (a 502 for its user); the fault suite's overload saw hundreds of them.
      keepAliveTimeout: env.KEEP_ALIVE_TIMEOUT_S * 1000,
    },
  });
  let listening: Listening;
  try {
    listening = await listen(server, { port: env.PORT, host: env.HOST });
  } catch (error) {
    logger.fatal({ code: (error as NodeJS.ErrnoException).code }, listenFailure(error, env.PORT));
    process.exit(1);
  }
  logger.info(
    { port: listening.port, host: env.HOST, sockets: listening.sockets, version: APP_VERSION },
    'listening',
  );
  if (cluster.isWorker) announceListening();
  trimWhenQuiet(logger);
  // Accepting can fail later too (out of file descriptors, say): a fresh process is the way out.
  server.on('error', (error: NodeJS.ErrnoException) => {
    logger.fatal({ code: error.code }, `cannot accept connections: ${error.message}`);
    process.exit(1);
  });
  // Refusals are not logged one by one (under overload that would be thousands of lines a
  // second): one line per 10 s says how many there were.
  let refusedBefore = 0;
  setInterval(() => {
    const { rejected, running, queued } = gate.stats();
    if (rejected > refusedBefore) {
      logger.warn(
        { refused: rejected - refusedBefore, running, queued, seconds: 10 },
        'overloaded: API requests refused with 503 (see MAX_CONCURRENT_REQUESTS, MAX_QUEUED_REQUESTS)',
      );
    }
    refusedBefore = rejected;
  }, 10_000).unref();
  let signalled = false;
  const drain = async (signal: StopCause) => {
    if (signal !== 'primary') {
      // A second signal means "now" (a second Ctrl-C); the primary's request does not count as one.
      if (signalled) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      signalled = true;
    }
    if (draining) return;
    draining = true;
    logger.info({ signal, delayMs: env.SHUTDOWN_DELAY_MS, timeoutMs: env.SHUTDOWN_TIMEOUT_MS }, 'draining');
    // /readyz answers 503 now; keep serving while load balancers notice.
    await sleep(env.SHUTDOWN_DELAY_MS);
    const closed = listening.close();
    // Answers written while draining close their connections (edgeResponse). One whose head
    // went out before (a streamed export, say) leaves its connection open and idle when it ends:
    // Node closes idle connections at close() only, so close them as they come.
    const idle = setInterval(() => server.closeIdleConnections(), 250);
    const finished = await Promise.race([
      closed.then(() => true),
      sleep(env.SHUTDOWN_TIMEOUT_MS).then(() => false),
    ]);
    clearInterval(idle);
    if (!finished) {
      logger.warn('requests still in flight after SHUTDOWN_TIMEOUT_MS; closing their connections');
      server.closeAllConnections();
    }
    // Within STOP_AFTER_DRAIN_MS, which the primary allows after the drain: after the timeout, what
    // still runs is cancelled at once; after a drain that finished, a background query gets 1 s.
    await db.end(finished ? 1 : 0);
    logger.info('stopped');
    process.exit(0);
  };
  // The primary asks over IPC, not with a signal: after Ctrl-C a worker has the terminal's SIGINT
  // already, and a second signal means "exit now".
  onStopSignal((cause) => void drain(cause));
}

/**
 * Warns when the database accepts fewer connections than the budget may open (`DB_MAX_CONNECTIONS`
 * is the operator's word for it; nothing else checks it). A database that is away is asked again
 * every `retryMs` until it answers.
 */
function checkConnectionCap(
  sql: Sql,
  sizing: Sizing,
  replicas: number,
  logger: Logger,
  retryMs = 5_000,
): void {
  databaseLimits(sql).then(
    (limits) => {
      for (const problem of capProblems(sizing.connections, limits, leastMaxConnections({ replicas }))) {
        logger.warn({ database: limits, peak: sizing.connections.peak }, problem);
      }
    },
    (error: unknown) => {
      // A database that is away is /readyz's to report; this only says why it will ask again.
      logger.debug({ err: error }, "could not read the database's connection limits; asking again in 5 s");
      setTimeout(() => checkConnectionCap(sql, sizing, replicas, logger, retryMs), retryMs).unref();
    },
  );
}
