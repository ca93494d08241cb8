/** @module Self-service for the signed-in account under /api/account: password, sign out everywhere, export, delete. */
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { stream } from 'hono/streaming';
import type { AccountsRepository } from '#src/accounts/repository.ts';
import { isHttps } from '#src/auth/client-ip.ts';
import { hashPassword, verifyPassword } from '#src/auth/passwords.ts';
import type { RateLimiter } from '#src/auth/rate-limit.ts';
import { clearSessionCookie, type SessionStore, writeSessionCookie } from '#src/auth/sessions.ts';
import { ApiError, unauthenticated } from '#src/errors.ts';
import type { Logger } from '#src/logger.ts';
import { type AuthEnv, requireAccount } from '#src/middleware/auth/index.ts';
import type { NotesRepository } from '#src/notes/repository.ts';
import type { AuthConfig } from '#src/routes/auth.ts';
import { apiRouter } from '#src/routes/router.ts';
import { ChangePassword, ConfirmPassword, Export, errors, json, jsonRequest } from '#src/routes/schemas.ts';

/** Exports of one account that may run at once in a worker (the rest get 429). */
export const EXPORTS_PER_ACCOUNT = 2;

export interface AccountDeps {
  logger: Logger;
  accounts: AccountsRepository;
  notes: NotesRepository;
  sessions: SessionStore;
  limiter: RateLimiter;
  config: AuthConfig;
}

const tags = ['account'];
const security = [{ session: [] }];

const changePassword = createRoute({
  method: 'post',
  path: '/account/password',
  tags,
  security,
  summary: 'Change the password; signs out every other session',
  request: jsonRequest(ChangePassword),
  responses: { 204: { description: 'Changed' }, ...errors(400, 401, 403, 429, 503) },
});
const signOutEverywhere = createRoute({
  method: 'post',
  path: '/account/sign-out-everywhere',
  tags,
  security,
  summary: 'Revoke every session of this account, this one included',
  responses: { 204: { description: 'Signed out everywhere' }, ...errors(401, 403, 503) },
});
const exportNotes = createRoute({
  method: 'get',
  path: '/account/export',
  tags,
  security,
  summary: 'Download the account and all its notes as JSON',
  responses: { 200: json(Export, 'The export, as an attachment'), ...errors(401, 429, 503) },
});
const deleteAccount = createRoute({
  method: 'delete',
  path: '/account',
  tags,
  security,
  summary: 'Delete the account with all its notes and sessions (re-enter the password)',
  request: jsonRequest(ConfirmPassword),
  responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 429, 503) },
});

export function accountRoutes(deps: AccountDeps) {
  const { accounts, notes, sessions, limiter, config, logger } = deps;
  const secure = (c: Context) => config.cookieSecure || isHttps(c, config.trustedProxies);

  /** Re-checks the password of the signed-in account, counting failures like sign-in does. */
  async function confirmPassword(c: Context<AuthEnv>, password: string) {
    const { accountId } = c.get('account');
    const account = await accounts.findById(accountId);
    if (!account) throw unauthenticated();
    const key = `login:account:${account.email}`;
    await limiter.hit(key, config.accountMax);
    if (!(await verifyPassword(account.passwordHash, password))) {
      throw new ApiError(400, 'wrong_password', 'The password is wrong.', {
        fields: { password: 'is wrong' },
      });
    }
    await limiter.reset(key);
    return account;
  }

  const routes = apiRouter();
  routes.use('/account/*', requireAccount(sessions));

  routes.openapi(changePassword, async (c) => {
    const { currentPassword, newPassword } = c.req.valid('json');
    const account = await confirmPassword(c, currentPassword);
    const passwordHash = await hashPassword(newPassword);
    await accounts.setPassword(account.id, passwordHash);
    // Every session goes, this one too; the caller continues on a fresh token.
    await sessions.revokeAll(account.id);
    const created = await sessions.create(account.id, passwordHash);
    if (created) writeSessionCookie(c, created.token, created.expiresAt, secure(c));
    else clearSessionCookie(c, secure(c));
    return c.body(null, 204);
  });

  routes.openapi(signOutEverywhere, async (c) => {
    await sessions.revokeAll(c.get('account').accountId);
    clearSessionCookie(c, secure(c));
    return c.body(null, 204);
  });

  // Downloads running per account in this worker. A download that is not being read holds its
  // batch (up to 1.6 MB of notes) until its client goes: one account cannot pile them up.
  const exporting = new Map<string, number>();
  routes.openapi(exportNotes, async (c) => {
    const { accountId } = c.get('account');
    const account = await accounts.findById(accountId);
    if (!account) throw unauthenticated();
    const running = exporting.get(accountId) ?? 0;
    if (running >= EXPORTS_PER_ACCOUNT) {
      throw new ApiError(
        429,
        'export_running',
        'An export of this account is already running; try again when it ends.',
        {
          headers: { 'Retry-After': '10' },
        },
      );
    }
    exporting.set(accountId, running + 1);
    const done = () => {
      const left = (exporting.get(accountId) ?? 1) - 1;
      if (left > 0) exporting.set(accountId, left);
      else exporting.delete(accountId);
    };
    const exportedAt = new Date().toISOString();
    const head = {
      exportedAt,
      account: { id: account.id, email: account.email, createdAt: account.createdAt.toISOString() },
    };
    c.header('Content-Type', 'application/json; charset=utf-8');
    c.header('Content-Disposition', `attachment; filename="plumb-notes-${exportedAt.slice(0, 10)}.json"`);
    c.header('Cache-Control', 'no-store');
    // Streamed in batches: an account's notes (up to 100 KB each) never sit in memory all at once.
    const response = stream(
      c,
      async (out) => {
        try {
          await out.write(`${JSON.stringify(head).slice(0, -1)},"notes":[`);
          let first = true;
          await notes.forEachBatch(accountId, async (batch) => {
            for (const note of batch) {
              if (out.aborted) return false; // the client went: no more statements for nobody
              await out.write(`${first ? '' : ','}${JSON.stringify(note)}`);
              first = false;
            }
            return !out.aborted;
          });
          await out.write(']}');
        } finally {
          done();
        }
      },
      async (error) => {
        logger.error(
          { requestId: c.get('requestId'), err: error },
          'export failed midway; the download is cut short',
        );
      },
    );
    return response as never;
  });

  routes.openapi(deleteAccount, async (c) => {
    const account = await confirmPassword(c, c.req.valid('json').password);
    await accounts.remove(account.id);
    clearSessionCookie(c, secure(c));
    return c.body(null, 204);
  });
  return routes;
}
