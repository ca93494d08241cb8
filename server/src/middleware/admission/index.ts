/**
 * @module Admission control: at most `maxConcurrent` API requests run at once in a worker; the
 * next ones wait in a FIFO queue, at most `maxQueued` of them and at most `queueTimeoutMs` each.
 * Past either bound the answer is 503 with Retry-After, at once — so under overload memory stays
 * bounded and latency stays bounded instead of growing with the backlog.
 *
 * A queue that has not been empty for `standingAfterMs` is a standing queue: the worker is
 * overloaded, not meeting a burst. Then it admits to the queue only one round of the running
 * requests (`maxConcurrent`) and refuses the rest at once, so a request that is served waits one
 * round instead of the whole bound, and the refused ones are told at once (controlled delay, as in
 * CoDel; ADR 014). A burst that drains within `standingAfterMs` still gets the whole queue.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '#src/errors.ts';

export interface AdmissionOptions {
  maxConcurrent: number;
  maxQueued: number;
  queueTimeoutMs: number;
  /**
   * How long the queue stays non-empty before it counts as standing.
   * @default queueTimeoutMs × {@link STANDING_SHARE} (250 ms for the default 1 s)
   */
  standingAfterMs?: number;
}

/** The share of the queue's wait bound after which a queue that has not emptied is standing (CoDel's interval). */
export const STANDING_SHARE = 0.25;

export interface Admission {
  middleware: MiddlewareHandler;
  /** Requests running and waiting now, and refused so far (for /metrics and tests). */
  stats(): { running: number; queued: number; rejected: number };
  /** Whether the next request would be refused at once (the queue is full, or standing at one round). */
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
  let nonEmptySince = 0;
  const standingAfterMs = options.standingAfterMs ?? options.queueTimeoutMs * STANDING_SHARE;
  const standingCap = Math.min(options.maxQueued, options.maxConcurrent);
  /** How many may wait now: all of `maxQueued`, or one round while the queue is standing. */
  const cap = () => {
    const queued = waiting.length - head;
    return queued > 0 && performance.now() - nonEmptySince >= standingAfterMs
      ? standingCap
      : options.maxQueued;
  };

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
      if (waiting.length - head >= cap()) {
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
        if (waiting.length === head) nonEmptySince = performance.now();
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
    full: () => running >= options.maxConcurrent && waiting.length - head >= cap(),
    refuse: () => {
      rejected++;
    },
  };
}
