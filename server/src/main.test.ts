import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from '@plumb/db/embedded';
import { createTestDatabase, type TestDatabase } from '@plumb/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

function startServer(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  return { child, output: () => output };
}

async function waitFor(url: string, timeoutMs = 10_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fetch(url);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('the server process', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('refuses a bad environment, naming every bad variable, and exits non-zero', async () => {
    const { child, output } = startServer({ DATABASE_URL: 'mysql://nope', PORT: '99999', LOG_LEVEL: 'loud' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(78);
    expect(output()).toMatch(/DATABASE_URL: must be a postgres:\/\//);
    expect(output()).toMatch(/PORT: /);
    expect(output()).toMatch(/LOG_LEVEL: /);
    expect(output()).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('serves /readyz from a migrated database, then drains and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const { child, output } = startServer({ DATABASE_URL: db.url, PORT: String(port), HOST: '127.0.0.1' });
    try {
      const ready = await waitFor(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      const info = await (await fetch(`http://127.0.0.1:${port}/api/info`)).json();
      expect(info).toMatchObject({ name: 'plumb', gitSha: null });
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      const lines = output()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { msg: string });
      expect(lines.map((line) => line.msg)).toEqual(
        expect.arrayContaining(['listening', 'draining', 'stopped']),
      );
    } finally {
      child.kill('SIGKILL');
    }
  });
});
