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
  /**
   * Throws the 429 at once when this worker remembers a refusal of `key`; no database. (`hit` does
   * this first, too.)
   */
  refuseRemembered(key: string): void;
  /** Forgets `key` (a successful sign-in clears the account's failures). */
  reset(key: string): Promise<void>;
}

/** A key's count after an attempt, and what is left of its window. */
interface Counted {
  count: number;
  retryAfter: number;
  windowLeftMs: number;
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

  const refuseRemembered = (key: string) => {
    const known = refused.get(key);
    if (!known) return;
    const now = Date.now();
    if (known.until > now) throw limited(Math.max(1, Math.ceil((known.windowEnds - now) / 1_000)));
    refused.delete(key);
  };

  /** Adds `n` attempts to `key`'s window (a new window if it has passed): the count after them. */
  const add = async (key: string, n: number): Promise<Counted> => {
    const [row] = await db.run(
      (sql) => sql<Counted[]>`
        insert into rate_limits as r (key, window_start, count) values (${key}, now(), ${n})
        on conflict (key) do update set
          count = case when r.window_start <= now() - ${windowSeconds} * interval '1 second'
                       then ${n} else r.count + ${n} end,
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
    if (!row) throw new Error(`rate_limits: the upsert of ${key} returned no row`);
    return row;
  };

  // One statement at a time per key: the attempts that arrive meanwhile are added by the next one,
  // together. A burst against one key then costs a few statements, not one per attempt each waiting
  // for the row's lock (and a pool connection) behind the others.
  const waiting = new Map<
    string,
    { resolve: (counted: Counted) => void; reject: (error: unknown) => void }[]
  >();
  const counting = new Set<string>();
  const flush = async (key: string) => {
    const batch = waiting.get(key);
    if (!batch || counting.has(key)) return;
    waiting.delete(key);
    counting.add(key);
    try {
      const row = await add(key, batch.length);
      // In the order they arrived, each attempt gets the count it would have got alone.
      for (const [i, attempt] of batch.entries()) {
        attempt.resolve({ ...row, count: row.count - batch.length + 1 + i });
      }
    } catch (error) {
      for (const attempt of batch) attempt.reject(error);
    } finally {
      counting.delete(key);
      void flush(key);
    }
  };
  const count = (key: string) =>
    new Promise<Counted>((resolve, reject) => {
      const batch = waiting.get(key);
      if (batch) batch.push({ resolve, reject });
      else waiting.set(key, [{ resolve, reject }]);
      void flush(key);
    });

  return {
    refuseRemembered,
    async hit(key, max) {
      refuseRemembered(key);
      const row = await count(key);
      if (row.count > max) {
        remember(key, row.windowLeftMs);
        throw limited(row.retryAfter);
      }
    },
    async reset(key) {
      await db.run((sql) => sql`delete from rate_limits where key = ${key}`);
      // After the delete: a refusal counted before it and answered meanwhile is forgotten too.
      refused.delete(key);
    },
  };
}
