/**
 * @module A second floor for the benchmark: the bare server's work (bare-server.ts) on Hono and
 * `@hono/node-server`, the framework the API runs on, with the list's route (and /healthz) and no
 * middleware: no validation, no logging, no metrics, no admission control. Between the bare floor
 * and the API, it splits the gap into what the framework costs and what the API's own middleware
 * costs.
 */
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { readSessionCookie, sessionHashOf } from '#src/auth/sessions.ts';
import { runFloor } from './floor.ts';

runFloor((notes) => {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/api/notes', async (c) => {
    const sessionHash = sessionHashOf(readSessionCookie(c));
    const page = sessionHash ? await notes.listForSession(sessionHash, { limit: 20 }) : undefined;
    return page ? c.json(page) : c.body(null, 401);
  });
  return getRequestListener(app.fetch);
});
