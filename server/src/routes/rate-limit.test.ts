import type { Context } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAppConfig } from '#src/app.ts';
import { admission } from '#src/middleware/admission/index.ts';
import { createTestApp, PASSWORD, type TestApp } from '#src/testing.ts';

describe('rate limits on sign-in and sign-up', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The defaults: 10 failed sign-ins per account and 30 attempts per IP, per 60 s.
    t = await createTestApp(defaultAppConfig);
  });
  afterAll(() => t.close());

  it('the 11th failed sign-in to one account within a minute gets 429 with Retry-After, even with the right password', async () => {
    const account = await t.client().signup();
    const attempt = (password: string, ip: string) =>
      t.client().request('/api/auth/login', {
        method: 'POST',
        json: { email: account.email, password },
        headers: { 'x-forwarded-for': ip },
      });
    for (let i = 1; i <= 10; i++) expect((await attempt('wrong password!', `10.0.0.${i}`)).status).toBe(401);
    const limited = await attempt(PASSWORD, '10.0.1.1');
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await limited.json()).toMatchObject({ error: { code: 'rate_limited' } });

    // The window passes (moved back in the database, where every worker reads it): once this worker's
    // memory of the refusal (1 s) is over too, sign-in works again.
    await t.db.sql`update rate_limits set window_start = now() - interval '61 seconds'`;
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await attempt(PASSWORD, '10.0.2.1')).status).toBe(200);
  });

  it('a successful sign-in clears the account counter', async () => {
    const account = await t.client().signup();
    const attempt = (password: string) =>
      t.client().request('/api/auth/login', { method: 'POST', json: { email: account.email, password } });
    for (let i = 0; i < 9; i++) expect((await attempt('wrong password!')).status).toBe(401);
    expect((await attempt(PASSWORD)).status).toBe(200);
    for (let i = 0; i < 9; i++) expect((await attempt('wrong password!')).status).toBe(401);
    expect((await attempt(PASSWORD)).status).toBe(200);
  });

  it('limits sign-up probes of one email: the 11th attempt gets 429', async () => {
    await t.db.sql`delete from rate_limits`;
    const email = `probed-${Date.now()}@example.test`;
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const response = await t
        .client()
        .request('/api/auth/signup', { method: 'POST', json: { email, password: PASSWORD } });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([201, ...Array(9).fill(409), 429]);
  });

  it('limits one client address across accounts, and sign-up counts too', async () => {
    await t.db.sql`delete from rate_limits`;
    // Without TRUST_PROXY, X-Forwarded-For is ignored: every request here has the same address.
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) {
      const response = await t.client().request('/api/auth/signup', {
        method: 'POST',
        json: { email: `flood-${i}-${Date.now()}@example.test`, password: PASSWORD },
        headers: { 'x-forwarded-for': `192.0.2.${i}` },
      });
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 30).every((status) => status === 201)).toBe(true);
    expect(statuses[30]).toBe(429);
  });

  it('refuses a burst of 300 sign-ins from memory: 10 × 401, the rest 429, and few reach the database', async () => {
    // The test before left this address refused; its memory in this worker lasts 1 s.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await t.db.sql`delete from rate_limits`;
    const account = await t.client().signup();
    await t.db.sql`delete from rate_limits`;
    const statuses = await Promise.all(
      Array.from({ length: 300 }, async () => {
        const response = await t.client().request('/api/auth/login', {
          method: 'POST',
          json: { email: account.email, password: 'wrong password!' },
        });
        if (response.status === 429)
          expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        return response.status;
      }),
    );
    expect(statuses.filter((status) => status === 401)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(290);
    // Each attempt that reached the database counted once against the address.
    const [address] = await t.db.sql<
      { count: number }[]
    >`select count from rate_limits where key like 'auth:ip:%'`;
    // At most the requests running at once when the first refusal came (admission lets 40 run).
    expect(address?.count, 'attempts that reached the database').toBeLessThanOrEqual(
      defaultAppConfig.admission.maxConcurrent,
    );
  });
});

describe('a flood of sign-ins from one address', () => {
  it('is refused from memory without a place in the admission queue: 429 while the only slot is taken, another address gets the 503 of the queue', async () => {
    const config = {
      ...defaultAppConfig,
      trustedProxies: 1,
      rateLimit: { ...defaultAppConfig.rateLimit, ipMax: 3 },
    };
    // One request at a time and no queue: whoever finds the slot taken gets 503.
    const gate = admission({ maxConcurrent: 1, maxQueued: 0, queueTimeoutMs: 1_000 });
    const t = await createTestApp(config, undefined, { admission: gate });
    try {
      const attempt = (ip: string) =>
        t.client().request('/api/auth/login', {
          method: 'POST',
          json: { email: 'nobody@example.test', password: 'wrong password!' },
          headers: { 'x-forwarded-for': ip },
        });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await attempt('10.9.0.1')).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      // The slot is taken by a request that does not finish.
      void gate.middleware({} as Context, () => new Promise<void>(() => {}));
      const limited = await attempt('10.9.0.1');
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(gate.stats()).toMatchObject({ running: 1, queued: 0, rejected: 0 });
      // Another address is not remembered: it waits for the queue like any request, and is refused.
      expect((await attempt('10.9.0.2')).status).toBe(503);
    } finally {
      await t.close();
    }
  });
});
