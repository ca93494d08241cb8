/** @module The server's environment: the only place the server reads configuration. */
import { flag, integer, memoryQuantity, postgresUrl, refuseEmpty } from '@plumb/db/env-contract';
import { z } from 'zod';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_REPLICAS } from '#src/sizing/budget.ts';

const origins = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.url({ protocol: /^https?$/ }).transform((origin) => new URL(origin).origin)));

/**
 * How long a server takes, after SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS, to close its pool and exit
 * (queries still running are cancelled). The cluster primary kills workers that take longer, and the
 * deployment model's grace period leaves this much.
 */
export const STOP_AFTER_DRAIN_MS = 2_000;

export const serverEnvSchema = z.object({
  DATABASE_URL: postgresUrl.describe(
    'PostgreSQL connection string, e.g. postgres://user:password@host:5432/plumb.',
  ),
  PORT: integer(1, 65_535).default(8080).describe('TCP port the HTTP server listens on (Render sets it).'),
  HOST: z
    .string()
    .min(1)
    .default('0.0.0.0')
    .describe('Address the HTTP server binds; 0.0.0.0 in containers, 127.0.0.1 to stay local.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('Lowest level of the JSON log lines written to stdout.'),
  GIT_SHA: z
    .string()
    .regex(/^[0-9a-f]{7,40}$/, 'must be a git commit hash')
    .optional()
    .describe('Commit the build came from, shown by /api/info (set by the image build; empty = unknown).'),
  DB_CONNECT_TIMEOUT_S: integer(1, 120)
    .default(5)
    .describe('Seconds to wait for a new database connection before answering 503.'),
  DB_STATEMENT_TIMEOUT_MS: integer(100, 600_000)
    .default(10_000)
    .describe('Longest a single SQL statement may run before it is cancelled and the request answers 503.'),
  SESSION_TTL_HOURS: integer(1, 24 * 365)
    .default(24 * 14)
    .describe('How long a sign-in lasts before the session expires.'),
  COOKIE_SECURE: flag
    .prefault('0')
    .describe(
      'Always mark the session cookie Secure (1); otherwise only when the request arrived over https (per TRUST_PROXY).',
    ),
  TRUST_PROXY: integer(0, 10)
    .default(0)
    .describe(
      'How many reverse proxies in front of the server to trust for X-Forwarded-For/-Proto/-Host (the client nginx is one).',
    ),
  PROXY_SECRET: refuseEmpty(
    z
      .string()
      .regex(/^[A-Za-z0-9+/=_-]{16,256}$/, 'must be 16 to 256 letters, digits or + / = _ -')
      .optional(),
  ).describe(
    "When set, X-Forwarded-For/-Proto/-Host count (as deep as TRUST_PROXY says) only on requests carrying X-Plumb-Proxy with this value, which the client's nginx adds (set it there too); a request that skipped the proxy counts by its own connection. For a server that can also be reached without the proxy (Render's public URL).",
  ),
  CORS_ORIGINS: origins.describe(
    'Comma-separated origins of third-party browser apps allowed to call the API with credentials; empty = none.',
  ),
  AUTH_RATE_LIMIT_WINDOW_S: integer(1, 86_400)
    .default(60)
    .describe('Length of the window in which sign-in and sign-up attempts are counted.'),
  AUTH_RATE_LIMIT_IP_MAX: integer(1, 1_000_000)
    .default(30)
    .describe(
      'Sign-in plus sign-up attempts one client address (an IPv6 address: its /64) may make per window before getting 429.',
    ),
  AUTH_RATE_LIMIT_ACCOUNT_MAX: integer(1, 1_000_000)
    .default(10)
    .describe('Failed sign-ins one account may see per window before further attempts get 429.'),
  WEB_CONCURRENCY: integer(1, 256)
    .optional()
    .describe(
      'Worker processes; by default one per CPU of the container, as many as its memory allows and as DB_MAX_CONNECTIONS gives a connection each.',
    ),
  CPU_LIMIT: z.coerce
    .number()
    .positive()
    .max(1024)
    .optional()
    .describe(
      "CPUs to size for, instead of the container's cgroup quota (for hosts whose cgroups report wrong numbers).",
    ),
  MEMORY_LIMIT: memoryQuantity
    .optional()
    .describe(
      'Memory to size for, instead of the container limit read from cgroups: bytes, or a Kubernetes quantity (512Mi, 2Gi; 512M, 2G and 2e9 are powers of ten).',
    ),
  UV_THREADPOOL_SIZE: integer(1, 1024)
    .optional()
    .describe("Threads per worker for password hashing and file I/O (libuv's pool); default 4."),
  DB_POOL_MAX: integer(1, 1000)
    .optional()
    .describe(
      'Database connections per worker; by default the largest that fits the connection budget (at most 10).',
    ),
  DB_MAX_CONNECTIONS: integer(5, 100_000)
    .default(DEFAULT_MAX_CONNECTIONS)
    .describe(
      "PostgreSQL's max_connections (the plan's cap): every replica's pools must fit under it during a rollout.",
    ),
  SERVER_REPLICAS: integer(1, 1000)
    .default(DEFAULT_REPLICAS)
    .describe('How many server replicas run, for the connection budget.'),
  MAX_CONCURRENT_REQUESTS: integer(1, 100_000)
    .optional()
    .describe(
      'API requests one worker runs at once before queueing the next; default 4 per database connection.',
    ),
  MAX_QUEUED_REQUESTS: integer(0, 100_000)
    .default(512)
    .describe('API requests one worker lets wait; past this, 503 with Retry-After at once.'),
  REQUEST_QUEUE_TIMEOUT_MS: integer(1, 60_000)
    .default(1_000)
    .describe(
      'Longest an API request waits for its turn before it gets 503 with Retry-After. A queue that has not emptied for a quarter of this is overloaded: it then lets only one round (MAX_CONCURRENT_REQUESTS) wait.',
    ),
  REQUEST_TIMEOUT_MS: integer(1_000, 600_000)
    .default(30_000)
    .describe(
      'Longest a client may take to send a whole request (headers within 10 s): a slow upload is cut with 408, so slow clients cannot hold connections.',
    ),
  WORKER_STUCK_TIMEOUT_S: integer(1, 3_600)
    // Far above any pause of a working loop (a turn under overload: tens to hundreds of ms; a full
    // garbage collection of a 512 MiB heap: under a second), and what Kubernetes' default liveness
    // probe allows (3 × 10 s).
    .default(30)
    .describe(
      "With several workers: a worker that listens but whose event loop has not answered the primary's heartbeat for this long is killed and replaced, as one that died (a loop that never yields would otherwise keep its share of new connections waiting). With one worker there is no primary: the orchestrator's liveness probe on /healthz covers it.",
    ),
  KEEP_ALIVE_TIMEOUT_S: integer(1, 3_600)
    .default(65)
    .describe(
      "How long an idle keep-alive connection stays open. Longer than the proxy's own idle timeout in front (nginx and most load balancers: 60 s), so the proxy closes first and never sends a request into a connection the server is closing.",
    ),
  SHUTDOWN_DELAY_MS: integer(0, 600_000)
    .default(3_000)
    .describe(
      'After SIGTERM, keep serving (with /readyz at 503) this long so load balancers stop sending traffic.',
    ),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000)
    .default(20_000)
    .describe('Then wait at most this long for requests in flight before closing their connections.'),
  MIGRATE_ON_START: flag
    .prefault('0')
    .describe(
      "Read by the image's entrypoint: apply migrations (under the advisory lock) before starting — for Render's free plan, which has no pre-deploy command.",
    ),
  METRICS_ENABLED: flag
    .prefault('1')
    .describe('Serve Prometheus metrics at GET /metrics (1) or answer 404 (0).'),
  METRICS_TOKEN: refuseEmpty(z.string().min(16, 'must be at least 16 characters').optional()).describe(
    'When set, GET /metrics requires the header "Authorization: Bearer <token>".',
  ),
});

export type ServerEnv = z.output<typeof serverEnvSchema>;

/**
 * Set by the cluster primary for its workers only (never by a deployment): the sizing it decided,
 * so workers do not detect and decide again.
 */
export const workerEnvSchema = z.object({
  PLUMB_WORKER_SIZING: z.string().transform((value, context) => {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      context.addIssue({ code: 'custom', message: 'must be JSON' });
      return z.NEVER;
    }
  }),
});
