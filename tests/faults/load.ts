/**
 * @module A load generator in a process of its own (so that its event loop is not the server's
 * measurement): note lists and note creations for the given accounts, either `closed` (a fixed
 * number of requests in flight, to find the sustainable rate) or `open` (a fixed arrival rate
 * whatever the answers, as a crowd of users behaves: latency is counted from the moment a request
 * was due, so a slow answer cannot hide the requests it held back). Loopback only; stops by
 * itself after `seconds` plus `timeoutMs`. It speaks HTTP/1.1 over its own keep-alive sockets (one
 * request at a time on each, as browsers and proxies do) rather than through `node:http`, which
 * cost the generator half a core at 3,000 requests a second on this 2-core machine.
 *
 * Usage: node tests/faults/load.ts '<LoadPlan as JSON>' — prints a LoadReport as JSON on stdout.
 */
import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoadPlan {
  base: string;
  accounts: { cookie: string; email: string }[];
  mode: 'closed' | 'open';
  /**
   * One after another: closed, `level` requests in flight; open, `level` requests per second.
   * Each sample says which phase it was due in.
   */
  phases: { level: number; seconds: number }[];
  /** Share of requests that create a note. */
  writeShare: number;
  /** A request with no answer after this long counts as unanswered (status 0). */
  timeoutMs: number;
  /** Unique per run: note titles start with it. */
  tag: string;
  /**
   * Keep-alive connections opened before the load starts, as a proxy in front of the server or a
   * crowd of returning users holds them; more are opened only when all are busy. @default 0
   */
  connections?: number;
}

/**
 * One request: when it was due (ms since the start), how long its answer took, what it was, and
 * the phase it was due in.
 */
export type Sample = [dueMs: number, ms: number, status: number, retryAfter: 0 | 1, phase: number];

export interface LoadReport {
  samples: Sample[];
  /** When the load began (epoch ms, after the connections were opened). */
  startedAt: number;
  /** The generator's own event-loop delay and CPU time while it ran: if high, its figures are its own. */
  self: { lagP99Ms: number; lagMaxMs: number; cpuShare: number };
  /** Why requests got no answer: error code (or "timeout") → count. */
  unanswered: Record<string, number>;
  writes: { account: string; title: string; body: string; id?: string; acknowledged: boolean }[];
}

/** A finished response: its status, whether it had Retry-After, and its body. */
type Answer = { status: number; retryAfter: boolean; body: string };
type Job = {
  head: string;
  body: string;
  settle: (answer: Answer | Error) => void;
  /** The connection carrying it, once sent. */
  connection?: Connection;
  /** Timed out before it could be sent: skip it. */
  abandoned?: boolean;
};

/** A keep-alive HTTP/1.1 connection that runs one request at a time. */
class Connection {
  readonly socket: Socket;
  job: Job | undefined;
  closed = false;
  /** Opened after the load started (its pool was busy), not beforehand. */
  openedUnderLoad = false;
  private buffer: Buffer = Buffer.alloc(0);

  constructor(host: string, port: number, onIdle: (connection: Connection) => void) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      const answer = this.parse();
      if (!answer || !this.job) return;
      const job = this.job;
      this.job = undefined;
      job.settle(answer);
      if (!this.closed) onIdle(this);
    });
    const fail = (error: Error) => {
      this.closed = true;
      const job = this.job;
      this.job = undefined;
      job?.settle(error);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(Object.assign(new Error('closed'), { code: 'ECONNRESET' })));
  }

  send(job: Job) {
    this.job = job;
    job.connection = this;
    this.socket.write(job.head + job.body);
  }

  /** A whole response from the buffer (Content-Length or chunked), or undefined for not yet. */
  private parse(): Answer | undefined {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end === -1) return undefined;
    const lines = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(lines[0]?.split(' ')[1] ?? 0);
    const headers = new Map(
      lines.slice(1).map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
      }),
    );
    let at = end + 4;
    let body: Buffer;
    if (headers.get('transfer-encoding')?.includes('chunked')) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = this.buffer.indexOf('\r\n', at);
        if (lineEnd === -1) return undefined;
        const size = Number.parseInt(this.buffer.subarray(at, lineEnd).toString('latin1'), 16);
        if (Number.isNaN(size)) {
          this.socket.destroy(new Error('malformed chunked body'));
          return undefined;
        }
        if (this.buffer.length < lineEnd + 2 + size + 2) return undefined;
        if (size === 0) {
          at = lineEnd + 4;
          break;
        }
        parts.push(this.buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      const length = Number(headers.get('content-length') ?? 0);
      if (this.buffer.length < at + length) return undefined;
      body = this.buffer.subarray(at, at + length);
      at += length;
    }
    this.buffer = this.buffer.subarray(at);
    if (headers.get('connection') === 'close') this.closed = true;
    return { status, retryAfter: headers.has('retry-after'), body: body.toString() };
  }
}

