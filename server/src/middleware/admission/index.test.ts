import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { errorHandler } from '#src/errors.ts';
import { createLogger } from '#src/logger.ts';
import { type AdmissionOptions, admission } from '#src/middleware/admission/index.ts';

function appWith(options: AdmissionOptions) {
  const gate = admission(options);
  const releases: (() => void)[] = [];
  const app = new Hono();
  app.use(gate.middleware);
  app.get('/work', async (c) => {
    await new Promise<void>((resolve) => releases.push(resolve));
    return c.text('done');
  });
  app.onError(errorHandler(createLogger('silent')));
  const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
  /** Lets every running and waiting request finish. */
  const finishAll = async () => {
    while (releases.length > 0 || gate.stats().running > 0) {
      releases.shift()?.();
      await settle();
    }
  };
  return { app, gate, releases, settle, finishAll };
}

describe('admission control', () => {
  it('runs at most maxConcurrent, queues the next in order, and admits them as slots free', async () => {
    const { app, gate, releases, settle, finishAll } = appWith({
      maxConcurrent: 2,
      maxQueued: 10,
      queueTimeoutMs: 10_000,
    });
    const responses = Array.from({ length: 4 }, () => app.request('/work'));
    await settle();
    expect(gate.stats()).toEqual({ running: 2, queued: 2, rejected: 0 });
    releases.shift()?.();
    await settle();
    expect(gate.stats()).toEqual({ running: 2, queued: 1, rejected: 0 });
    await finishAll();
    const statuses = await Promise.all(responses.map(async (r) => (await r).status));
    expect(statuses).toEqual([200, 200, 200, 200]);
    expect(gate.stats()).toEqual({ running: 0, queued: 0, rejected: 0 });
  });

  it('answers 503 with Retry-After at once when the queue is full', async () => {
    const { app, gate, releases, settle } = appWith({
      maxConcurrent: 1,
      maxQueued: 1,
      queueTimeoutMs: 10_000,
    });
    const first = app.request('/work');
    const second = app.request('/work');
    await settle();
    const third = await app.request('/work');
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(await third.json()).toMatchObject({ error: { code: 'overloaded' } });
    expect(gate.stats()).toMatchObject({ running: 1, queued: 1, rejected: 1 });
    releases.shift()?.();
    await settle();
    releases.shift()?.();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
  });

  it('answers 503 to a request that waited longer than the queueing bound, and forgets it', async () => {
    const { app, gate, releases, settle } = appWith({ maxConcurrent: 1, maxQueued: 10, queueTimeoutMs: 50 });
    const first = app.request('/work');
    await settle();
    const started = performance.now();
    const waited = await app.request('/work');
    expect(waited.status).toBe(503);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(gate.stats()).toEqual({ running: 1, queued: 0, rejected: 1 });
    releases.shift()?.();
    expect((await first).status).toBe(200);
    expect(gate.stats()).toEqual({ running: 0, queued: 0, rejected: 1 });
  });

  it('keeps one round waiting once the queue has stood for standingAfterMs, and the whole queue again after it empties', async () => {
    const { app, gate, settle, finishAll } = appWith({
      maxConcurrent: 2,
      maxQueued: 10,
      queueTimeoutMs: 10_000,
      standingAfterMs: 50,
    });
    // A burst: 2 run, 5 wait (under maxQueued), and the queue is young — nothing is refused.
    const burst = Array.from({ length: 7 }, () => app.request('/work'));
    await settle();
    expect(gate.stats()).toEqual({ running: 2, queued: 5, rejected: 0 });
    expect(gate.full()).toBe(false);
    // Still not empty 50 ms on: standing. More than one round (2) waits, so the next is refused at once.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(gate.full()).toBe(true);
    const refused = await app.request('/work');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(gate.stats()).toEqual({ running: 2, queued: 5, rejected: 1 });
    // Those already waiting keep their place: every one of the burst is served.
    await finishAll();
    expect(await Promise.all(burst.map(async (r) => (await r).status))).toEqual(Array(7).fill(200));
    // Empty again: the next burst gets the whole queue.
    const next = Array.from({ length: 12 }, () => app.request('/work'));
    await settle();
    expect(gate.stats()).toEqual({ running: 2, queued: 10, rejected: 1 });
    await finishAll();
    expect(await Promise.all(next.map(async (r) => (await r).status))).toEqual(Array(12).fill(200));
  });

  it('by default counts a queue as standing after a quarter of its wait bound', async () => {
    const { app, gate, settle, finishAll } = appWith({
      maxConcurrent: 1,
      maxQueued: 10,
      queueTimeoutMs: 1_000,
    });
    const burst = Array.from({ length: 4 }, () => app.request('/work'));
    await settle();
    expect(gate.stats()).toMatchObject({ running: 1, queued: 3 });
    // 150 ms on, a young queue (the interval is 250 ms): it still takes more than one round.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(gate.full()).toBe(false);
    // 270 ms on, standing: 3 wait, more than one round (1), so the next is refused.
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(gate.full()).toBe(true);
    await finishAll();
    expect(await Promise.all(burst.map(async (r) => (await r).status))).toEqual(Array(4).fill(200));
  });
});
