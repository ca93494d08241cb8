/**
 * @module Listening. libuv accepts one connection per listening socket per turn of the event loop,
 * and a turn of a saturated worker reads every socket that has a request waiting: on this 2-core
 * machine, 60–100 ms. A worker with one socket then took in 10–20 new connections a second while
 * it answered thousands of requests on the ones it had, and new ones waited for seconds, past a
 * client's 10 s timeout in the fault suite's overload (Node's cluster hands connections to a worker
 * one per turn of it as well). So on Linux each process listens on {@link LISTEN_SOCKETS} sockets
 * with SO_REUSEPORT: the kernel spreads new connections over all of them, each takes in one a
 * turn, and no primary is on their way. ADR 020 has the figures and what this costs.
 *
 * SO_REUSEPORT would also let a second server with the option share the port without a word, so
 * the process that starts the workers first binds the port alone for a moment
 * ({@link checkPortFree}).
 */
import type { Server as HttpServer } from 'node:http';
import { createServer, Server } from 'node:net';

/** Listening sockets in each process where the kernel spreads connections over them (Linux). */
export const LISTEN_SOCKETS = 16;

/**
 * Whether connections can be spread over sockets sharing a port: Linux's SO_REUSEPORT, which Node
 * sets from 22.12 and 23.1 (an older Node ignores `reusePort`, and a second socket would find the
 * port taken).
 */
const SPREADS_CONNECTIONS = (() => {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const nodeSetsIt = major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
  return process.platform === 'linux' && nodeSetsIt;
})();

export interface Listening {
  /** The port listened on. */
  port: number;
  /** How many sockets listen. */
  sockets: number;
  /**
   * Stops accepting connections and closes the idle ones; resolves once every connection accepted
   * so far has closed. Unlike `server.close()`, Node's timeouts for requests still arriving
   * (`headersTimeout`, `requestTimeout`) go on being checked meanwhile. A connection that turns idle
   * later is left to the caller (`server.closeIdleConnections()`) or to `keepAliveTimeout`.
   */
  close(): Promise<void>;
}

/** Binds `host:port` with `options`; rejects with the bind error (EADDRINUSE and the like). */
function bind(
  server: Server,
  options: { port: number; host: string; exclusive?: boolean; reusePort?: boolean },
) {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** What a failure to listen on `port` means, in a line for the operator. */
export function listenFailure(error: unknown, port: number): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code === 'EADDRINUSE' ? `port ${port} is already in use` : `cannot listen: ${message}`;
}

/** What `net.Server` keeps of its options and gives each connection it accepts (not in its types). */
interface NetSocketSettings {
  allowHalfOpen: boolean;
  noDelay: boolean;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
  highWaterMark: number;
}

/**
 * Stops accepting; resolves once every connection accepted has closed. `net.Server`'s close, the
 * HTTP server's too: `http.Server#close` also stops Node's checks of `headersTimeout` and
 * `requestTimeout`, and a connection whose request never ends would then hold a drain until
 * SHUTDOWN_TIMEOUT_MS (it is not idle, so `closeIdleConnections` leaves it).
 */
const closed = (server: Server) =>
  new Promise<void>((resolve) => Server.prototype.close.call(server, () => resolve()));

/**
 * Binds `host:port` without SO_REUSEPORT and lets go of it: rejects with EADDRINUSE when anything
 * listens there, a server sharing the port included. Run once, before the workers listen (they
 * share the port, so each of them would find it taken).
 */
export async function checkPortFree(port: number, host: string): Promise<void> {
  const probe = createServer();
  await bind(probe, { port, host, exclusive: true });
  await closed(probe);
}

/**
 * Makes `server` accept connections on `host:port`: on Linux through `sockets` SO_REUSEPORT
 * sockets of this process's own (in a cluster worker too: not through the primary), elsewhere as
 * `server.listen` does. Rejects with the bind error; a later error of any of the sockets (accepting
 * when out of file descriptors, say) is emitted on `server`.
 */
export async function listen(
  server: HttpServer,
  options: { port: number; host: string; sockets?: number },
): Promise<Listening> {
  const { port, host } = options;
  /** Listening through `sockets`; closing resolves when the connections each accepted have closed. */
  const listeningOn = (sockets: Server[]): Listening => ({
    port,
    sockets: sockets.length,
    close: async () => {
      const all = Promise.all(sockets.map(closed));
      server.closeIdleConnections();
      await all;
    },
  });
  if (!SPREADS_CONNECTIONS) {
    await bind(server, { port, host });
    return listeningOn([server]);
  }
  const shared = { port, host, exclusive: true, reusePort: true };
  // The server itself listens on the first (so that it is `listening`, with its timeouts checked);
  // the others hand it what they accept, set up as its own connections are (Nagle off, half-open
  // allowed: `http.Server`'s settings, not `net.Server`'s defaults). Each bind's callback comes on
  // the next tick, so all of them finish within one turn of the event loop: nothing is accepted
  // before the caller goes on.
  await bind(server, shared);
  const settings = server as HttpServer & NetSocketSettings;
  const socketOptions = {
    allowHalfOpen: settings.allowHalfOpen,
    noDelay: settings.noDelay,
    keepAlive: settings.keepAlive,
    keepAliveInitialDelay: settings.keepAliveInitialDelay * 1000, // kept in seconds, given in ms
    highWaterMark: settings.highWaterMark,
  };
  const extra: Server[] = [];
  try {
    for (let i = 1; i < (options.sockets ?? LISTEN_SOCKETS); i++) {
      const socket = createServer(socketOptions, (connection) => server.emit('connection', connection));
      await bind(socket, shared);
      socket.on('error', (error) => server.emit('error', error));
      extra.push(socket);
    }
  } catch (error) {
    // Not listening after all: what the bound sockets accepted meanwhile goes too.
    server.closeAllConnections();
    await Promise.all([server, ...extra].map(closed));
    throw error;
  }
  return listeningOn([server, ...extra]);
}
