/**
 * @module Fixed-window counters kept in PostgreSQL, so every worker process and every replica
 * counts against the same limit (process memory would give each its own).
 *
 * A worker remembers a refusal for a moment, so that a burst against one key (a flood of sign-ins
 * from one address) is refused from memory instead of queueing one row update per attempt behind
 * that row's lock: the refusals would otherwise outlast the admission queue's wait and turn into 503s.
 */
import type { Database } from '#src/database.ts';
import { ApiError } from '#src/errors.ts';

export interface RateLimiter {
  /** Counts one attempt against `key`; throws a 429 {@link ApiError} once more than `max` fall in the window. */
  hit(key: string, max: number): Promise<void>;
  /** Forgets `key` (a successful sign-in clears the account's failures). */
  reset(key: string): Promise<void>;
}

export interface RateLimiterOptions {
  /**
   * How long a worker refuses a key from memory after the database refused it, at most until the
   * window ends. Another worker's successful sign-in (which clears the account's counter) is seen
   * here only after it. @default 1000
   */
  rememberMs?: number;
  /** Keys remembered at once; past it, the oldest is forgotten. @default 10_000 */
  rememberMax?: number;
}

export function rateLimiter(
  db: Database,
  windowSeconds: number,
  { rememberMs = 1_000, rememberMax = 10_000 }: RateLimiterOptions = {},
): RateLimiter {
  /** key → when the memory of its refusal ends, and when its window ends (ms since the epoch). */
  const refused = new Map<string, { until: number; windowEnds: number }>();
  const limited = (retryAfterSeconds: number) =>
    new ApiError(429, 'rate_limited', 'Too many attempts; wait a moment and try again.', {
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
  const remember = (key: string, windowLeftMs: number) => {
    const now = Date.now();
    refused.delete(key); // re-inserted last: the map's order is the order of remembering
    if (refused.size >= rememberMax) {
      const oldest = refused.keys().next();
      if (!oldest.done) refused.delete(oldest.value);
    }
    const windowEnds = now + windowLeftMs;
    refused.set(key, { until: Math.min(windowEnds, now + rememberMs), windowEnds });
  };

  return {
    async hit(key, max) {
      const known = refused.get(key);
      if (known) {
        const now = Date.now();
        if (known.until > now) throw limited(Math.max(1, Math.ceil((known.windowEnds - now) / 1_000)));
        refused.delete(key);
      }
      const [row] = await db.run(
        (sql) => sql<{ count: number; retryAfter: number; windowLeftMs: number }[]>`
          insert into rate_limits as r (key, window_start, count) values (${key}, now(), 1)
          on conflict (key) do update set
            count = case when r.window_start <= now() - ${windowSeconds} * interval '1 second'
                         then 1 else r.count + 1 end,
            window_start = case when r.window_start <= now() - ${windowSeconds} * interval '1 second'
                                then now() else r.window_start end
          returning count,
            greatest(1, ceil(extract(epoch from (window_start + ${windowSeconds} * interval '1 second' - now()))))::int
              as "retryAfter",
            (extract(epoch from (window_start + ${windowSeconds} * interval '1 second' - now())) * 1000)::int
              as "windowLeftMs"`,
      );
      if (Math.random() < 0.01) {
        // Old windows are removed now and then, in the background.
        db.run(
          (sql) =>
            sql`delete from rate_limits where window_start < now() - ${windowSeconds} * interval '1 second'`,
        ).catch(() => {});
      }
      if (row && row.count > max) {
        remember(key, row.windowLeftMs);
        throw limited(row.retryAfter);
      }
    },
    async reset(key) {
      refused.delete(key);
      await db.run((sql) => sql`delete from rate_limits where key = ${key}`);
    },
  };
}
