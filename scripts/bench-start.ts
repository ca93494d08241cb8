/**
 * @module `npm run bench:start`: how long `npm start` takes from the command to the first 200 from
 * /readyz (after the first start, which initialises the data directory), and whether stopping it
 * with SIGINT or SIGTERM leaves any process behind. Prints a summary and writes bench/results/start.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { median } from './stats.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.argv[2] ?? 4);
const apiPort = Number(process.env.PORT ?? 8080);

const leftovers = () =>
  spawnSync('pgrep', ['-fa', 'node scripts/start.ts|server/src/main.ts|native/bin/postgres'], {
    encoding: 'utf8',
  }).stdout.trim();

async function startAndStop(
  signal: 'SIGINT' | 'SIGTERM',
): Promise<{ readyMs: number; stopMs: number; left: string }> {
  const started = performance.now();
  // A process group of its own, so SIGINT can go to all of it, as Ctrl-C in a terminal does.
  const child = spawn('npm', ['start'], { cwd: root, detached: true, stdio: 'ignore' });
  let readyMs = Number.NaN;
  while (performance.now() - started < 60_000) {
    const ok = await fetch(`http://127.0.0.1:${apiPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) {
      readyMs = performance.now() - started;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const stopping = performance.now();
  const exited = once(child, 'exit');
  if (signal === 'SIGINT') process.kill(-(child.pid as number), 'SIGINT');
  else child.kill('SIGTERM'); // only npm itself, as a process manager would
  await exited;
  for (let i = 0; i < 100 && leftovers(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return { readyMs, stopMs: performance.now() - stopping, left: leftovers() };
}

const results = [];
for (let i = 0; i < runs; i++) {
  const signal = i % 2 === 0 ? 'SIGINT' : 'SIGTERM';
  const result = await startAndStop(signal);
  results.push({ run: i + 1, signal, ...result });
  console.log(
    `start ${i + 1}: ready in ${Math.round(result.readyMs)} ms; ${signal} stopped it in ${Math.round(result.stopMs)} ms; ` +
      `left behind: ${result.left || 'nothing'}`,
  );
}
const later = results.slice(1).map((r) => r.readyMs);
const summary = {
  date: new Date().toISOString(),
  node: process.version,
  firstStartMs: Math.round(results[0]?.readyMs ?? Number.NaN),
  laterStartsMedianMs: Math.round(median(later)),
  laterStarts: later.map(Math.round),
  leftBehind: results.filter((r) => r.left).length,
  runs: results,
};
console.log(
  `npm start → /readyz 200: first ${summary.firstStartMs} ms; later starts median ${summary.laterStartsMedianMs} ms ` +
    `(${summary.laterStarts.join(', ')}); runs that left a process behind: ${summary.leftBehind}`,
);
await mkdir(`${root}bench/results`, { recursive: true });
await writeFile(`${root}bench/results/start.json`, `${JSON.stringify(summary, null, 2)}\n`);
if (summary.leftBehind > 0) process.exitCode = 1;
