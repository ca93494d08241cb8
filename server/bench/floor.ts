/**
 * @module What both benchmark floors share: WEB_CONCURRENCY processes like the real server (a
 * primary forking workers, which inherit its Node flags), each with the API's pool and notes
 * repository, serving `listener` on 127.0.0.1:PORT until SIGTERM, and listening as the real server
 * does (`listen()`: sockets of each worker's own; ADR 020).
 */
import cluster from 'node:cluster';
import { createServer, type RequestListener } from 'node:http';
import { createDatabase } from '#src/database.ts';
import { listen } from '#src/listen.ts';
import { type NotesRepository, notesRepository } from '#src/notes/repository.ts';

export function runFloor(listenerFor: (notes: NotesRepository) => RequestListener): void {
  const workers = Number(process.env.WEB_CONCURRENCY ?? 1);
  if (cluster.isPrimary && workers > 1) {
    for (let i = 0; i < workers; i++) cluster.fork();
    process.on('SIGTERM', () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
      process.exit(0);
    });
    return;
  }
  const db = createDatabase({
    url: process.env.DATABASE_URL ?? '',
    max: Number(process.env.DB_POOL_MAX ?? 10),
  });
  void listen(createServer(listenerFor(notesRepository(db))), {
    port: Number(process.env.PORT),
    host: '127.0.0.1',
  });
  process.on('SIGTERM', () => process.exit(0));
}
