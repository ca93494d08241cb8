import { createServer, get as httpGet, type IncomingMessage } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientIp, isHttps, requestHost } from '#src/auth/client-ip.ts';
import { createLogger } from '#src/logger.ts';
import { edge, edgeResponse, MAX_REQUEST_ID_LENGTH, SECURITY_HEADERS } from '#src/middleware/edge/index.ts';
import {
  createTestApp,
  httpClient,
  type Listening,
  listenOnLoopback,
  memoryLogger,
  relaxedConfig,
  type TestApp,
} from '#src/testing.ts';

/** A GET on a kept-alive connection, read to its end (fetch does not show the Connection header). */
function keptAliveGet(url: string, headers: Record<string, string> = {}) {
  return new Promise<IncomingMessage>((resolve, reject) => {
    httpGet(url, { headers: { connection: 'keep-alive', ...headers } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response));
    }).on('error', reject);
  });
}

describe('the edge of the server (the real app over HTTP)', () => {
  let t: TestApp;
  let base: string;
  const { logger, lines } = memoryLogger();
  beforeAll(async () => {
    t = await createTestApp(relaxedConfig, undefined, { logger });
    base = await t.serve();
  });
  afterAll(() => t.close());

  it('sends the security headers and no-store on every answer: API, health check, HEAD, 401 and 404', async () => {
    const answers = [
      ['GET', '/api/info'],
      ['HEAD', '/api/info'],
      // The API under another spelling of its path: Hono routes it, and it is per account too.
      ['GET', '/%61pi/info'],
      ['GET', '/healthz'],
      ['GET', '/api/notes'],
      ['GET', '/no/such/path'],
    ];
    for (const [method, path] of answers) {
      const response = await fetch(`${base}${path}`, { method });
      expect([200, 401, 404]).toContain(response.status);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
        expect(response.headers.get(name), `${name} on ${method} ${path}`).toBe(value);
      }
      expect(response.headers.get('cache-control'), `${method} ${path}`).toBe('no-store');
    }
    expect((await fetch(`${base}/%61pi/info`)).status).toBe(200);
    const info = await fetch(`${base}/api/info`);
    expect(info.headers.get('x-content-type-options')).toBe('nosniff');
    expect(info.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
  });

  it('echoes a sane X-Request-Id, makes one up otherwise, and logs the request under it', async () => {
    const idOf = async (given?: string) =>
      (
        await fetch(`${base}/api/info`, given === undefined ? {} : { headers: { 'x-request-id': given } })
      ).headers.get('x-request-id');
    expect(await idOf('trace-123')).toBe('trace-123');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(await idOf()).toMatch(uuid);
    expect(await idOf('<script>')).toMatch(uuid);
    expect(await idOf('x'.repeat(MAX_REQUEST_ID_LENGTH + 1))).toMatch(uuid);
    expect(await idOf('x'.repeat(MAX_REQUEST_ID_LENGTH))).toBe('x'.repeat(MAX_REQUEST_ID_LENGTH));

    const made = await idOf();
    const line = lines.find((entry) => entry.msg === 'request' && entry.requestId === made);
    expect(line).toMatchObject({ method: 'GET', path: '/api/info', status: 200 });
  });

  it('keeps per-account answers out of shared caches unless a route says otherwise', async () => {
    const user = httpClient(base);
    await user.signup();
    const created = await user.request('/api/notes', {
      method: 'POST',
      json: { title: 'cached?', body: '' },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect((await user.request('/api/auth/me')).headers.get('cache-control')).toBe('no-store');
    expect((await user.request('/api/notes')).headers.get('cache-control')).toBe('no-store');
    // The note itself may be kept by the browser and revalidated with its ETag.
    const note = await user.request(`/api/notes/${id}`);
    expect(note.headers.get('etag')).toBe('"1"');
    expect(note.headers.get('cache-control')).toBe('private, no-cache');
  });
});

describe('the edge of the server (a small app)', () => {
  let served: Listening;
  let draining = false;
  const { logger, lines } = memoryLogger();
  let base: string;
  let release = () => {};
  let arrived = () => {};
  beforeAll(async () => {
    const app = new Hono();
    app.get('/api/cached', (c) => c.json({ ok: true }, 200, { 'Cache-Control': 'max-age=60' }));
    app.get('/hello', (c) => c.text('hello'));
    // A route that asks for keep-alive itself: while draining, the server's close wins.
    app.get('/keep', (c) => c.text('keep', 200, { Connection: 'keep-alive', 'X-Kept': 'yes' }));
    app.get('/slow', async (c) => {
      arrived();
      await new Promise<void>((resolve) => (release = resolve));
      return c.text('slow');
    });
    const server = createServer(
      { ServerResponse: edgeResponse(() => draining) },
      edge({ logger, trustedProxies: 0 })(getRequestListener(app.fetch)),
    );
    served = await listenOnLoopback(server);
    base = served.base;
  });
  afterAll(() => served.close());

  const connectionHeader = async (path: string, headers: Record<string, string> = {}) =>
    (await keptAliveGet(`${base}${path}`, headers)).headers.connection;

  it("lets a route's own Cache-Control win over the edge's no-store", async () => {
    const response = await fetch(`${base}/api/cached`);
    expect(response.headers.get('cache-control')).toBe('max-age=60');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });

  it('closes each connection after its answer while draining, and only then, even when the answer asks for keep-alive', async () => {
    for (const path of ['/hello', '/keep']) {
      expect(await connectionHeader(path), path).toBe('keep-alive');
      draining = true;
      try {
        expect(await connectionHeader(path), path).toBe('close');
      } finally {
        draining = false;
      }
    }
  });

  it('closes the connection of a request that was running when draining began', async () => {
    const running = new Promise<void>((resolve) => (arrived = resolve));
    const answer = connectionHeader('/slow');
    await running;
    draining = true;
    try {
      release();
      expect(await answer).toBe('close');
    } finally {
      draining = false;
    }
  });

  it('warns once when requests come through a proxy and TRUST_PROXY is 0', async () => {
    const warnings = () => lines.filter((line) => String(line.msg).includes('X-Forwarded-For'));
    expect(warnings()).toHaveLength(0);
    await connectionHeader('/hello', { 'x-forwarded-for': '203.0.113.7' });
    await connectionHeader('/hello', { 'x-forwarded-for': '203.0.113.8' });
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ level: 'warn' });
  });
});

