/**
 * @module Fixed-window counters kept in PostgreSQL, so every worker process and every replica
 * counts against the same limit (process memory would give each its own).
 */
import type { Database } from '#src/database.ts';
import { ApiError } from '#src/errors.ts';

export interface RateLimiter {
  /** Counts one attempt against `key`; throws a 429 {@link ApiError} once more than `max` fall in the window. */
  hit(key: string, max: number): Promise<void>;
  /** Forgets `key` (a successful sign-in clears the account's failures). */
  reset(key: string): Promise<void>;
}

export function rateLimiter(db: Database, windowSeconds: number): RateLimiter {
  return {
    async hit(key, max) {
      const [row] = await db.run(
        (sql) => sql<{ count: number; retryAfter: number }[]>`
          insert into rate_limits as r (key, window_start, count) values (${key}, now(), 1)
          on conflict (key) do update set
            count = case when r.window_start <= now() - ${windowSeconds} * interval '1 second'
                         then 1 else r.count + 1 end,
            window_start = case when r.window_start <= now() - ${windowSeconds} * interval '1 second'
                                then now() else r.window_start end
          returning count,
            greatest(1, ceil(extract(epoch from (window_start + ${windowSeconds} * interval '1 second' - now()))))::int
              as "retryAfter"`,
      );
      if (Math.random() < 0.01) {
        // Old windows are removed now and then, in the background.
        db.run(
          (sql) =>
            sql`delete from rate_limits where window_start < now() - ${windowSeconds} * interval '1 second'`,
        ).catch(() => {});
      }
      if (row && row.count > max) {
        throw new ApiError(429, 'rate_limited', 'Too many attempts; wait a moment and try again.', {
          headers: { 'Retry-After': String(row.retryAfter) },
        });
      }
    },
    async reset(key) {
      await db.run((sql) => sql`delete from rate_limits where key = ${key}`);
    },
  };
}
