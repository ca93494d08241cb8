/** @module Sessions, rate-limit counters, and full-text search over notes. */
import type { TransactionSql } from 'postgres';

export async function up(sql: TransactionSql): Promise<void> {
  await sql`
    create table sessions (
      id_hash bytea primary key,
      account_id uuid not null references accounts (id) on delete cascade,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null
    )`;
  await sql`create index sessions_account on sessions (account_id)`;
  await sql`create index sessions_expiry on sessions (expires_at)`;

  await sql`
    create table rate_limits (
      key text primary key,
      window_start timestamptz not null,
      count integer not null
    )`;

  // English stemming: "running" finds "run". The expression is immutable, as a stored column needs.
  await sql`
    alter table notes add column search tsvector generated always as (
      setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
    ) stored`;
  await sql`create index notes_search on notes using gin (search)`;
}
