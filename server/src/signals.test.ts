/** Stop signals before and after the server takes them over, sent to a real process. */
import { spawnSync } from 'node:child_process';
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
});
