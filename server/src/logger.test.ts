import { describe, expect, it } from 'vitest';
import { createLogger } from '#src/logger.ts';

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