describe("the edge's response class", () => {
  it("adds the edge's headers to every form of head once, unless the answer or a setHeader gives them", async () => {
    const server = createServer(
      { ServerResponse: edgeResponse(() => false) },
      edge({ logger: createLogger('silent'), trustedProxies: 0 })((request, response) => {
        if (request.url === '/set') {
          response.setHeader('Cache-Control', 'max-age=5');
          response.writeHead(200, { 'x-request-id': 'own' });
        } else if (request.url === '/pairs') {
          response.writeHead(200, [['CACHE-CONTROL', 'private'] as unknown as string]);
        } else if (request.url === '/implicit') {
          response.statusCode = 404;
        } else response.writeHead(200, ['X-Form', 'flat']);
        response.end('ok');
      }),
    );
    const { base, close } = await listenOnLoopback(server);
    const head = async (path: string) => (await keptAliveGet(`${base}${path}`)).rawHeaders;
    const countOf = (raw: string[], name: string) =>
      raw.filter((value, i) => i % 2 === 0 && value.toLowerCase() === name).length;
    try {
      for (const [path, cacheControl, requestId] of [
        ['/set', 'max-age=5', 'own'],
        ['/pairs', 'private', undefined],
        ['/implicit', 'no-store', undefined],
        ['/flat', 'no-store', undefined],
      ] as const) {
        const raw = await head(path);
        const headers = Object.fromEntries(
          raw.flatMap((value, i) => (i % 2 === 0 ? [[value.toLowerCase(), raw[i + 1]]] : [])),
        );
        expect(headers['cache-control'], path).toBe(cacheControl);
        if (requestId) expect(headers['x-request-id'], path).toBe(requestId);
        else expect(headers['x-request-id'], path).toMatch(/^[0-9a-f-]{36}$/);
        for (const [name, value] of Object.entries(SECURITY_HEADERS))
          expect(headers[name.toLowerCase()], `${path} ${name}`).toBe(value);
        for (const name of ['cache-control', 'x-request-id', 'x-frame-options'])
          expect(countOf(raw, name), `${path} ${name}`).toBe(1);
      }
    } finally {
      await close();
    }
  });

  it("passes on every form of writeHead's arguments", async () => {
    const server = createServer({ ServerResponse: edgeResponse(() => true) }, (request, response) => {
      if (request.url === '/reason') response.writeHead(200, 'Fine', { 'X-Form': 'reason' });
      else if (request.url === '/array')
        response.writeHead(200, ['X-Form', 'array', 'Connection', 'keep-alive']);
      else response.writeHead(200, undefined, { 'X-Form': 'no reason' });
      response.end('ok');
    });
    const { base, close } = await listenOnLoopback(server);
    const head = async (path: string) => {
      const response = await keptAliveGet(`${base}${path}`);
      return {
        status: `${response.statusCode} ${response.statusMessage}`,
        form: response.headers['x-form'],
        connection: response.headers.connection,
      };
    };
    try {
      expect(await head('/reason')).toEqual({ status: '200 Fine', form: 'reason', connection: 'close' });
      expect(await head('/array')).toEqual({ status: '200 OK', form: 'array', connection: 'close' });
      expect(await head('/none')).toEqual({ status: '200 OK', form: 'no reason', connection: 'close' });
    } finally {
      await close();
    }
  });
});

describe('PROXY_SECRET: forwarded headers count only on requests that came through the proxy', () => {
  const secret = 'sixteen-or-more+secret=';
  const told = memoryLogger();
  let served: Listening;
  beforeAll(async () => {
    const app = new Hono();
    app.get('/who', (c) => c.json({ ip: clientIp(c, 2), https: isHttps(c, 2), host: requestHost(c, 2) }));
    const listener = edge({ logger: told.logger, trustedProxies: 2, proxySecret: secret });
    served = await listenOnLoopback(createServer(listener(getRequestListener(app.fetch))));
  });
  afterAll(() => served.close());

  const forwarded = {
    'x-forwarded-for': '9.9.9.9, 203.0.113.7, 10.0.0.2',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'notes.example',
  };
  const who = async (headers: Record<string, string>) =>
    (await fetch(`${served.base}/who`, { headers: { ...forwarded, ...headers } })).json();

  it('believes them, as deep as TRUST_PROXY says, on a request carrying the secret', async () => {
    expect(await who({ 'x-plumb-proxy': secret })).toEqual({
      ip: '203.0.113.7',
      https: true,
      host: 'notes.example',
    });
  });

  it('not on one without it or with another value: that caller wrote them itself', async () => {
    const own = { ip: expect.stringMatching(/127\.0\.0\.1$/), https: false, host: new URL(served.base).host };
    expect(await who({})).toEqual(own);
    expect(await who({ 'x-plumb-proxy': `${secret}x` })).toEqual(own);
    expect(await who({ 'x-plumb-proxy': secret.replace('s', 'S') })).toEqual(own);
    // A wrong value is said once (a proxy with another secret counts every request so); none is not.
    expect(told.lines.filter((line) => String(line['msg']).includes('X-Plumb-Proxy'))).toHaveLength(1);
  });
});
