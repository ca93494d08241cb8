/**
 * @module SIGTERM and SIGINT, from the first line of the process on. Until the server hands them
 * to its drain (`onStopSignal`), a signal exits the process at once: there is nothing to drain yet,
 * and as PID 1 in a container Node would otherwise ignore SIGTERM and be killed only at the end of
 * the grace period.
 */
import { constants } from 'node:os';

/** What the cluster primary sends a worker to make it drain (over IPC, not as a signal). */
export const SHUTDOWN_MESSAGE = 'plumb:shutdown';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

const exitWhileStarting = (signal: NodeJS.Signals) => process.exit(128 + constants.signals[signal]);

/** Called first thing by the entry point (`main.ts`). */
export function exitOnStopSignalWhileStarting(): void {
  for (const signal of STOP_SIGNALS) process.on(signal, exitWhileStarting);
}

/** From now on, SIGTERM and SIGINT call `handler` instead of exiting. */
export function onStopSignal(handler: (signal: NodeJS.Signals) => void): void {
  for (const signal of STOP_SIGNALS) {
    process.removeListener(signal, exitWhileStarting);
    process.on(signal, handler);
  }
}
