import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { errorHandler } from '#src/errors.ts';
import { createLogger } from '#src/logger.ts';
import { admission } from '#src/middleware/admission/index.ts';

function appWith(options: { maxConcurrent: number; maxQueued: number; queueTimeoutMs: number }) {
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
  return { app, gate, releases, settle };
}

describe('admission control', () => {
  it('runs at most maxConcurrent, queues the next in order, and admits them as slots free', async () => {
    const { app, gate, releases, settle } = appWith({
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
    while (releases.length > 0 || gate.stats().running > 0) {
      releases.shift()?.();
      await settle();
    }
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
});
