/**
 * @module A second floor for the benchmark: the bare server's work (bare-server.ts) on Hono and
 * `@hono/node-server`, the framework the API runs on, with the list's route (and /healthz) and no middleware: no
 * validation, no logging, no metrics, no admission control. Between the bare floor and the API,
 * it splits the gap into what the framework costs and what the API's own middleware costs.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { readSessionCookie, sessionHashOf } from '#src/auth/sessions.ts';
import { createDatabase } from '#src/database.ts';
import { notesRepository } from '#src/notes/repository.ts';

const workers = Number(process.env.WEB_CONCURRENCY ?? 1);
if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const db = createDatabase({
    url: process.env.DATABASE_URL ?? '',
    max: Number(process.env.DB_POOL_MAX ?? 10),
  });
  const notes = notesRepository(db);
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/api/notes', async (c) => {
    const sessionHash = sessionHashOf(readSessionCookie(c));
    const page = sessionHash ? await notes.listForSession(sessionHash, { limit: 20 }) : undefined;
    return page ? c.json(page) : c.body(null, 401);
  });
  createServer(getRequestListener(app.fetch)).listen(Number(process.env.PORT), '127.0.0.1');
  process.on('SIGTERM', () => process.exit(0));
}
