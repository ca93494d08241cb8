/** @module Password hashing with argon2id (OWASP's minimum: 19 MiB, 2 passes, 1 lane). Never logged, never returned. */
import { hash, verify } from '@node-rs/argon2';
import { ARGON2_MEMORY_KIB } from '#src/auth/argon2-cost.ts';

const OPTIONS = {
  algorithm: 2, // Algorithm.Argon2id (an ambient const enum, which isolated modules cannot read)
  memoryCost: ARGON2_MEMORY_KIB,
  timeCost: 2,
  parallelism: 1,
} as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** Hashed once per process, so "no such account" costs the same work as "wrong password". */
let dummyHash: Promise<string> | undefined;

/**
 * Verifies `password` against `stored`; with no stored hash (no such account) it verifies against
 * a dummy hash anyway and answers false, so both failures take about the same time.
 */
export async function verifyPassword(stored: string | undefined, password: string): Promise<boolean> {
  dummyHash ??= hashPassword('plumb-dummy-password-for-timing');
  const ok = await verify(stored ?? (await dummyHash), password).catch(() => false);
  return stored !== undefined && ok;
}

/** Computes the dummy hash ahead of the first sign-in, so that one is not slower either. */
export function warmUpPasswords(): Promise<unknown> {
  dummyHash ??= hashPassword('plumb-dummy-password-for-timing');
  return dummyHash;
}
