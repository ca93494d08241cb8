/** @module JSON logs on stdout (pino): one line per event, never a secret or SQL text at info level. */
import { pino } from 'pino';

export type Logger = pino.Logger;

/** The process's logger; `level: 'silent'` in tests that assert on other things. */
export function createLogger(
  level: pino.LevelWithSilent = 'info',
  destination?: pino.DestinationStream,
): Logger {
  // One synchronous write per turn of the event loop (see `coalescing`). Synchronous: nothing is
  // left in flight when the process exits, and a busy thread pool (argon2) cannot hold lines back.
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
    destination ?? coalescing(pino.destination({ dest: 1, sync: true })),
  );
}

/** Where {@link coalescing} writes: sonic-boom in its synchronous mode (`pino.destination`). */
export interface LineSink {
  /** Writes `chunk` before it returns. */
  write(chunk: string): unknown;
}

/**
 * A pino destination that hands `sink` the lines written during one turn of the event loop as one
 * string, on the next turn. Under load that is one write for many request lines, where a write per
 * line cost ~20 % of throughput and sonic-boom's asynchronous mode ~5 %: it writes each line on its
 * own unless a write is already in flight, and measures its growing buffer again on every line.
 * When idle, a line is written on the next turn.
 *
 * When the process exits, the lines still held are written then, and a line logged after that is
 * written at once. Lost: the lines held when the process is killed (SIGKILL, an abort) or replaces
 * itself (`process.execve`).
 */
export function coalescing(sink: LineSink): pino.DestinationStream {
  let held: string[] = [];
  let scheduled = false;
  let exited = false;
  const hand = () => {
    scheduled = false;
    if (held.length === 0) return;
    const lines = held.length === 1 ? (held[0] as string) : held.join('');
    held = [];
    sink.write(lines);
  };
  process.once('exit', () => {
    exited = true;
    hand();
  });
  return {
    write(line: string) {
      held.push(line);
      if (exited) hand();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(hand);
      }
    },
  };
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
