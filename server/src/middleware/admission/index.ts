/**
 * @module Admission control: at most `maxConcurrent` API requests run at once in a worker; the
 * next ones wait in a FIFO queue, at most `maxQueued` of them and at most `queueTimeoutMs` each.
 * Past either bound the answer is 503 with Retry-After, at once — so under overload memory stays
 * bounded and latency stays bounded instead of growing with the backlog.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '#src/errors.ts';

export interface AdmissionOptions {
  maxConcurrent: number;
  maxQueued: number;
  queueTimeoutMs: number;
}

export interface Admission {
  middleware: MiddlewareHandler;
  /** Requests running and waiting now, and refused so far (for /metrics and tests). */
  stats(): { running: number; queued: number; rejected: number };
  /** Whether the next request would be refused at once (the queue is full). */
  full(): boolean;
  /** Counts a request refused before it reached the middleware (see `shed.ts`). */
  refuse(): void;
}

/** What a refused request is told: 503, this error, and when to try again. */
export const OVERLOADED = {
  code: 'overloaded',
  message: 'The service is busy; try again in a moment.',
  retryAfterSeconds: 1,
} as const;

const overloaded = () =>
  new ApiError(503, OVERLOADED.code, OVERLOADED.message, {
    headers: { 'Retry-After': String(OVERLOADED.retryAfterSeconds) },
  });

export function admission(options: AdmissionOptions): Admission {
  let running = 0;
  let rejected = 0;
  const waiting: { admit: () => void; timer: NodeJS.Timeout }[] = [];
  let head = 0; // index of the first waiter: shift() without re-indexing the array each time

  const release = () => {
    while (head < waiting.length) {
      const next = waiting[head];
      waiting[head++] = undefined as never;
      if (!next) continue;
      clearTimeout(next.timer);
      next.admit();
      return;
    }
    running--;
    if (head > 1024 && head * 2 > waiting.length) {
      waiting.splice(0, head);
      head = 0;
    }
  };

  const middleware: MiddlewareHandler = async (_c, next) => {
    if (running < options.maxConcurrent) {
      running++;
    } else {
      if (waiting.length - head >= options.maxQueued) {
        rejected++;
        throw overloaded();
      }
      await new Promise<void>((resolve, reject) => {
        const entry = {
          admit: resolve,
          timer: setTimeout(() => {
            const at = waiting.indexOf(entry, head);
            if (at !== -1) waiting.splice(at, 1);
            rejected++;
            reject(overloaded());
          }, options.queueTimeoutMs),
        };
        waiting.push(entry);
      });
      // Admitted: the slot of the request that finished passed to this one (running unchanged).
    }
    try {
      await next();
    } finally {
      release();
    }
  };

  return {
    middleware,
    stats: () => ({ running, queued: waiting.length - head, rejected }),
    full: () => running >= options.maxConcurrent && waiting.length - head >= options.maxQueued,
    refuse: () => {
      rejected++;
    },
  };
}
