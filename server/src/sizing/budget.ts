/**
 * @module The connection budget (contract 6 of the design): every connection that can be open at
 * once must fit under PostgreSQL's `max_connections`. The server and the charts both call this.
 */

export interface BudgetInput {
  /** PostgreSQL's `max_connections` (a managed plan's cap). */
  maxConnections: number;
  /** Server replicas in steady state. */
  replicas: number;
  /** Extra replicas a rolling update runs at once (Kubernetes `maxSurge`). @default 1 */
  maxSurge?: number;
  /** Worker processes per replica. */
  workers: number;
  /** Connections of the migrate job. @default 1 */
  migrate?: number;
  /** Connections of the backup job. @default 1 */
  backup?: number;
  /** Kept free for superusers and operators (`superuser_reserved_connections` and a psql). @default 5 */
  reserve?: number;
  /** A pool size to check instead of choosing one (an operator's DB_POOL_MAX). */
  poolMax?: number | undefined;
}

export interface Budget {
  /** Pool size per worker process: the largest that fits (at most {@link MAX_POOL_PER_WORKER}). */
  poolMax: number;
  /** Connections in use at the worst moment (a rolling update, the job and a backup running). */
  peakConnections: number;
  maxConnections: number;
}

/** Beyond this a worker gains nothing: one event loop cannot keep more queries busy. */
export const MAX_POOL_PER_WORKER = 10;

/** `DB_MAX_CONNECTIONS` when unset: PostgreSQL's own default `max_connections`. */
export const DEFAULT_MAX_CONNECTIONS = 100;
/** `SERVER_REPLICAS` when unset. */
export const DEFAULT_REPLICAS = 1;

/** Kept free for superusers and operators by default (`superuser_reserved_connections` is 3). */
const RESERVE = 5;

/** Connections that are not the server's pools: the migrate job, a backup and the reserve. */
const fixedConnections = (input: Omit<BudgetInput, 'workers' | 'maxConnections'>) =>
  (input.migrate ?? 1) + (input.backup ?? 1) + (input.reserve ?? RESERVE);

/** The least `max_connections` with a connection for one worker of each replica, during a rollout too. */
export function leastMaxConnections(
  input: Omit<BudgetInput, 'workers' | 'maxConnections' | 'poolMax'>,
): number {
  return input.replicas * (1 + (input.maxSurge ?? 1)) + fixedConnections(input);
}

/** The most worker processes per replica that can each have a pool of `poolMax` (default 1) connections. */
export function maxWorkersForBudget(input: Omit<BudgetInput, 'workers'>): number {
  const fixed = fixedConnections(input);
  const perWorker = input.replicas * (1 + (input.maxSurge ?? 1)) * (input.poolMax ?? 1);
  return Math.floor((input.maxConnections - fixed) / perWorker);
}

/** Raised when not even one connection per worker fits; the message says what to change. */
export class BudgetError extends Error {
  override name = 'BudgetError';
}

/** What to change when not even one connection per worker fits, in the server's settings. */
const fewer = (input: BudgetInput) => {
  const lower = [
    ...(input.replicas > 1 ? ['SERVER_REPLICAS'] : []),
    ...(input.workers > 1 ? ['the workers (WEB_CONCURRENCY)'] : []),
  ];
  return (
    `set DB_MAX_CONNECTIONS to the database's max_connections if it allows more (${DEFAULT_MAX_CONNECTIONS} unless set)` +
    (lower.length > 0 ? `, or lower ${lower.join(' or ')}.` : '.')
  );
};

/**
 * `replicas × (1 + maxSurge) × workers × pool + migrate + backup + reserve ≤ maxConnections`.
 *
 * @example
 * connectionBudget({ maxConnections: 100, replicas: 1, workers: 4 }); // { poolMax: 10, peakConnections: 87, … }
 */
