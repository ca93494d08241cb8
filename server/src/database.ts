/** @module The postgres.js pool, with options chosen once, and the in-flight query count for /metrics. */
import postgres from 'postgres';
import type { DatabaseLimits } from '#src/sizing/budget.ts';

export type Sql = postgres.Sql;

export interface DatabaseOptions {
  /** Connection string; postgres.js parses it and honours the PG* variables. */
  url: string;
  /** Largest number of connections this process opens. @default 10 */
  max?: number;
  /** Seconds to wait for a connection before the query fails (the API then answers 503). @default 5 */
  connectTimeoutSeconds?: number;
  /** Longest a statement may run before PostgreSQL cancels it. @default 10000 */
  statementTimeoutMs?: number;
}

/**
 * The pool and a way to run work on it that is counted while it is in flight (postgres.js
 * exposes no pool statistics, so this is our own counter).
 */
export interface Database {
  readonly sql: Sql;
  /**
   * Runs `work` (one query, or a transaction with `sql.begin`) and counts it as in flight meanwhile.
   *
   * @example
   * const rows = await db.run((sql) => sql`select id from notes where account_id = ${accountId}`);
   */
  run<T>(work: (sql: Sql) => Promise<T>): Promise<T>;
  /** How many `run` calls have not settled yet. */
  inFlight(): number;
  /**
   * Closes the pool once its running queries finish, or after `timeoutSeconds`, cancelling them.
   * @default 5 seconds
   */
  end(timeoutSeconds?: number): Promise<void>;
}

/** Seconds before the next reconnection attempt: 25 ms doubling per failure, at most 0.5 s, jittered. */
export function reconnectBackoffSeconds(failures: number): number {
  return Math.min(0.025 * 2 ** failures, 0.5) * (0.5 + Math.random() / 2);
}

/** Opens the pool lazily: no connection is made until the first query. */
export function createDatabase(options: DatabaseOptions): Database {
  const sql = postgres(options.url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    idle_timeout: 60,
    max_lifetime: 60 * 30,
    // postgres.js waits out an exponential backoff (up to 20 s, shared by the pool) before
    // reconnecting, and a query queued for that connection waits with it: during a database outage
    // requests hung for 10+ s instead of answering 503 (found by the fault suite). A short, bounded
    // backoff keeps every request within reconnectBackoffSeconds + connect_timeout.
    backoff: reconnectBackoffSeconds,
    onnotice: () => {},
    connection: {
      application_name: 'plumb-server',
      statement_timeout: options.statementTimeoutMs ?? 10_000,
    },
  });
  let inFlight = 0;
  return {
    sql,
    async run(work) {
      inFlight++;
      try {
        return await work(sql);
      } finally {
        inFlight--;
      }
    },
    inFlight: () => inFlight,
    end: (timeoutSeconds = 5) => sql.end({ timeout: timeoutSeconds }),
  };
}

/** The connection limits the database applies to this login (`session_user`), for `capProblems`. */
export async function databaseLimits(sql: Sql): Promise<DatabaseLimits> {
  const [limits] = await sql<DatabaseLimits[]>`
    select current_setting('max_connections')::int as "maxConnections", r.rolsuper as superuser,
      r.rolconnlimit as "roleLimit", d.datconnlimit as "databaseLimit"
    from pg_roles r, pg_database d
    where r.rolname = session_user and d.datname = current_database()`;
  if (!limits) throw new Error('the role or the database is not in the catalog');
  return limits;
}
