import { createTestDatabase, type TestDatabase } from '@plumb/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateLimiter } from '#src/auth/rate-limit.ts';
import { createDatabase, type Database } from '#src/database.ts';
import { ApiError } from '#src/errors.ts';

describe('rate limiter', () => {
  let database: TestDatabase;
  let db: Database;
  let statements = 0;
  /** The pool as the limiter sees it: every statement counted. */
  let counted: Database;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDatabase({ url: database.url, max: 10 });
    counted = {
      ...db,
      run: (work) => {
        statements++;
        return db.run(work);
      },
    };
  });
  afterAll(async () => {
    await db.end();
    await database.drop();
  });

  /** Fires `n` attempts against `key` at once; how many got through, how many got 429. */
  const burst = async (limiter: ReturnType<typeof rateLimiter>, key: string, n: number, max: number) => {
    const outcomes = await Promise.allSettled(Array.from({ length: n }, () => limiter.hit(key, max)));
    const refused = outcomes.filter(
      (outcome) =>
        outcome.status === 'rejected' && outcome.reason instanceof ApiError && outcome.reason.status === 429,
    );
    return { passed: outcomes.filter((o) => o.status === 'fulfilled').length, refused: refused.length };
  };

  it('counts a burst against one key exactly, in a few statements instead of one per attempt', async () => {
    statements = 0;
    const limiter = rateLimiter(counted, 60);
    expect(await burst(limiter, 'burst:a', 200, 30)).toEqual({ passed: 30, refused: 170 });
    const [row] = await db.sql<{ count: number }[]>`select count from rate_limits where key = 'burst:a'`;
    expect(row?.count).toBe(200);
    // The first attempt's statement, then one for all that arrived while it ran (the odd cleanup too).
    expect(statements).toBeLessThanOrEqual(4);
  });

  it('keeps counting across rounds, and the window starts again once it has passed', async () => {
    // No memory of refusals: every attempt is counted in the database.
    const limiter = rateLimiter(counted, 60, { rememberMs: 0 });
    expect(await burst(limiter, 'burst:b', 5, 8)).toEqual({ passed: 5, refused: 0 });
    expect(await burst(limiter, 'burst:b', 5, 8)).toEqual({ passed: 3, refused: 2 });
    // The window passes (moved back in the database).
    await db.sql`update rate_limits set window_start = now() - interval '61 seconds' where key = 'burst:b'`;
    expect(await burst(limiter, 'burst:b', 10, 8)).toEqual({ passed: 8, refused: 2 });
    const [row] = await db.sql<{ count: number }[]>`select count from rate_limits where key = 'burst:b'`;
    expect(row?.count).toBe(10);
  });

  it('a failed statement fails every attempt counted with it, and the next attempt counts again', async () => {
    let fail = true;
    const flaky: Database = {
      ...db,
      run: (work) => (fail ? Promise.reject(new Error('connection lost')) : db.run(work)),
    };
    const limiter = rateLimiter(flaky, 60);
    const outcomes = await Promise.allSettled(Array.from({ length: 3 }, () => limiter.hit('burst:c', 5)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    fail = false;
    expect(await burst(limiter, 'burst:c', 6, 5)).toEqual({ passed: 5, refused: 1 });
  });
});
