import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { freePort } from '@plumb/db/embedded';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPortFree, LISTEN_SOCKETS, type Listening, listen } from '#src/listen.ts';

const HOST = '127.0.0.1';
const SPREADS = process.platform === 'linux';
const open: { server: Server; listening: Listening }[] = [];
afterEach(async () => {
  // Whatever a failed test left owed is cut, so that closing does not wait for it.
  for (const { server } of open) server.closeAllConnections();
  await Promise.all(open.splice(0).map(({ listening }) => listening.close()));
});

async function listening(server: Server, port?: number) {
  const result = await listen(server, { port: port ?? (await freePort()), host: HOST });
  open.push({ server, listening: result });
  return result;
}

/** A connection that sends `requests` GETs one after another; resolves to their statuses, or the error code. */
function connection(port: number, requests = 1): { socket: Socket; statuses: Promise<string[]> } {
  const socket = connect({ host: HOST, port });
  const statuses = new Promise<string[]>((resolve) => {
    const got: string[] = [];
    socket.on('connect', () => socket.write(`GET / HTTP/1.1\r\nHost: x\r\n\r\n`));
    socket.on('data', (chunk) => {
      got.push(...[...String(chunk).matchAll(/HTTP\/1\.1 (\d+)/g)].map((match) => match[1] ?? ''));
      if (got.length < requests) socket.write(`GET / HTTP/1.1\r\nHost: x\r\n\r\n`);
      if (got.length === requests) resolve(got);
    });
    socket.on('close', () => resolve(got));
    socket.on('error', (error: NodeJS.ErrnoException) => resolve([error.code ?? error.message]));
  });
  return { socket, statuses };
}

/** A server that holds every answer until told; what it holds, by whether the server's own socket accepted it. */
function heldServer() {
  const held: { request: IncomingMessage; answer: () => void }[] = [];
  const server = createServer((request, response) => {
    held.push({ request, answer: () => response.end('ok') });
  });
  // `_server`: the listening socket that accepted it (`server` is the HTTP server for all of them).
  const own = (entry: { request: IncomingMessage }) =>
    (entry.request.socket as Socket & { _server?: unknown })._server === server;
  return { server, held, own };
}

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('listen', () => {
  it(`serves through ${LISTEN_SOCKETS} sockets, each connection set up as the HTTP server's own`, async () => {
    const { server, held, own } = heldServer();
    const { port, sockets } = await listening(server);
    expect(sockets).toBe(SPREADS ? LISTEN_SOCKETS : 1);
    // 64 connections: the kernel spreads them over the sockets, so most arrive through the others.
    const clients = Array.from({ length: 64 }, () => connection(port));
    await until(() => held.length === 64);
    if (SPREADS) expect(held.filter((entry) => !own(entry)).length).toBeGreaterThan(0);
    // http.Server's settings, not net.Server's defaults (half-open refused, Nagle on).
    for (const { request } of held) expect(request.socket.allowHalfOpen).toBe(true);
    for (const entry of held) entry.answer();
    expect(await Promise.all(clients.map((client) => client.statuses))).toEqual(Array(64).fill(['200']));
  });

  it('closed, takes no new connection, waits for the answers it owes on every socket, and closes idle connections', async () => {
    const { server, held, own } = heldServer();
    // Longer than the test: an idle connection can only close because close() closed it.
    server.keepAliveTimeout = 60_000;
    const listener = await listening(server);
    // Kept-alive connections, idle once answered.
    const idle = Array.from({ length: 16 }, () => connection(listener.port));
    await until(() => held.length === 16);
    for (const entry of held.splice(0)) entry.answer();
    await Promise.all(idle.map((client) => client.statuses));
    // And connections with an answer still owed.
    const busy = Array.from({ length: 64 }, () => connection(listener.port));
    await until(() => held.length === 64);
    let closed = false;
    const closing = listener.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await connection(listener.port).statuses).toEqual(['ECONNREFUSED']);
    // The idle ones are closed at once.
    await Promise.all(
      idle.map(({ socket }) => (socket.closed ? null : new Promise((r) => socket.once('close', r)))),
    );
    // Answered on the HTTP server's own socket first: the others' connections still hold the close.
    for (const entry of held.filter(own)) entry.answer();
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (SPREADS) expect(closed).toBe(false);
    for (const entry of held.filter((entry) => !own(entry))) entry.answer();
    expect(await Promise.all(busy.map((client) => client.statuses))).toEqual(Array(64).fill(['200']));
    // Answered, they are idle: closed as the worker's drain closes them (else after keepAliveTimeout).
    server.closeIdleConnections();
    await closing;
  });

  it('checkPortFree refuses a port a listen() of another server holds, and lets a free one be', async () => {
    const port = await freePort();
    await checkPortFree(port, HOST);
    await listening(heldServer().server, port);
    await expect(checkPortFree(port, HOST)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
