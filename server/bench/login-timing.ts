/**
 * @module `npm run bench:login`: does a sign-in with an unknown email take as long as one with a
 * wrong password? (It must, or response times tell an attacker which emails have accounts.) Runs
 * the real app in-process on an embedded PostgreSQL; prints medians and their ratio and writes
 * bench/results/login-timing.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listMigrations, migrate } from '@plumb/db';
import { startEmbeddedPostgres } from '@plumb/db/embedded';
import { createApp, createDatabase, createLogger, defaultAppConfig } from '@plumb/server';
import { median } from '../../scripts/stats.ts';

const ROUNDS = Number(process.argv[2] ?? 200);
const root = fileURLToPath(new URL('../../', import.meta.url));

const dir = await mkdtemp(join(tmpdir(), 'plumb-bench-login-'));
const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), persistent: false });
try {
  await pg.createDatabase('bench');
  await migrate({ url: pg.url('bench') });
  const db = createDatabase({ url: pg.url('bench') });
  const app = createApp({
    db,
    logger: createLogger('silent'),
    info: { name: 'plumb', version: 'bench', gitSha: null },
    knownMigrations: await listMigrations(),
    config: { ...defaultAppConfig, rateLimit: { windowSeconds: 60, ipMax: 1e9, accountMax: 1e9 } },
  });
  const login = async (email: string) => {
    const started = performance.now();
    const response = await app.request('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'not the right password' }),
    });
    await response.arrayBuffer();
    if (response.status !== 401) throw new Error(`expected 401, got ${response.status}`);
    return performance.now() - started;
  };
  const signup = await app.request('/api/auth/signup', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'exists@example.test', password: 'the right password' }),
  });
  if (signup.status !== 201) throw new Error(`signup failed: ${signup.status}`);

  for (let i = 0; i < 10; i++)
    await Promise.all([login('exists@example.test'), login('nobody@example.test')]);
  const wrongPassword: number[] = [];
  const unknownEmail: number[] = [];
  // Interleaved, so drift in machine load hits both series alike.
  for (let i = 0; i < ROUNDS; i++) {
    wrongPassword.push(await login('exists@example.test'));
    unknownEmail.push(await login(`nobody-${i}@example.test`));
  }
  const result = {
    date: new Date().toISOString(),
    rounds: ROUNDS,
    wrongPasswordMedianMs: Number(median(wrongPassword).toFixed(2)),
    unknownEmailMedianMs: Number(median(unknownEmail).toFixed(2)),
    ratio: Number((median(unknownEmail) / median(wrongPassword)).toFixed(3)),
  };
  console.log(
    `sign-in, ${ROUNDS} rounds: wrong password median ${result.wrongPasswordMedianMs} ms, ` +
      `unknown email median ${result.unknownEmailMedianMs} ms, ratio unknown/wrong ${result.ratio}`,
  );
  await mkdir(join(root, 'bench/results'), { recursive: true });
  await writeFile(join(root, 'bench/results/login-timing.json'), `${JSON.stringify(result, null, 2)}\n`);
  await db.end();
} finally {
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
