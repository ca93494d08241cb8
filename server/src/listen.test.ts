import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { freePort } from '@plumb/db/embedded';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPortFree, LISTEN_SOCKETS, listen } from '#src/listen.ts';

const HOST = '127.0.0.1';
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((listening) => listening.close()));
});

/** One request on a connection of its own: the status, or the error code. */
function statusOnNewConnection(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    let answer = '';
    socket.on('connect', () => socket.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('end', () => resolve(answer.split(' ')[1] ?? 'no answer'));
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** A server whose answers wait until `release()`; `arrived` counts the requests it has. */
function heldServer() {
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const held = { arrived: 0, release, server: undefined as unknown as Server };
  held.server = createServer((_request, response) => {
    held.arrived++;
    void released.then(() => response.end('ok'));
  });
  return held;
}

describe('listen', () => {
  it(`serves through ${LISTEN_SOCKETS} sockets and, closed, takes no new connection but answers every one it took`, async () => {
    const port = await freePort();
    const held = heldServer();
    const listening = await listen(held.server, { port, host: HOST });
    expect(listening).toMatchObject({ port, sockets: process.platform === 'linux' ? LISTEN_SOCKETS : 1 });
    // 64 connections: the kernel spreads them over the sockets, so most arrive through the extra ones.
    const answers = Array.from({ length: 64 }, () => statusOnNewConnection(port));
    while (held.arrived < 64) await new Promise((resolve) => setTimeout(resolve, 5));
    let closed = false;
    const closing = listening.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await statusOnNewConnection(port)).toBe('ECONNREFUSED');
    expect(closed).toBe(false); // 64 requests are still being answered
    held.release();
    expect(await Promise.all(answers)).toEqual(Array(64).fill('200'));
    await closing;
  });

  it('checkPortFree refuses a port a listen() of another server holds, and lets a free one be', async () => {
    const port = await freePort();
    await checkPortFree(port, HOST);
    const listening = await listen(heldServer().server, { port, host: HOST });
    open.push(listening);
    await expect(checkPortFree(port, HOST)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
