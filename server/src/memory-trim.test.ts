import { getHeapStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  isQuiet,
  memoryReducingCollection,
  QUIET_CPU_SHARE,
  QUIET_INTERVALS,
  shouldTrim,
  TRIM_EVERY_MS,
  TRIM_SLACK_BYTES,
  trimWhenQuiet,
} from '#src/memory-trim.ts';
import { memoryLogger } from '#src/testing.ts';

const MiB = 2 ** 20;

describe('isQuiet and shouldTrim', () => {
  it('counts an interval as quiet up to QUIET_CPU_SHARE of one CPU', () => {
    expect(isQuiet(QUIET_CPU_SHARE * 5_000 * 1000, 5_000)).toBe(true);
    expect(isQuiet(QUIET_CPU_SHARE * 5_000 * 1000 + 1, 5_000)).toBe(false);
  });

  const grown = { heapBytes: 100 * MiB, baselineBytes: 100 * MiB - TRIM_SLACK_BYTES };

  it('collects after QUIET_INTERVALS quiet intervals once the heap grew by the slack', () => {
    expect(shouldTrim({ ...grown, quietIntervals: QUIET_INTERVALS })).toBe(true);
    expect(shouldTrim({ ...grown, quietIntervals: QUIET_INTERVALS + 10 })).toBe(true);
  });

  it('waits out a shorter quiet, and leaves a heap that did not grow enough', () => {
    expect(shouldTrim({ ...grown, quietIntervals: QUIET_INTERVALS - 1 })).toBe(false);
    expect(shouldTrim({ ...grown, quietIntervals: QUIET_INTERVALS, heapBytes: grown.heapBytes - 1 })).toBe(
      false,
    );
  });
});

describe('memoryReducingCollection', () => {
  it("gives back the heap that garbage took, without a gc on the application's global", () => {
    const collect = memoryReducingCollection();
    expect(collect).toBeTypeOf('function');
    expect('gc' in globalThis).toBe(false);
    expect(runInNewContext('typeof gc')).toBe('undefined'); // the flag is unset again

    // ~64 MiB of objects that outlive a scavenge (so they reach the old space), then garbage.
    let garbage: number[][] | undefined = Array.from({ length: 64 }, () => new Array(128 * 1024).fill(1.5));
    const grown = getHeapStatistics().total_heap_size;
    expect(garbage.length).toBe(64);
    garbage = undefined;
    collect?.();
    expect(grown - getHeapStatistics().total_heap_size).toBeGreaterThan(32 * MiB);
  });
});

describe('trimWhenQuiet', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** A trimmer over a CPU clock and a heap the test sets; `interval(f)` runs `f`, then one check. */
  function trimmer() {
    const state = { cpuMicros: 0, heapBytes: 50 * MiB, collections: 0 };
    const { logger, lines } = memoryLogger('debug');
    const stop = trimWhenQuiet(logger, {
      cpuMicros: () => state.cpuMicros,
      heapBytes: () => state.heapBytes,
      collect: () => {
        state.collections++;
        state.heapBytes = 52 * MiB;
      },
    });
    const interval = (during: () => void = () => {}) => {
      during();
      vi.advanceTimersByTime(TRIM_EVERY_MS);
    };
    return { state, lines, stop, interval };
  }
  const busy = (state: { cpuMicros: number; heapBytes: number }) => () => {
    state.cpuMicros += TRIM_EVERY_MS * 500; // half a CPU
    state.heapBytes += 16 * MiB;
  };

  const quiet = (state: { cpuMicros: number }) => () => {
    state.cpuMicros += QUIET_CPU_SHARE * TRIM_EVERY_MS * 1000; // probes, a scrape
  };

  it('collects once when a busy spell is followed by QUIET_INTERVALS quiet ones, and logs what it gave back', () => {
    const { state, lines, stop, interval } = trimmer();
    for (let i = 0; i < 5; i++) interval(busy(state));
    for (let i = 1; i < QUIET_INTERVALS; i++) interval(quiet(state));
    expect(state.collections).toBe(0);
    interval(quiet(state));
    expect(state.collections).toBe(1);
    for (let i = 0; i < 2 * QUIET_INTERVALS; i++) interval();
    stop();
    expect(state.collections).toBe(1);
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'quiet after a busy spell: heap collected, memory given back',
        heapMbBefore: 130,
        heapMbAfter: 52,
      }),
    ]);
  });

  it('starts counting the quiet again after a busy interval, and collects again after the next spell', () => {
    const { state, stop, interval } = trimmer();
    interval(busy(state));
    for (let i = 1; i < QUIET_INTERVALS; i++) interval();
    interval(busy(state)); // a burst before the quiet was long enough
    for (let i = 1; i < QUIET_INTERVALS; i++) interval();
    expect(state.collections).toBe(0);
    interval();
    expect(state.collections).toBe(1);
    interval(busy(state));
    for (let i = 0; i < QUIET_INTERVALS; i++) interval();
    stop();
    expect(state.collections).toBe(2);
  });

  it('does not collect a quiet worker whose heap did not grow by the slack', () => {
    const { state, stop, interval } = trimmer();
    state.heapBytes += TRIM_SLACK_BYTES - 1;
    for (let i = 0; i < 3 * QUIET_INTERVALS; i++) interval();
    stop();
    expect(state.collections).toBe(0);
  });

  it('warns once when V8 refuses its collection, and does nothing else', () => {
    const { logger, lines } = memoryLogger();
    const stop = trimWhenQuiet(logger, { collect: undefined });
    stop();
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: 'V8 refused its collection: memory is not given back after a busy spell',
      }),
    ]);
  });
});
