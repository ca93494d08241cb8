/** @module Accounts in PostgreSQL. Emails are stored as given (already trimmed and lower-cased at the edge). */
import type { Database } from '#src/database.ts';

export interface AccountRecord {
  id: string;
  email: string;
  passwordHash: string;
  createdAt: Date;
}

const UNIQUE_VIOLATION = '23505';

export function accountsRepository(db: Database) {
  return {
    /** Creates the account, or answers `undefined` when the email is taken. */
    async create(email: string, passwordHash: string): Promise<{ id: string; email: string } | undefined> {
      try {
        const [row] = await db.run(
          (sql) => sql<{ id: string; email: string }[]>`
            insert into accounts (email, password_hash) values (${email}, ${passwordHash})
            returning id, email`,
        );
        return row;
      } catch (error) {
        if ((error as { code?: string }).code === UNIQUE_VIOLATION) return undefined;
        throw error;
      }
    },
    async findByEmail(email: string): Promise<AccountRecord | undefined> {
      const [row] = await db.run(
        (sql) => sql<AccountRecord[]>`
          select id, email, password_hash as "passwordHash", created_at as "createdAt"
          from accounts where lower(email) = ${email}`,
      );
      return row;
    },
    async findById(id: string): Promise<AccountRecord | undefined> {
      const [row] = await db.run(
        (sql) => sql<AccountRecord[]>`
          select id, email, password_hash as "passwordHash", created_at as "createdAt"
          from accounts where id = ${id}`,
      );
      return row;
    },
    async setPassword(id: string, passwordHash: string): Promise<void> {
      await db.run((sql) => sql`update accounts set password_hash = ${passwordHash} where id = ${id}`);
    },
    /** Deletes the account; its notes and sessions go with it (foreign keys cascade). */
    async remove(id: string): Promise<void> {
      await db.run((sql) => sql`delete from accounts where id = ${id}`);
    },
  };
}

export type AccountsRepository = ReturnType<typeof accountsRepository>;
