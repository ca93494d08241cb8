/** @module JSON logs on stdout (pino): one line per event, never a secret or SQL text at info level. */
import { pino } from 'pino';

export type Logger = pino.Logger;

/** The process's logger; `level: 'silent'` in tests that assert on other things. */
export function createLogger(
  level: pino.LevelWithSilent = 'info',
  destination?: pino.DestinationStream,
): Logger {
  // Asynchronous writes: under load, lines written while one write is in flight go out together
  // (a synchronous write per request cost ~20 % of throughput); when idle, each line goes at once.
  // Buffered lines are flushed when the process exits (not after SIGKILL).
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
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
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
