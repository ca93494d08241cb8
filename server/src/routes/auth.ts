/** @module Sign-up, sign-in, sign-out and "who am I" under /api/auth. */
import { createRoute } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { AccountsRepository } from '#src/accounts/repository.ts';
import { addressKey, clientIp, isHttps } from '#src/auth/client-ip.ts';
import { hashPassword, verifyPassword } from '#src/auth/passwords.ts';
import type { RateLimiter } from '#src/auth/rate-limit.ts';
import {
  clearSessionCookie,
  readSessionCookie,
  type SessionStore,
  writeSessionCookie,
} from '#src/auth/sessions.ts';
import { ApiError } from '#src/errors.ts';
import { requireAccount } from '#src/middleware/auth/index.ts';
import { apiRouter } from '#src/routes/router.ts';
import { Account, Credentials, errors, json, jsonRequest } from '#src/routes/schemas.ts';

export interface AuthConfig {
  trustedProxies: number;
  cookieSecure: boolean;
  ipMax: number;
  accountMax: number;
}

export interface AuthDeps {
  accounts: AccountsRepository;
  sessions: SessionStore;
  limiter: RateLimiter;
  config: AuthConfig;
}

const tags = ['auth'];

const signup = createRoute({
  method: 'post',
  path: '/auth/signup',
  tags,
  summary: 'Create an account and sign in',
  request: jsonRequest(Credentials),
  responses: {
    201: json(Account, 'Signed up; the session cookie is set'),
    ...errors(400, 409, 413, 415, 429, 503),
  },
});
const login = createRoute({
  method: 'post',
  path: '/auth/login',
  tags,
  summary: 'Sign in',
  request: jsonRequest(Credentials),
  responses: { 200: json(Account, 'Signed in; the session cookie is set'), ...errors(400, 401, 429, 503) },
});
const logout = createRoute({
  method: 'post',
  path: '/auth/logout',
  tags,
  summary: 'Sign out (revokes this session)',
  responses: { 204: { description: 'Signed out; the cookie is cleared' }, ...errors(403, 503) },
});
const me = createRoute({
  method: 'get',
  path: '/auth/me',
  tags,
  summary: 'The signed-in account',
  security: [{ session: [] }],
  responses: { 200: json(Account, 'The account'), ...errors(401, 503) },
});

/** The rate limit's key for the address a sign-up or sign-in comes from. */
const ipKeyOf = (c: Context, trustedProxies: number) => `auth:ip:${addressKey(clientIp(c, trustedProxies))}`;

/** The paths whose attempts count against the address's limit. */
export const ADDRESS_LIMITED_PATHS = ['/api/auth/signup', '/api/auth/login'] as const;

/**
 * For ahead of admission control on {@link ADDRESS_LIMITED_PATHS}: an attempt from an address whose
 * refusal this worker remembers gets its 429 at once, without a place in the admission queue. A
 * flood from one address then cannot fill the queue that everyone else's requests wait in.
 */
export function refuseRememberedAddresses(limiter: RateLimiter, trustedProxies: number): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'POST') limiter.refuseRemembered(ipKeyOf(c, trustedProxies));
    await next();
  };
}

export function authRoutes(deps: AuthDeps) {
  const { accounts, sessions, limiter, config } = deps;
  const secure = (c: Context) => config.cookieSecure || isHttps(c, config.trustedProxies);
  const ipKey = (c: Context) => ipKeyOf(c, config.trustedProxies);

  /** Starts a session (replacing one the browser already had); false if the password just changed. */
  const startSession = async (c: Context, accountId: string, passwordHash: string) => {
    const created = await sessions.create(accountId, passwordHash);
    if (!created) return false;
    const previous = readSessionCookie(c);
    if (previous) await sessions.revokeToken(previous);
    writeSessionCookie(c, created.token, created.expiresAt, secure(c));
    return true;
  };
  const invalidCredentials = () =>
    new ApiError(401, 'invalid_credentials', 'The email or the password is wrong.');

  const routes = apiRouter();
  routes.openapi(signup, async (c) => {
    const { email, password } = c.req.valid('json');
    await limiter.hit(ipKey(c), config.ipMax);
    // Per email too: sign-up answers whether an email is taken, so probing it is limited like sign-in.
    await limiter.hit(`signup:email:${email}`, config.accountMax);
    const passwordHash = await hashPassword(password);
    const account = await accounts.create(email, passwordHash);
    if (!account) throw new ApiError(409, 'email_taken', 'An account with this email already exists.');
    if (!(await startSession(c, account.id, passwordHash))) throw invalidCredentials();
    return c.json({ id: account.id, email: account.email }, 201);
  });

  routes.openapi(login, async (c) => {
    const { email, password } = c.req.valid('json');
    await limiter.hit(ipKey(c), config.ipMax);
    const accountKey = `login:account:${email}`;
    await limiter.hit(accountKey, config.accountMax);
    const account = await accounts.findByEmail(email);
    // The same work and the same answer whether the account is missing or the password wrong.
    if (!(await verifyPassword(account?.passwordHash, password)) || !account) throw invalidCredentials();
    await limiter.reset(accountKey);
    if (!(await startSession(c, account.id, account.passwordHash))) throw invalidCredentials();
    return c.json({ id: account.id, email: account.email }, 200);
  });

  routes.openapi(logout, async (c) => {
    const token = readSessionCookie(c);
    if (token) await sessions.revokeToken(token);
    clearSessionCookie(c, secure(c));
    return c.body(null, 204);
  });

  routes.use(me.getRoutingPath(), requireAccount(sessions));
  routes.openapi(me, (c) => {
    const { accountId, email } = c.get('account');
    return c.json({ id: accountId, email }, 200);
  });
  return routes;
}
