/**
 * @module The floor for the benchmark: a bare `node:http` server doing the same work per request as
 * the API's notes list — the same statement, which looks the session up and lists the notes (the
 * very function the API calls), on postgres.js with the same pool — and nothing else: no routing,
 * no validation, no logging, no metrics. Runs WEB_CONCURRENCY processes like the real server.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { sessionHashOf } from '#src/auth/sessions.ts';
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
  createServer(async (request, response) => {
    if (request.url === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const sessionHash = sessionHashOf(/plumb_session=([^;]+)/.exec(request.headers.cookie ?? '')?.[1]);
    const page = sessionHash ? await notes.listForSession(sessionHash, { limit: 20 }) : undefined;
    if (!page) {
      response.writeHead(401).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
  }).listen(Number(process.env.PORT), '127.0.0.1');
  process.on('SIGTERM', () => process.exit(0));
}
