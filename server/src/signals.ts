/**
 * @module SIGTERM, SIGINT and the cluster primary's request to drain, from the first line of the
 * process on. Until the server hands them to its drain (`onStopSignal`), each ends the process at
 * once: there is nothing to drain yet, and as PID 1 in a container Node would otherwise ignore
 * SIGTERM, and a worker would miss its primary's request, until the drain was in place.
 */
import { constants } from 'node:os';

/** What the cluster primary sends a worker to make it drain (over IPC, not as a signal). */
export const SHUTDOWN_MESSAGE = 'plumb:shutdown';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** What stopped the process: a signal, or its primary's request (`'primary'`). */
export type StopCause = NodeJS.Signals | 'primary';

const isShutdown = (message: unknown) => (message as { type?: unknown } | null)?.type === SHUTDOWN_MESSAGE;
const exitWhileStarting = (signal: NodeJS.Signals) => process.exit(128 + constants.signals[signal]);
// Asked to drain before it serves: a clean stop.
const exitOnShutdownWhileStarting = (message: unknown) => {
  if (isShutdown(message)) process.exit(0);
};

/** Called by the entry point (`main.ts`) before the application loads. */
export function exitOnStopSignalWhileStarting(): void {
  for (const signal of STOP_SIGNALS) process.on(signal, exitWhileStarting);
  process.on('message', exitOnShutdownWhileStarting);
}

/** From now on, SIGTERM, SIGINT and the primary's request call `handler` instead of exiting. */
export function onStopSignal(handler: (cause: StopCause) => void): void {
  // The new listener first: a signal that came while the application loaded (one synchronous
  // stretch, with no turn of the event loop) is still waiting to be delivered, and Node drops a
  // waiting signal when the last listener of it goes, even for a moment. It then served on, and was
  // killed at the end of the grace period.
  for (const signal of STOP_SIGNALS) {
    process.on(signal, handler);
    process.removeListener(signal, exitWhileStarting);
  }
  process.removeListener('message', exitOnShutdownWhileStarting);
  // Only a cluster worker has a primary to ask it.
  if (process.send) process.on('message', (message) => isShutdown(message) && handler('primary'));
}
