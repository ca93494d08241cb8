import { execFileSync } from 'node:child_process';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { coalescing, createLogger } from '#src/logger.ts';

describe('error log lines', () => {
  it("keep a PostgreSQL error's code and message but not its detail, query or parameters", () => {
    const error = Object.assign(
      new Error('duplicate key value violates unique constraint "accounts_email_key"'),
      {
        name: 'PostgresError',
        code: '23505',
        detail: 'Key (lower(email))=(ada@example.com) already exists.',
        query: 'insert into accounts (email, password_hash) values ($1, $2)',
        parameters: ['ada@example.com', '$argon2id$…'],
      },
    );
    let logged = '';
    const logger = createLogger('info', { write: (line: string) => (logged += line) });
    logger.error({ err: error }, 'unhandled error');
    expect(JSON.parse(logged)).toMatchObject({
      msg: 'unhandled error',
      err: { type: 'PostgresError', code: '23505' },
    });
    expect(logged).not.toMatch(/ada@example\.com|argon2|insert into/);
  });
});

describe('writing log lines', () => {
  it('hands the lines of one turn of the event loop to the file in one write, in order', async () => {
    const writes: string[] = [];
    const logger = createLogger('info', coalescing({ write: (chunk) => writes.push(chunk) }));
    logger.info('one');
    logger.info('two');
    logger.warn('three');
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toHaveLength(1);
    expect(
      writes[0]
        ?.split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line).msg),
    ).toEqual(['one', 'two', 'three']);
    // An idle logger writes a line on the next turn.
    logger.info('four');
    await nextTurn();
    expect(writes.map((chunk) => chunk.split('\n').length - 1)).toEqual([3, 1]);
  });

  it('writes the lines held when the process exits, in order, and lines logged on the way out', () => {
    const script = [
      `const { createLogger } = await import(${JSON.stringify(new URL('./logger.ts', import.meta.url).href)});`,
      'const logger = createLogger("info");',
      // A later exit listener: by the time it runs, every line held must be out. Then one that
      // ends the process at once: what was not written synchronously by then is lost.
      'const { writeSync } = await import("node:fs");',
      'process.on("exit", () => { writeSync(1, "LATER LISTENER\\n"); logger.warn("said on the way out"); });',
      'process.on("exit", () => process.kill(process.pid, "SIGKILL"));',
      // Every thread of libuv's pool busy for a while: an asynchronous write would wait for one.
      'const { pbkdf2 } = await import("node:crypto");',
      'for (let i = 0; i < 8; i++) pbkdf2("x", "y", 2_000_000, 32, "sha256", () => {});',
      'for (let i = 0; i < 1000; i++) logger.info({ i }, "line");',
      'logger.fatal("last words");',
      'process.exit(3);',
    ].join('\n');
    let stdout = '';
    try {
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    } catch (error) {
      const failed = error as { signal: string; stdout: string };
      expect(failed.signal).toBe('SIGKILL');
      stdout = failed.stdout;
    }
    const [before = '', after = ''] = stdout.split('LATER LISTENER\n');
    const lines = before
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(1001);
    expect(lines.slice(0, 1000).map((line) => line.i)).toEqual([...Array(1000).keys()]);
    expect(lines.at(-1)).toMatchObject({ msg: 'last words', level: 'fatal' });
    expect(JSON.parse(after)).toMatchObject({ msg: 'said on the way out', level: 'warn' });
  });
});
