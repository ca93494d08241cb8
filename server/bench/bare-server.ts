/**
 * @module The floor for the benchmark: a bare `node:http` server doing the same work per request as
 * the API's notes list — the same statement, which looks the session up and lists the notes (the
 * very function the API calls), on postgres.js with the same pool — and nothing else: no routing,
 * no validation, no logging, no metrics. Runs WEB_CONCURRENCY processes like the real server.
 */
import { sessionHashOf } from '#src/auth/sessions.ts';
import { runFloor } from './floor.ts';

runFloor((notes) => async (request, response) => {
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
});
