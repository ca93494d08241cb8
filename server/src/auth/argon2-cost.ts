/** @module The cost of one argon2id hash (OWASP's minimum), apart from the native hasher, so the sizing can read it without loading it. */

/** Memory one hash takes, in KiB; the sizing counts it for concurrent sign-ins. */
export const ARGON2_MEMORY_KIB = 19_456;
