/**
 * The cluster primary as a process (`primary.fixture.ts`: the real primary over stand-in workers):
 * replacing dead workers with backoff, giving up on a crash loop, and its exit code after a drain.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { CrashLimits } from '#src/primary.ts';
import { childrenOf, waitForMatches } from '#src/testing.ts';

const fixture = fileURLToPath(new URL('./primary.fixture.ts', import.meta.url));
const running: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const child of running.splice(0)) child.kill('SIGKILL');
});

/** The fixture's primary, with its log lines as they come. */
function startPrimary(env: {
  limits: Partial<CrashLimits>;
  lifeMs?: number;
  drainExit?: number;
  stuckAfterMs?: number;
  stuckTimeoutS?: number;
  workers?: number;
  holdChannelMs?: number;
}) {
  const child = spawn(process.execPath, [fixture], {
    env: {
      PATH: process.env.PATH ?? '',
      PLUMB_TEST_LIMITS: JSON.stringify(env.limits),
      ...(env.lifeMs === undefined ? {} : { PLUMB_TEST_LIFE_MS: String(env.lifeMs) }),
      ...(env.drainExit === undefined ? {} : { PLUMB_TEST_DRAIN_EXIT: String(env.drainExit) }),
      ...(env.stuckAfterMs === undefined ? {} : { PLUMB_TEST_STUCK_AFTER_MS: String(env.stuckAfterMs) }),
      ...(env.stuckTimeoutS === undefined ? {} : { WORKER_STUCK_TIMEOUT_S: String(env.stuckTimeoutS) }),
      ...(env.workers === undefined ? {} : { PLUMB_TEST_WORKERS: String(env.workers) }),
      ...(env.holdChannelMs === undefined ? {} : { PLUMB_TEST_HOLD_CHANNEL_MS: String(env.holdChannelMs) }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const lines = () =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: string; msg: string; [field: string]: unknown });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, lines, output: () => output, exited };
}

/** Resolves once `count` workers have come up since the start. */
const workersUp = (primary: ReturnType<typeof startPrimary>, count: number) =>
  waitForMatches(primary.output, /"msg":"worker up"/, count);

type Line = ReturnType<ReturnType<typeof startPrimary>['lines']>[number];
const died = (lines: Line[]) => lines.filter((line) => line.msg === 'worker died; replacing it');

describe('the cluster primary', () => {
  it('replaces workers that all die at once, each time later, and gives up with exit 1 on a crash loop', async () => {
    const primary = startPrimary({
      limits: { maxCrashes: 4, quietMs: 60_000, firstBackoffMs: 20, maxBackoffMs: 100 },
      lifeMs: 0,
    });
    const code = await Promise.race([primary.exited, sleep(10_000).then(() => 'still running')]);

    expect(code, primary.output()).toBe(1);
    // Both workers die at once, then each replacement: four replaced, the fifth death gives up.
    expect(died(primary.lines()).map((line) => line.restartInMs)).toEqual([20, 40, 80, 100]);
    expect(primary.lines().at(-1)).toMatchObject({
      level: 'fatal',
      msg: 'workers keep crashing; giving up (see the errors above)',
      crashes: 5,
    });
  });

  it('keeps replacing workers that die after a while, all of them at once too', async () => {
    // Four workers, each living 250 ms (longer than quietMs), die together again and again: more
    // deaths at once than maxCrashes, and not a crash loop.
    const primary = startPrimary({
      limits: { maxCrashes: 2, quietMs: 100, firstBackoffMs: 20, maxBackoffMs: 100 },
      lifeMs: 250,
      workers: 4,
    });
    await workersUp(primary, 16);
    expect(primary.child.exitCode, primary.output()).toBeNull();
    const deaths = died(primary.lines());
    expect(deaths.length).toBeGreaterThanOrEqual(12);
    // Each replaced after the first backoff, none counted.
    expect(new Set(deaths.map((line) => line.restartInMs))).toEqual(new Set([20]));
    expect(new Set(deaths.map((line) => line.early))).toEqual(new Set([false]));
  });

  it.each([
    ['', undefined],
    // Node lists such a worker in cluster.workers until its channel closes too.
    [", its exit coming 1 s before its IPC channel's close", 1_000],
  ])('exits 1 after a drain in which a worker failed%s', async (_, holdChannelMs) => {
    const primary = startPrimary({
      limits: { maxCrashes: 2, quietMs: 100, firstBackoffMs: 20, maxBackoffMs: 100 },
      drainExit: 5,
      holdChannelMs,
    });
    await workersUp(primary, 2);
    primary.child.kill('SIGTERM');
    expect(await primary.exited, primary.output()).toBe(1);
    expect(primary.lines().filter((line) => line.msg === 'worker exited while draining')).toHaveLength(2);
    expect(primary.lines().at(-1)).toMatchObject({ level: 'error', msg: /^stopped; a worker did not drain/ });
  });

  /** Both workers' loops stop `stuckAfterMs` after they start: resolves once both were found stuck, each after the timeout. */
  async function bothStuck(stuckAfterMs: number, stuckTimeoutS: number) {
    const primary = startPrimary({
      limits: { maxCrashes: 100, firstBackoffMs: 20, maxBackoffMs: 20 },
      stuckAfterMs,
      stuckTimeoutS,
    });
    await waitForMatches(primary.output, /"msg":"worker stuck/, 2, stuckTimeoutS * 1000 + 5_000);
    const stuck = primary.lines().filter((line) => line.msg.startsWith('worker stuck'));
    for (const line of stuck) expect(line.silentMs).toBeGreaterThanOrEqual(stuckTimeoutS * 1000);
    return primary;
  }

  it('kills a worker whose event loop stopped turning, after WORKER_STUCK_TIMEOUT_S of silence, and replaces it', async () => {
    const primary = await bothStuck(200, 1);
    // Killed, counted as a death, and replaced: the replacements come up (and get stuck in turn).
    await waitForMatches(primary.output, /"msg":"worker up"/, 3, 5_000);
    expect(died(primary.lines()).some((line) => line.signal === 'SIGKILL')).toBe(true);
  });

  it('watches a worker that says it listens before the first heartbeat goes out (a bundled worker does)', async () => {
    // Heartbeats every 400 ms: these workers are up sooner, and stop turning at once.
    await bothStuck(0, 4);
  });

  it('leaves alone workers whose event loops answer, for three times WORKER_STUCK_TIMEOUT_S', async () => {
    const primary = startPrimary({ limits: {}, stuckTimeoutS: 1 });
    await workersUp(primary, 2);
    await sleep(3_000);
    expect(primary.lines().filter((line) => line.msg.startsWith('worker stuck'))).toEqual([]);
    expect(died(primary.lines())).toEqual([]);
    // And they drain: exit 0.
    primary.child.kill('SIGTERM');
    expect(await primary.exited, primary.output()).toBe(0);
    expect(primary.lines().at(-1)).toMatchObject({ level: 'info', msg: 'stopped' });
  });

  it('kills no worker after the whole server was frozen for longer than WORKER_STUCK_TIMEOUT_S (docker pause)', async () => {
    const primary = startPrimary({ limits: {}, stuckTimeoutS: 1 });
    await workersUp(primary, 2);
    const primaryPid = primary.child.pid as number;
    const workers = childrenOf(primaryPid);
    process.kill(primaryPid, 'SIGSTOP');
    for (const pid of workers) process.kill(pid, 'SIGSTOP');
    await sleep(2_500);
    // The workers first: their answers wait in the pipe while the primary's timer runs first.
    for (const pid of workers) process.kill(pid, 'SIGCONT');
    process.kill(primaryPid, 'SIGCONT');
    await sleep(1_500);
    expect(primary.lines().filter((line) => line.msg.startsWith('worker stuck'))).toEqual([]);
    expect(died(primary.lines())).toEqual([]);
  });
});
