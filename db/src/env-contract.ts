/** @module The env contract's shared machinery: parse an environment against a zod schema, naming every bad variable. */
import { z } from 'zod';

/** A PostgreSQL connection string; postgres.js parses it (and honours the PG* variables). */
export const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// or postgresql:// URL');

/** An environment flag: `1`/`true` turn it on, `0`/`false` off (empty: its default, as for every variable). */
export const flag = z
  .enum(['1', '0', 'true', 'false'])
  .transform((value) => value === '1' || value === 'true');

/** A whole number read from a string, with inclusive bounds. */
export const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Kubernetes' quantity suffixes (`K` too, which people write for `k`). */
const UNITS: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
/** Kubernetes' quantity grammar (`.5Gi`, `1.`, `129e6`, `2e+9`, `128974848000m`), unsigned. */
const QUANTITY = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|m|k|K|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/**
 * A memory size as Kubernetes writes it (`512Mi`, `2Gi`, `1G`, `129e6`, or plain bytes), read as
 * bytes.
 */
export const memoryQuantity = z
  .string()
  .regex(QUANTITY, 'must be a size like 512Mi, 2Gi or a number of bytes')
  .transform((value) => {
    const [, number, unit = '', exponent] = QUANTITY.exec(value) ?? [];
    const scale = exponent === undefined ? (UNITS[unit] as number) : 10 ** Number(exponent);
    // (Infinity, from 1e400, becomes a number the bound below refuses.)
    return Math.min(Math.floor(Number(number) * scale), 2 ** 54);
  })
  .pipe(
    z
      .number()
      .min(64 * 2 ** 20, 'must be at least 64Mi')
      .max(2 ** 53, 'must be at most 8Pi'),
  );

/**
 * Marks a variable whose empty value is refused instead of read as unset: one whose unset state
 * switches a protection off (METRICS_TOKEN), where an empty value is a mistake (a command that
 * printed nothing, a Secret never filled), not a choice. Mark the variable's outermost schema
 * (`refuseEmpty(z.string().optional())`): a wrapper added after the mark does not carry it.
 */
export function refuseEmpty<S extends z.ZodType>(schema: S): S {
  return schema.meta({ refuseEmpty: true }) as S;
}

/** The variables of `schema` (a `z.object()` of variables) marked {@link refuseEmpty}. */
export function emptyRefused(schema: z.ZodObject): string[] {
  return Object.entries(schema.shape as Record<string, z.ZodType>)
    .filter(([, field]) => z.globalRegistry.get(field)?.['refuseEmpty'] === true)
    .map(([name]) => name);
}

/** Thrown by {@link parseEnv} with one line per bad variable. */
export class EnvError extends Error {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`Invalid environment:\n${issues.map((line) => `  - ${line}`).join('\n')}`);
    this.name = 'EnvError';
    this.issues = issues;
  }
}

/**
 * Parses `env` with `schema`; throws an {@link EnvError} naming every bad variable (never its value,
 * which may be a secret). A variable set to the empty string (or only spaces) counts as unset, as
 * in a shell's `${NAME:-default}` (Compose's `NAME=${UNSET}`, `kubectl set env NAME=`, a blank
 * ConfigMap key), so it takes its default; a required one is refused as empty, and so is one
 * marked {@link refuseEmpty}.
 *
 * @example
 * const env = parseEnv(serverEnvSchema, process.env);
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): z.output<S> {
  if (!(schema instanceof z.ZodObject)) throw new TypeError('parseEnv needs a z.object() of variables');
  const refused = new Set(emptyRefused(schema));
  const given: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) {
    const blank = value !== undefined && value.trim() === '';
    if (!blank || refused.has(name)) given[name] = value;
  }
  const result = schema.safeParse(given);
  if (result.success) return result.data;
  const issues = result.error.issues.map(
    (issue) => `${issue.path.join('.') || '(environment)'}: ${problemOf(issue, env)}`,
  );
  throw new EnvError(issues);
}

/** What is wrong with a variable, in words for whoever sets it. */
function problemOf(issue: z.core.$ZodIssue, env: Record<string, string | undefined>): string {
  const value = env[String(issue.path[0])];
  if (value?.trim() === '') return 'is set but empty: give it a value, or unset it';
  if (issue.code !== 'invalid_type') return issue.message;
  // From the environment itself: zod 4 leaves an issue's input out unless asked to.
  if (value === undefined) return 'is required but not set';
  if (issue.expected === 'number') return 'must be a number';
  if (issue.expected === 'int') return 'must be a whole number';
  return issue.message;
}

/**
 * Parses the environment for a command's entry point; on failure prints every bad variable and
 * exits with status 78 (EX_CONFIG), so a misconfigured container fails fast with a readable reason.
 */
export function loadEnvOrExit<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.output<S> {
  try {
    return parseEnv(schema, env);
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
}