export async function generate(plan: LoadPlan): Promise<LoadReport> {
  const target = new URL(plan.base);
  const host = target.hostname;
  const port = Number(target.port);
  const samples: Sample[] = [];
  const writes: LoadReport['writes'] = [];
  const idle: Connection[] = [];
  const waiting: Job[] = [];
  let open = 0;
  const MAX_CONNECTIONS = 4096;
  const nextWaiting = () => {
    let next = waiting.shift();
    while (next?.abandoned) next = waiting.shift();
    return next;
  };
  const onIdle = (connection: Connection) => {
    const next = nextWaiting();
    if (next) connection.send(next);
    else idle.push(connection);
  };
  let loading = false;
  const connectionFor = (job: Job) => {
    open++;
    const connection = new Connection(host, port, onIdle);
    connection.openedUnderLoad = loading;
    connection.socket.on('close', () => {
      open--;
      // A job waiting for a connection gets this one's place.
      const next = nextWaiting();
      if (next) connectionFor(next);
    });
    connection.send(job);
  };
  const dispatch = (job: Job) => {
    let connection = idle.pop();
    while (connection?.closed) connection = idle.pop();
    if (connection) connection.send(job);
    else if (open < MAX_CONNECTIONS) connectionFor(job);
    else waiting.push(job);
  };

  // Open the connections first (each answers one /healthz), then keep them idle until the start.
  await Promise.all(
    Array.from(
      { length: plan.connections ?? 0 },
      () =>
        new Promise<void>((done) =>
          connectionFor({
            head: `GET /healthz HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`,
            body: '',
            settle: () => done(),
          }),
        ),
    ),
  );
  const start = performance.now();
  loading = true;
  const startedAt = performance.timeOrigin + start;
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const cpuBefore = process.cpuUsage();
  let sequence = 0;
  const unanswered: Record<string, number> = {};

  const send = (due: number, phase: number) =>
    new Promise<void>((done) => {
      const n = sequence++;
      const account = plan.accounts[n % plan.accounts.length];
      if (!account) throw new Error('no accounts');
      const write = (n * 7919) % 100 < plan.writeShare * 100;
      const record: LoadReport['writes'][number] | undefined = write
        ? { account: account.email, title: `${plan.tag}-${n}`, body: `overload ${n} ✓`, acknowledged: false }
        : undefined;
      if (record) writes.push(record);
      const body = record ? JSON.stringify({ title: record.title, body: record.body }) : '';
      const head =
        `${record ? 'POST /api/notes' : 'GET /api/notes?limit=20'} HTTP/1.1\r\nHost: ${target.host}\r\n` +
        `Cookie: ${account.cookie}\r\nOrigin: ${plan.base}\r\n` +
        (record ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` : '') +
        '\r\n';
      let settled = false;
      const settle = (answer: Answer | Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        let status = 0;
        let retryAfter = false;
        if (answer instanceof Error) {
          const why = (answer as NodeJS.ErrnoException).code ?? answer.message;
          unanswered[why] = (unanswered[why] ?? 0) + 1;
        } else {
          ({ status, retryAfter } = answer);
          if (record && status === 201) {
            record.acknowledged = true;
            record.id = (JSON.parse(answer.body) as { id: string }).id;
          }
        }
        samples.push([due, performance.now() - start - due, status, retryAfter ? 1 : 0, phase]);
        done();
      };
      const job: Job = { head, body, settle };
      const timer = setTimeout(() => {
        // The connection may still answer later: it cannot be reused.
        if (job.connection) job.connection.socket.destroy();
        else job.abandoned = true;
        // Where it waited: for a connection of the pool, on a connection opened under load, or an answer.
        const where = !job.connection
          ? 'timeout waiting for a free connection'
          : job.connection.openedUnderLoad
            ? 'timeout on a connection opened under load'
            : 'timeout';
        settle(Object.assign(new Error(where), { code: where }));
      }, plan.timeoutMs);
      dispatch(job);
    });
  const pending: Promise<void>[] = [];
  // Phase boundaries, in ms since the start.
  const ends = plan.phases.map((_, i) =>
    plan.phases.slice(0, i + 1).reduce((sum, p) => sum + p.seconds * 1000, 0),
  );
  const phaseAt = (ms: number) => ends.findIndex((end) => ms < end);
  const endAt = ends.at(-1) ?? 0;
  if (plan.mode === 'closed') {
    const loop = async () => {
      for (let now = 0; now < endAt; now = performance.now() - start) await send(now, phaseAt(now));
    };
    for (let i = 0; i < (plan.phases[0]?.level ?? 0); i++) pending.push(loop());
  } else {
    // Due times on a fixed schedule per phase; each tick sends every request that has fallen due.
    let due = 0;
    await new Promise<void>((finished) => {
      const tick = () => {
        const now = performance.now() - start;
        while (due <= now && due < endAt) {
          const phase = phaseAt(due);
          pending.push(send(due, phase));
          due += 1000 / (plan.phases[phase]?.level ?? 1);
        }
        if (due >= endAt) finished();
        else setTimeout(tick, 1);
      };
      tick();
    });
  }
  await Promise.all(pending);
  lag.disable();
  const cpu = process.cpuUsage(cpuBefore);
  const self = {
    lagP99Ms: lag.percentile(99) / 1e6,
    lagMaxMs: lag.max / 1e6,
    cpuShare: (cpu.user + cpu.system) / 1000 / (performance.now() - start),
  };
  for (const connection of idle) connection.socket.destroy();
  samples.sort((a, b) => a[0] - b[0]);
  return { samples, startedAt, writes, self, unanswered };
}

if (process.argv[1] === import.meta.filename) {
  const plan = JSON.parse(process.argv[2] ?? '') as LoadPlan;
  const report = await generate(plan);
  process.stdout.write(JSON.stringify(report));
}
