/** @module The Hono application, built from its dependencies so tests drive it with `app.request()`. */
import { OpenAPIHono } from '@hono/zod-openapi';
import { cors } from 'hono/cors';
import { accountsRepository } from '#src/accounts/repository.ts';
import { warmUpPasswords } from '#src/auth/passwords.ts';
import { rateLimiter } from '#src/auth/rate-limit.ts';
import { SESSION_COOKIE, sessionStore } from '#src/auth/sessions.ts';
import type { Database } from '#src/database.ts';
import type { ServerEnv } from '#src/env.ts';
import { errorHandler } from '#src/errors.ts';
import type { Logger } from '#src/logger.ts';
import { type Admission, admission } from '#src/middleware/admission/index.ts';
import type { AuthEnv } from '#src/middleware/auth/index.ts';
import { jsonBody } from '#src/middleware/json-body/index.ts';
import { createMetrics, metricsRoutes } from '#src/middleware/metrics/index.ts';
import { observe } from '#src/middleware/observe/index.ts';
import { originCheck } from '#src/middleware/origin-check/index.ts';
import { notesRepository } from '#src/notes/repository.ts';
import { accountRoutes } from '#src/routes/account.ts';
import { ADDRESS_LIMITED_PATHS, authRoutes, refuseRememberedAddresses } from '#src/routes/auth.ts';
import { healthRoutes } from '#src/routes/health.ts';
import { type BuildInfo, infoRoutes } from '#src/routes/info.ts';
import { notesRoutes } from '#src/routes/notes.ts';
import type { Sizing } from '#src/sizing/index.ts';

/** The response headers a page on an allowed origin (CORS_ORIGINS) may read. */
export const CORS_EXPOSE_HEADERS = ['ETag', 'Location', 'Retry-After', 'X-Request-Id'];

/** Request bodies above this get 413 before anything reads them. */
export const MAX_REQUEST_BYTES = 256 * 1024;

/** The methods whose requests carry a body and change something: the CSRF and body checks are theirs. */
export const UNSAFE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];

export interface AppConfig {
  sessionTtlHours: number;
  cookieSecure: boolean;
  trustedProxies: number;
  /** When set, forwarded headers count only on requests that carry it (`middleware/edge`). */
  proxySecret?: string | undefined;
  corsOrigins: readonly string[];
  rateLimit: { windowSeconds: number; ipMax: number; accountMax: number };
  metrics: { enabled: boolean; token?: string | undefined };
  /** Admission control per worker (bounded concurrency, queue and queueing delay). */
  admission: { maxConcurrent: number; maxQueued: number; queueTimeoutMs: number };
}

/** The application settings an environment asks for, for a worker with `poolMax` connections. */
export function appConfig(env: ServerEnv, poolMax = 10): AppConfig {
  return {
    sessionTtlHours: env.SESSION_TTL_HOURS,
    cookieSecure: env.COOKIE_SECURE,
    trustedProxies: env.TRUST_PROXY,
    proxySecret: env.PROXY_SECRET,
    corsOrigins: env.CORS_ORIGINS,
    rateLimit: {
      windowSeconds: env.AUTH_RATE_LIMIT_WINDOW_S,
      ipMax: env.AUTH_RATE_LIMIT_IP_MAX,
      accountMax: env.AUTH_RATE_LIMIT_ACCOUNT_MAX,
    },
    metrics: { enabled: env.METRICS_ENABLED, token: env.METRICS_TOKEN },
    admission: {
      maxConcurrent: env.MAX_CONCURRENT_REQUESTS ?? poolMax * 4,
      maxQueued: env.MAX_QUEUED_REQUESTS,
      queueTimeoutMs: env.REQUEST_QUEUE_TIMEOUT_MS,
    },
  };
}

export const defaultAppConfig: AppConfig = {
  sessionTtlHours: 24 * 14,
  cookieSecure: false,
  trustedProxies: 0,
  corsOrigins: [],
  rateLimit: { windowSeconds: 60, ipMax: 30, accountMax: 10 },
  metrics: { enabled: true },
  admission: { maxConcurrent: 40, maxQueued: 512, queueTimeoutMs: 1_000 },
};

