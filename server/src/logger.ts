/** @module JSON logs on stdout (pino): one line per event, never a secret or SQL text at info level. */
import { pino } from 'pino';

export type Logger = pino.Logger;

/** The process's logger; `level: 'silent'` in tests that assert on other things. */
export function createLogger(level: pino.LevelWithSilent = 'info'): Logger {
  return pino({
    level,
    base: { service: 'plumb-server', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: ['password', '*.password', 'req.headers.cookie', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  });
}
