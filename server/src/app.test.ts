import { freePort } from '@plumb/db/embedded';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#src/app.ts';
import { createDatabase } from '#src/database.ts';
import { createLogger } from '#src/logger.ts';
import { createTestApp, PASSWORD, relaxedConfig, type TestApp } from '#src/testing.ts';

describe('the edge of the API', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ ...relaxedConfig, corsOrigins: ['https://partner.example'] });
  });
  afterAll(() => t.close());

  it('allows CORS with credentials only for the configured origins', async () => {
    const preflight = (origin: string) =>
      t.app.request('/api/notes', {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    const allowed = await preflight('https://partner.example');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://partner.example');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses unsafe requests from another origin (CSRF) and accepts same-origin and allowed ones', async () => {
    const user = t.client();
    await user.signup();
    const post = (headers: Record<string, string>) =>
      user.request('/api/notes', { method: 'POST', json: { title: 'csrf?', body: '' }, headers });
    const evil = await post({ origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(await evil.json()).toMatchObject({ error: { code: 'cross_origin_rejected' } });
    expect((await post({ 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post({ origin: 'http://localhost' })).status).toBe(201); // app.request's own origin
    expect((await post({ origin: 'https://partner.example' })).status).toBe(201);
    const list = (await (await user.request('/api/notes')).json()) as { items: unknown[] };
    expect(list.items).toHaveLength(2);
  });

  it('accepts a same-origin browser request behind a TLS proxy (TRUST_PROXY=0, scheme not compared)', async () => {
    const user = t.client();
    await user.signup();
    const viaProxy = await user.request('/api/notes', {
      method: 'POST',
      json: { title: 'behind TLS', body: '' },
      headers: { origin: 'https://localhost', 'x-forwarded-proto': 'https' },
    });
    expect(viaProxy.status).toBe(201);
    const fetchMetadata = await user.request('/api/notes', {
      method: 'POST',
      json: { title: 'fetch metadata', body: '' },
      headers: { origin: 'https://notes.example', 'sec-fetch-site': 'same-origin' },
    });
    expect(fetchMetadata.status).toBe(201);
    const sameSite = await user.request('/api/notes', {
      method: 'POST',
      json: { title: 'sibling site', body: '' },
      headers: { origin: 'https://other.localhost', 'sec-fetch-site': 'same-site' },
    });
    expect(sameSite.status).toBe(403);
  });

  it('answers 415 to a body that is not JSON', async () => {
    const response = await t.app.request('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `email=a%40b.c&password=${encodeURIComponent(PASSWORD)}`,
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: { code: 'unsupported_media_type' } });
  });

  it('checks bodies itself: invalid UTF-8 and malformed JSON get their own codes', async () => {
    const user = t.client();
    await user.signup();
    const bytes = await t.app.request('/api/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: user.cookie() ?? '' },
      body: Uint8Array.from([...Buffer.from('{"title":"'), 0xff, ...Buffer.from('","body":""}')]),
    });
    expect(bytes.status).toBe(400);
    expect(await bytes.json()).toMatchObject({ error: { code: 'invalid_encoding' } });
    const malformed = await t.app.request('/api/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: user.cookie() ?? '' },
      body: '{"title": ',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: 'malformed_json' } });
    const surrogate = await user.request('/api/notes', {
      method: 'POST',
      json: { title: '\ud800', body: '' },
    });
    expect(surrogate.status).toBe(400);
    expect(await surrogate.json()).toMatchObject({
      error: { fields: { title: expect.stringMatching(/Unicode/) } },
    });
  });

  it('names each bad field and refuses unknown ones', async () => {
    const response = await t.client().request('/api/auth/signup', {
      method: 'POST',
      json: { email: 'not-an-email', password: 'short', admin: true },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: 'invalid_request',
        message: 'The request is not valid.',
        fields: {
          email: 'must be an email address',
          password: 'must be at least 10 characters',
          admin: 'is not a known field',
        },
      },
    });
  });

  it('serves an OpenAPI 3.1 document of every route', async () => {
    const response = await t.app.request('/api/openapi.json');
    expect(response.status).toBe(200);
    const doc = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'POST /api/auth/signup',
        'POST /api/auth/login',
        'POST /api/auth/logout',
        'GET /api/auth/me',
        'POST /api/account/password',
        'POST /api/account/sign-out-everywhere',
        'GET /api/account/export',
        'DELETE /api/account',
        'GET /api/notes',
        'POST /api/notes',
        'GET /api/notes/{id}',
        'PATCH /api/notes/{id}',
        'DELETE /api/notes/{id}',
      ].sort(),
    );
  });

  it('counts requests by route and status in Prometheus format', async () => {
    const user = t.client();
    await user.signup();
    await user.request('/api/notes');
    await t.app.request('/no/such/path');
    const response = await t.app.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^http_requests_total\{method="GET",route="\/api\/notes",status="200"\} [1-9]/m);
    expect(text).toMatch(/^http_requests_total\{method="GET",route="unmatched",status="404"\} 1$/m);
    expect(text).toMatch(
      /^http_request_duration_seconds_bucket\{le="0\.1",method="GET",route="\/api\/notes",status="200"\}/m,
    );
    expect(text).toMatch(/^db_queries_in_flight 0$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });
});