export function connectionBudget(input: BudgetInput): Budget {
  const surge = input.maxSurge ?? 1;
  const fixed = fixedConnections(input);
  const processes = input.replicas * (1 + surge) * input.workers;
  /** The largest pool per worker that fits (an explicit DB_POOL_MAX may go up to it). */
  const mostThatFits = Math.floor((input.maxConnections - fixed) / processes);
  const fits = Math.min(MAX_POOL_PER_WORKER, mostThatFits);
  const shape =
    `${processes} server processes (${input.replicas} replica(s) × ${1 + surge} during a rollout × ` +
    `${input.workers} worker(s)) plus ${fixed} for the migrate job, backups and a reserve`;
  if (input.poolMax !== undefined) {
    const peak = processes * input.poolMax + fixed;
    if (peak > input.maxConnections) {
      throw new BudgetError(
        `A pool of ${input.poolMax} per worker does not fit: ${shape} need ${peak} connections, but ` +
          `max_connections (DB_MAX_CONNECTIONS) is ${input.maxConnections}. ` +
          (mostThatFits >= 1
            ? `At most ${mostThatFits} per worker fits; lower DB_POOL_MAX.`
            : `Not even 1 per worker fits: ${fewer(input)}`),
      );
    }
    return { poolMax: input.poolMax, peakConnections: peak, maxConnections: input.maxConnections };
  }
  if (fits < 1) {
    throw new BudgetError(
      `The connection budget does not fit: ${shape} need at least ${processes + fixed} connections, but ` +
        `max_connections (DB_MAX_CONNECTIONS) is ${input.maxConnections}: ${fewer(input)}`,
    );
  }
  return { poolMax: fits, peakConnections: processes * fits + fixed, maxConnections: input.maxConnections };
}

/** What the database itself allows the server's role, as read from it (`databaseLimits`). */
export interface DatabaseLimits {
  /** Its `max_connections`. */
  maxConnections: number;
  /** A superuser is bound by neither connection limit below. */
  superuser: boolean;
  /** The role's `CONNECTION LIMIT`; -1 for none. */
  roleLimit: number;
  /** The database's `CONNECTION LIMIT`; -1 for none. */
  databaseLimit: number;
}

/**
 * Where the database accepts fewer connections than the budget may open at its peak (a rollout, the
 * migrate job and a backup at once); one sentence each, naming what to set. PostgreSQL refuses the
 * rest with "too many clients", which the API would answer with 503s under load.
 *
 * @example
 * capProblems({ peak: 87, maxConnections: 100 }, { maxConnections: 50, superuser: true, roleLimit: -1, databaseLimit: -1 });
 * // ['The pools and jobs may open 87 connections at their peak, but the database's max_connections is 50 …']
 */
export function capProblems(
  connections: { peak: number; maxConnections: number },
  limits: DatabaseLimits,
  /** The least DB_MAX_CONNECTIONS the server starts with ({@link leastMaxConnections}). */
  least = leastMaxConnections({ replicas: DEFAULT_REPLICAS }),
): string[] {
  const problems: string[] = [];
  /** Raise `what`, or lower DB_MAX_CONNECTIONS to `value` when one worker still fits under it. */
  const advice = (what: string, value: number) =>
    `raise ${what}` +
    (value >= least
      ? `, or set DB_MAX_CONNECTIONS=${value}, and the server sizes its pools to it`
      : ` (even one worker needs DB_MAX_CONNECTIONS ${least})`);
  if (limits.maxConnections < connections.peak) {
    problems.push(
      `The pools and jobs may open ${connections.peak} connections at their peak (a rollout, the migrate job and a ` +
        `backup at once), planned for DB_MAX_CONNECTIONS ${connections.maxConnections}, but the database's ` +
        `max_connections is ${limits.maxConnections}: ${advice('max_connections', limits.maxConnections)}.`,
    );
  }
  // The reserve is for superusers; a role's or a database's own limit counts everything else.
  const ours = connections.peak - RESERVE;
  const bounds = [
    ['the role', limits.roleLimit],
    ['the database', limits.databaseLimit],
  ] as const;
  for (const [whose, limit] of bounds) {
    if (!limits.superuser && limit >= 0 && limit < ours) {
      problems.push(
        `The pools and jobs may open ${ours} connections at their peak, but ${whose}'s CONNECTION LIMIT is ` +
          `${limit}: ${advice('it', limit + RESERVE)}.`,
      );
    }
  }
  return problems;
}
