/** @module JSON logs on stdout (pino): one line per event, never a secret or SQL text at info level. */
import { writeSync } from 'node:fs';
import { pino } from 'pino';

export type Logger = pino.Logger;

/** The process's logger; `level: 'silent'` in tests that assert on other things. */
export function createLogger(
  level: pino.LevelWithSilent = 'info',
  destination?: pino.DestinationStream,
): Logger {
  // Asynchronous writes, one per turn of the event loop (see `coalescing`): a synchronous write
  // per request cost ~20 % of throughput. Lines not yet written are written when the process
  // exits (not after SIGKILL).
  if (level === 'silent') return pino({ level });
  return pino(
    {
      level,
      base: { service: 'plumb-server', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Errors: name, message, code and stack only. A PostgreSQL error's detail, hint, query and
      // parameters can carry a user's data (an email in a unique violation), so they stay out.
      serializers: { err: serializeError },
      redact: {
        paths: ['password', '*.password', 'req.headers.cookie', 'req.headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination ?? coalescing(pino.destination({ dest: 1, sync: false }), 1),
  );
}

/** Where {@link coalescing} writes: sonic-boom (`pino.destination`). */
export interface LineSink {
  write(chunk: string): unknown;
  /** Writes what the sink holds, synchronously. */
  flushSync(): void;
}

/**
 * A pino destination that hands `sink` (which writes to `fd`) the lines written during one turn of the event loop as one
 * string, on the next turn. Under load that is one write for many request lines; sonic-boom alone
 * appends each line to a string whose byte length it measures again every time (measured: about
 * half of what the request log costs). When idle, a line is written on the next turn.
 *
 * When the process exits, what the sink holds and then the lines still held here are written
 * synchronously, in that order. Not written: lines held when the process is killed (SIGKILL,
 * an abort) or replaces itself (`process.execve`), and a write the sink had already started.
 */
export function coalescing(sink: LineSink, fd: number): pino.DestinationStream {
  let held: string[] = [];
  let scheduled = false;
  const hand = () => {
    scheduled = false;
    if (held.length === 0) return;
    const lines = held.length === 1 ? (held[0] as string) : held.join('');
    held = [];
    sink.write(lines);
  };
  process.once('exit', () => {
    sink.flushSync();
    if (held.length > 0) writeAllSync(fd, held.join(''));
    held = [];
  });
  return {
    write(line: string) {
      held.push(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(hand);
      }
    },
  };
}

/** Writes all of `text` to `fd` now, retrying while a non-blocking pipe is full (for up to ~1 s). */
function writeAllSync(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  let written = 0;
  let waits = 0;
  while (written < bytes.length) {
    try {
      written += writeSync(fd, bytes, written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || ++waits > 1_000) return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/** The parts of an error that are safe in a log line. */
export function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    message: error.message,
    ...(code === undefined ? {} : { code }),
    stack: error.stack,
  };
}