describe('metrics access', () => {
  it('is 401 without the token and 404 when disabled', async () => {
    const token = 'a-long-enough-metrics-token';
    const protectedApp = await createTestApp({ ...relaxedConfig, metrics: { enabled: true, token } });
    try {
      expect((await protectedApp.app.request('/metrics')).status).toBe(401);
      expect(
        (await protectedApp.app.request('/metrics', { headers: { authorization: 'Bearer nope' } })).status,
      ).toBe(401);
      const ok = await protectedApp.app.request('/metrics', {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(ok.status).toBe(200);
    } finally {
      await protectedApp.close();
    }
    const disabled = await createTestApp({ ...relaxedConfig, metrics: { enabled: false } });
    try {
      expect((await disabled.app.request('/metrics')).status).toBe(404);
    } finally {
      await disabled.close();
    }
  });
});

describe('trusting proxies', () => {
  it('reads the client address from X-Forwarded-For only as far as TRUST_PROXY says', async () => {
    const t = await createTestApp({
      ...relaxedConfig,
      trustedProxies: 1,
      rateLimit: { windowSeconds: 60, ipMax: 2, accountMax: 100 },
    });
    try {
      const login = (xff: string) =>
        t.client().request('/api/auth/login', {
          method: 'POST',
          json: { email: 'x@example.test', password: PASSWORD },
          headers: { 'x-forwarded-for': xff },
        });
      // The proxy appends the real address; a client-supplied first entry is ignored.
      expect((await login('1.1.1.1, 203.0.113.9')).status).toBe(401);
      expect((await login('2.2.2.2, 203.0.113.9')).status).toBe(401);
      expect((await login('3.3.3.3, 203.0.113.9')).status).toBe(429);
      expect((await login('203.0.113.10')).status).toBe(401);
    } finally {
      await t.close();
    }
  });

  it('marks the session cookie Secure when a trusted proxy says the request was https', async () => {
    const t = await createTestApp({ ...relaxedConfig, trustedProxies: 1 });
    try {
      const response = await t.client().request('/api/auth/signup', {
        method: 'POST',
        json: { email: `secure-${Date.now()}@example.test`, password: PASSWORD },
        headers: { 'x-forwarded-proto': 'https' },
      });
      expect(response.headers.get('set-cookie')).toMatch(/; Secure/);
    } finally {
      await t.close();
    }
  });
});

describe('a database that cannot be reached', () => {
  it('answers 503 JSON with Retry-After quickly, not a hang or a 500', async () => {
    const db = createDatabase({
      url: `postgres://x:y@127.0.0.1:${await freePort()}/none`,
      connectTimeoutSeconds: 1,
    });
    const app = createApp({
      db,
      logger: createLogger('silent'),
      info: { name: 'plumb', version: 'test', gitSha: null },
      knownMigrations: [],
    });
    const started = performance.now();
    const response = await app.request('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'a@example.test', password: PASSWORD }),
    });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.json()).toEqual({
      error: { code: 'database_unavailable', message: 'The service is briefly unavailable; try again.' },
    });
    await db.end();
  });
});
