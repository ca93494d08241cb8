/**
 * @module Sessions: a random opaque token in an HttpOnly cookie; only its SHA-256 is stored, so a
 * database leak yields no usable session. Expiry and revocation are server-side.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Database, Sql } from '#src/database.ts';

export const SESSION_COOKIE = 'plumb_session';

export interface SessionAccount {
  accountId: string;
  email: string;
  /** Hash of the token that authenticated this request (to keep it when revoking the others). */
  sessionHash: Buffer;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest();

/** What the database keys a session by: the SHA-256 of its token; `undefined` for no token this server gave out. */
export function sessionHashOf(token: string | undefined): Buffer | undefined {
  return token?.length === 43 ? hashToken(token) : undefined; // 32 bytes in base64url
}

/**
 * The account id of a live session, as a statement to nest in another: what makes a session live,
 * in one place (the notes list looks its session up in its own statement, ADR 013).
 */
export const liveSessionAccountId = (sql: Sql, sessionHash: Buffer) =>
  sql`select account_id from sessions where id_hash = ${sessionHash} and expires_at > now()`;

export interface SessionStore {
  /**
   * Creates a session for an account whose password hash is still `passwordHash` (the one just
   * verified), and returns its token; `undefined` when the password changed meanwhile, so a sign-in
   * racing a password change cannot outlive the change's revocation.
   */
  create(accountId: string, passwordHash: string): Promise<{ token: string; expiresAt: Date } | undefined>;
  /** The account behind a token, if the session exists and has not expired. */
  lookup(token: string): Promise<SessionAccount | undefined>;
  revoke(sessionHash: Buffer): Promise<void>;
  /** Revokes the session a token names, if any (sign-out needs no live session). */
  revokeToken(token: string): Promise<void>;
  /** Revokes every session of the account, except `keep` when given. */
  revokeAll(accountId: string, keep?: Buffer): Promise<void>;
}

export function sessionStore(db: Database, ttlHours: number): SessionStore {
  return {
    async create(accountId, passwordHash) {
      const token = randomBytes(32).toString('base64url');
      const [row] = await db.run(
        (sql) => sql<{ expiresAt: Date }[]>`
          insert into sessions (id_hash, account_id, expires_at)
          select ${hashToken(token)}, id, now() + ${ttlHours} * interval '1 hour'
          from accounts where id = ${accountId} and password_hash = ${passwordHash}
          returning expires_at as "expiresAt"`,
      );
      // Expired sessions are removed now and then, in the background, by whoever signs in.
      if (Math.random() < 0.05) {
        db.run((sql) => sql`delete from sessions where expires_at < now()`).catch(() => {});
      }
      return row ? { token, expiresAt: row.expiresAt } : undefined;
    },
    async lookup(token) {
      const sessionHash = sessionHashOf(token);
      if (!sessionHash) return undefined;
      const [row] = await db.run(
        (sql) => sql<{ accountId: string; email: string }[]>`
          select id as "accountId", email from accounts
          where id = (${liveSessionAccountId(sql, sessionHash)})`,
      );
      return row ? { ...row, sessionHash } : undefined;
    },
    async revoke(sessionHash) {
      await db.run((sql) => sql`delete from sessions where id_hash = ${sessionHash}`);
    },
    async revokeToken(token) {
      await db.run((sql) => sql`delete from sessions where id_hash = ${hashToken(token)}`);
    },
    async revokeAll(accountId, keep) {
      await db.run((sql) =>
        keep
          ? sql`delete from sessions where account_id = ${accountId} and id_hash <> ${keep}`
          : sql`delete from sessions where account_id = ${accountId}`,
      );
    },
  };
}

export function readSessionCookie(c: Context): string | undefined {
  return getCookie(c, SESSION_COOKIE);
}

export function writeSessionCookie(c: Context, token: string, expiresAt: Date, secure: boolean): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'Lax',
    secure,
    path: '/',
    expires: expiresAt,
  });
}

export function clearSessionCookie(c: Context, secure: boolean): void {
  deleteCookie(c, SESSION_COOKIE, { httpOnly: true, sameSite: 'Lax', secure, path: '/' });
}
