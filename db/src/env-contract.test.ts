import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dbEnvSchema } from '#src/env.ts';
import { EnvError, parseEnv, refuseEmpty } from '#src/env-contract.ts';

describe('parseEnv', () => {
  it('applies defaults to a valid environment', () => {
    expect(parseEnv(dbEnvSchema, { DATABASE_URL: 'postgres://u:p@db:5432/plumb' })).toEqual({
      DATABASE_URL: 'postgres://u:p@db:5432/plumb',
      MIGRATE_LOCK_TIMEOUT_MS: 300_000,
    });
  });

  it('names every bad variable at once, without echoing values', () => {
    let error: unknown;
    try {
      parseEnv(dbEnvSchema, { DATABASE_URL: 'mysql://secret-password@x', MIGRATE_LOCK_TIMEOUT_MS: 'soon' });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(EnvError);
    const issues = (error as EnvError).issues;
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(/^DATABASE_URL: must be a postgres:\/\//);
    expect(issues[1]).toBe('MIGRATE_LOCK_TIMEOUT_MS: must be a number');
    expect((error as Error).message).not.toContain('secret-password');
  });

  it('says a number must be a whole one', () => {
    expect(() =>
      parseEnv(dbEnvSchema, { DATABASE_URL: 'postgres://x', MIGRATE_LOCK_TIMEOUT_MS: '1500.5' }),
    ).toThrow(/^Invalid environment:\n {2}- MIGRATE_LOCK_TIMEOUT_MS: must be a whole number$/);
  });

  it('says a required variable is missing', () => {
    expect(() => parseEnv(dbEnvSchema, {})).toThrow(/DATABASE_URL: is required but not set/);
  });

  it('reads an empty value as unset: the default applies, and a required one is refused as empty', () => {
    expect(parseEnv(dbEnvSchema, { DATABASE_URL: 'postgres://x', MIGRATE_LOCK_TIMEOUT_MS: '' })).toEqual({
      DATABASE_URL: 'postgres://x',
      MIGRATE_LOCK_TIMEOUT_MS: 300_000,
    });
    expect(() => parseEnv(dbEnvSchema, { DATABASE_URL: '' })).toThrow(
      /^Invalid environment:\n {2}- DATABASE_URL: is set but empty: give it a value, or unset it$/,
    );
  });

  it('refuses an empty value for a variable marked refuseEmpty, whose unset state means something else', () => {
    const schema = z.object({ TOKEN: refuseEmpty(z.string().min(16).optional()).describe('A token.') });
    expect(parseEnv(schema, {})).toEqual({});
    expect(() => parseEnv(schema, { TOKEN: '' })).toThrow(
      /TOKEN: is set but empty: give it a value, or unset it/,
    );
  });
});
