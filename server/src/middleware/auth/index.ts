/**
 * @module Route guards. `requireAccount` answers 401 unless the session cookie names a live session.
 * `requireSessionCookie` only checks that a session cookie came, for a route whose own statement
 * looks the session up (and answers 401 itself when it is not live). Note that Hono's `/path/*`
 * also matches `/path` itself: register a guard once.
 */
import type { MiddlewareHandler } from 'hono';
import {
  readSessionCookie,
  type SessionAccount,
  type SessionStore,
  sessionHashOf,
} from '#src/auth/sessions.ts';
import { unauthenticated } from '#src/errors.ts';

export type AuthEnv = {
  Variables: { account: SessionAccount; sessionHash: Buffer; requestId: string };
};

export function requireAccount(sessions: SessionStore): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    if (c.get('account')) return next(); // already checked by an outer guard: one lookup per request
    const token = readSessionCookie(c);
    const account = token ? await sessions.lookup(token) : undefined;
    if (!account) throw unauthenticated();
    c.set('account', account);
    return next();
  };
}

export function requireSessionCookie(): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const sessionHash = sessionHashOf(readSessionCookie(c));
    if (!sessionHash) throw unauthenticated();
    c.set('sessionHash', sessionHash);
    return next();
  };
}
