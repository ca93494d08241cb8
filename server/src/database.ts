/** @module The postgres.js pool: options chosen once, here, for every query the server makes. */
import postgres from 'postgres';

export type Sql = postgres.Sql;

export interface DatabaseOptions {
  /** Connection string; postgres.js parses it and honours the PG* variables. */
  url: string;
  /** Largest number of connections this process opens. @default 10 */
  max?: number;
  /** Seconds to wait for a connection before the query fails (the API then answers 503). @default 5 */
  connectTimeoutSeconds?: number;
}

/** Opens the pool lazily: no connection is made until the first query. */
export function createDatabase(options: DatabaseOptions): Sql {
  return postgres(options.url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    idle_timeout: 60,
    max_lifetime: 60 * 30,
    onnotice: () => {},
    connection: { application_name: 'plumb-server' },
  });
}
