/** @module An index for the periodic clean-up of old rate-limit windows (it scanned the table). */
import type { TransactionSql } from 'postgres';

export async function up(sql: TransactionSql): Promise<void> {
  await sql`create index rate_limits_window_start on rate_limits (window_start)`;
}
