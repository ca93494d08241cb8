/**
 * @module `requireAccount`: a route's guard; answers 401 unless the session cookie names a live
 * session. Note that Hono's `/path/*` also matches `/path` itself: register the guard once.
 */
import type { MiddlewareHandler } from 'hono';
import { readSessionCookie, type SessionAccount, type SessionStore } from '#src/auth/sessions.ts';
import { unauthenticated } from '#src/errors.ts';

export type AuthEnv = { Variables: { account: SessionAccount; requestId: string } };

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
