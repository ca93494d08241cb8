import { parseEnv } from '@plumb/db/env-contract';
import { describe, expect, it } from 'vitest';
import { serverEnvSchema } from '#src/env.ts';

describe("the server's environment", () => {
  const parse = (env: Record<string, string>) =>
    parseEnv(serverEnvSchema, { DATABASE_URL: 'postgres://x', ...env });

  it('reads empty (and blank) values as unset, so the drain keeps its defaults instead of becoming 0 ms', () => {
    const env = parse({
      SHUTDOWN_DELAY_MS: '',
      SHUTDOWN_TIMEOUT_MS: ' ',
      MAX_QUEUED_REQUESTS: '',
      METRICS_ENABLED: '',
    });
    expect(env).toMatchObject({
      SHUTDOWN_DELAY_MS: 3_000,
      SHUTDOWN_TIMEOUT_MS: 20_000,
      MAX_QUEUED_REQUESTS: 512,
      METRICS_ENABLED: true,
    });
  });

  it('refuses an empty METRICS_TOKEN rather than serving /metrics without one', () => {
    expect(() => parse({ METRICS_TOKEN: ' ' })).toThrow(/METRICS_TOKEN: is set but empty/);
    expect(() => parse({ METRICS_TOKEN: '' })).toThrow(
      /METRICS_TOKEN: is set but empty: give it a value, or unset it/,
    );
    expect(parse({}).METRICS_TOKEN).toBeUndefined();
  });
});
