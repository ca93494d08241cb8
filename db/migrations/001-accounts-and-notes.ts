/** @module Accounts and their notes: the first tables. Applied once, never edited; later changes are new files. */
import type { TransactionSql } from 'postgres';

export async function up(sql: TransactionSql): Promise<void> {
  await sql`
    create table accounts (
      id uuid primary key default gen_random_uuid(),
      email text not null,
      password_hash text not null,
      created_at timestamptz not null default now()
    )`;
  await sql`create unique index accounts_email_key on accounts (lower(email))`;
  await sql`
    create table notes (
      id uuid primary key default gen_random_uuid(),
      account_id uuid not null references accounts (id) on delete cascade,
      title text not null,
      body text not null default '',
      version integer not null default 1 check (version >= 1),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`;
  await sql`create index notes_account_newest on notes (account_id, created_at desc, id desc)`;
}
