/** Stop signals before and after the server takes them over, sent to a real process. */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const signals = new URL('./signals.ts', import.meta.url).href;

/** Runs `body` in a Node process that has imported signals.ts; its exit and output. */
function run(body: string) {
  const script = `import { exitOnStopSignalWhileStarting, onStopSignal } from ${JSON.stringify(signals)};\n${body}`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { code: result.status, signal: result.signal, output: result.stdout + result.stderr };
}

describe('stop signals', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ])('%s while the server starts exits at once with %i, as a handled signal', (signal, code) => {
    const started = run(`
      exitOnStopSignalWhileStarting();
      setTimeout(() => console.log('still running'), 3_000); // what loading the application would be
      process.kill(process.pid, '${signal}');`);
    expect(started).toEqual({ code, signal: null, output: '' });
  });

  it('goes to the drain once the server takes the signals over, and no longer exits by itself', () => {
    const started = run(`
      exitOnStopSignalWhileStarting();
      onStopSignal((signal) => {
        console.log('draining on', signal);
        setTimeout(() => process.exit(0), 100);
      });
      process.kill(process.pid, 'SIGTERM');
      setTimeout(() => console.log('not reached'), 3_000);`);
    expect(started).toEqual({ code: 0, signal: null, output: 'draining on SIGTERM\n' });
  });

  it('does not lose a signal that came while the application loaded, without a turn of the event loop', () => {
    // Loading is one synchronous stretch: the signal waits for it, and must reach the drain after.
    const started = run(`
      exitOnStopSignalWhileStarting();
      process.kill(process.pid, 'SIGTERM');
      const until = Date.now() + 300;
      while (Date.now() < until); // what loading the application is
      onStopSignal((signal) => {
        console.log('draining on', signal);
        setTimeout(() => process.exit(0), 100);
      });
      setTimeout(() => console.log('served on'), 3_000);`);
    expect(started).toEqual({ code: 0, signal: null, output: 'draining on SIGTERM\n' });
  });

  it('stops a cluster worker that its primary asks to drain while it is still starting: exit 0', async () => {
    // A file, since cluster.fork() runs the same script; the worker's start has turns of the event
    // loop, in which a message with no listener yet would be dropped.
    const dir = await mkdtemp(join(tmpdir(), 'plumb-signals-'));
    try {
      const script = join(dir, 'cluster.mjs');
      await writeFile(
        script,
        `import cluster from 'node:cluster';
        import { exitOnStopSignalWhileStarting, onStopSignal, SHUTDOWN_MESSAGE } from ${JSON.stringify(signals)};
        if (cluster.isPrimary) {
          const worker = cluster.fork();
          worker.on('online', () => setTimeout(() => worker.send({ type: SHUTDOWN_MESSAGE }), 300));
          worker.on('exit', (code) => { console.log('worker exited', code); process.exit(0); });
          setTimeout(() => { console.log('worker still running'); process.exit(1); }, 5_000);
        } else {
          exitOnStopSignalWhileStarting();
          setTimeout(() => onStopSignal(() => console.log('drain asked')), 2_000); // the application loading
        }`,
      );
      const result = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 10_000 });
      expect({ code: result.status, output: result.stdout + result.stderr }).toEqual({
        code: 0,
        output: 'worker exited 0\n',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