export interface AppDeps {
  db: Database;
  logger: Logger;
  info: BuildInfo;
  /** What the process detected and chose, shown by /api/info. @default none (tests) */
  sizing?: Sizing;
  knownMigrations: readonly string[];
  /** @default {@link defaultAppConfig} */
  config?: AppConfig;
  /** Whether the server is draining (/readyz answers 503). @default never */
  isDraining?: () => boolean;
  /**
   * The worker's admission control, when the process also sheds at the door with it (see
   * `shed.ts`). @default one made from `config.admission`
   */
  admission?: Admission;
  /**
   * Renders /metrics. @default this process's registry (the cluster primary passes one that
   * aggregates every worker)
   */
  renderMetrics?: () => Promise<{ contentType: string; body: string }>;
}

/**
 * @example
 * const app = createApp({ db, logger, info, knownMigrations: await listMigrations() });
 * const response = await app.request('/readyz');
 */
export function createApp(deps: AppDeps): OpenAPIHono<AuthEnv> {
  const config = deps.config ?? defaultAppConfig;
  const { db, logger } = deps;
  const app = new OpenAPIHono<AuthEnv>();
  const gate = deps.admission ?? admission(config.admission);
  const metrics = createMetrics({ dbInFlight: db.inFlight, admission: gate.stats });
  // After start-up, not during it: one argon2 hash is ~50 ms of CPU the start would wait for.
  setTimeout(() => void warmUpPasswords(), 1_000).unref();

  // The request id, the security headers and Cache-Control come from the HTTP server's edge
  // (`middleware/edge`), on the node:http response; `app.request()` answers do not carry them.
  app.use(observe({ logger, record: metrics.record }));
  if (config.corsOrigins.length > 0) {
    const allowed = new Set(config.corsOrigins);
    app.use(
      '/api/*',
      cors({
        origin: (origin) => (allowed.has(origin) ? origin : null),
        credentials: true,
        allowMethods: ['GET', 'POST', 'PATCH', 'DELETE'],
        allowHeaders: ['Content-Type', 'If-Match', 'X-Request-Id'],
        exposeHeaders: CORS_EXPOSE_HEADERS,
        maxAge: 600,
      }),
    );
  }
  const limiter = rateLimiter(db, config.rateLimit.windowSeconds);
  // A flood of sign-ins from one address is refused from memory before it can take queue places.
  for (const path of ADDRESS_LIMITED_PATHS) {
    app.use(path, refuseRememberedAddresses(limiter, config.trustedProxies));
  }
  app.use('/api/*', gate.middleware);
  // Registered for the unsafe methods only, so a GET is not routed through checks it would skip.
  app.on(
    UNSAFE_METHODS,
    '/api/*',
    originCheck({ allowedOrigins: config.corsOrigins, trustedProxies: config.trustedProxies }),
    ...jsonBody({ maxBytes: MAX_REQUEST_BYTES }),
  );

  const accounts = accountsRepository(db);
  const notes = notesRepository(db);
  const sessions = sessionStore(db, config.sessionTtlHours);
  const authConfig = {
    trustedProxies: config.trustedProxies,
    cookieSecure: config.cookieSecure,
    ipMax: config.rateLimit.ipMax,
    accountMax: config.rateLimit.accountMax,
  };

  app.route(
    '/',
    healthRoutes({
      logger,
      sql: db.sql,
      knownMigrations: deps.knownMigrations,
      isDraining: deps.isDraining ?? (() => false),
    }),
  );
  const render =
    deps.renderMetrics ??
    (async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }));
  app.route('/', metricsRoutes(render, config.metrics));
  app.route('/api', infoRoutes(deps.info, deps.sizing));
  app.route('/api', authRoutes({ accounts, sessions, limiter, config: authConfig }));
  app.route('/api', accountRoutes({ logger, accounts, notes, sessions, limiter, config: authConfig }));
  app.route('/api', notesRoutes({ notes, sessions }));

  app.openAPIRegistry.registerComponent('securitySchemes', 'session', {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
    description: 'The HttpOnly session cookie set by sign-up and sign-in.',
  });
  app.doc31('/api/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Plumb API',
      version: deps.info.version,
      description: 'Accounts and notes. Errors are `{ "error": { "code", "message", "fields"? } }`.',
    },
  });

  app.notFound((c) => c.json({ error: { code: 'not_found', message: 'No such route.' } }, 404));
  app.onError(errorHandler(logger));
  return app;
}
