/** @module Notes in PostgreSQL: every statement is scoped to the owning account, and writes check the version. */
import { liveSessionAccountId } from '#src/auth/sessions.ts';
import type { Database, Sql } from '#src/database.ts';
import { ApiError } from '#src/errors.ts';

/** A note as the API sends it. */
export interface Note {
  id: string;
  title: string;
  body: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** A row as selected by {@link columns}: the note, and its creation time in microseconds for cursors. */
type NoteRow = Note & { createdUs: string };
/**
 * The most characters of titles and bodies one page of the list carries, besides the note that
 * crosses it (a page always has its first note): a page of `limit` notes is shorter when they are
 * long, and its `nextCursor` leads on. Like DynamoDB's 1 MB per query page, it bounds what one
 * request holds: a page of 100 notes of 100 KB was 10 MB, held as rows, JSON and bytes written
 * (ADR 026).
 */
export const LIST_PAGE_CHARACTERS = 256 * 1024;

export type WriteResult =
  | { kind: 'done'; note: Note }
  | { kind: 'conflict'; current: Note }
  | { kind: 'missing' };

/**
 * A note row's columns. PostgreSQL writes the times as toISOString() would (UTC, milliseconds, "Z"),
 * so no Date is parsed and formatted again for every row.
 */
const NOTE_COLUMNS = `id, title, body, version,
  to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "createdAt",
  to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "updatedAt",
  (extract(epoch from created_at) * 1000000)::bigint::text as "createdUs"`;
const columns = (sql: Sql) => sql.unsafe(NOTE_COLUMNS);

// Field by field, no object rest/spread: the answer must not carry the cursor's column.
const toNote = (row: NoteRow): Note => ({
  id: row.id,
  title: row.title,
  body: row.body,
  version: row.version,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

/**
 * Notes in one export batch: at most 1.6 MB of bodies (100 KB each), so a download that is read
 * slowly holds little memory.
 */
export const EXPORT_BATCH_NOTES = 16;

/** A creation time in microseconds since the epoch (exact, unlike a JS Date), as a timestamptz. */
const microsecondsToTime = (sql: Sql, us: string) =>
  sql`timestamptz 'epoch' + ${us}::bigint * interval '1 microsecond'`;

/** Keyset cursor: the creation time in microseconds (exact, unlike a JS Date) and the id. */
const encodeCursor = (row: NoteRow) => Buffer.from(`${row.createdUs}.${row.id}`).toString('base64url');
const CURSOR = /^(\d{1,16})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
// 16 digits of microseconds reach the year 2286: a longer number is no cursor this API gave out.
function decodeCursor(cursor: string): { us: string; id: string } {
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!match?.[1] || !match[2])
    throw new ApiError(400, 'invalid_cursor', 'The cursor is not one this API gave out.');
  return { us: match[1], id: match[2] };
}

export function notesRepository(db: Database) {
  async function current(sql: Sql, accountId: string, id: string): Promise<Note | undefined> {
    const [row] = await sql<
      NoteRow[]
    >`select ${columns(sql)} from notes where id = ${id} and account_id = ${accountId}`;
    return row ? toNote(row) : undefined;
  }

  return {
    /**
     * A page of the notes of the account whose live session `sessionHash` names, newest first,
     * looking the session up in the same statement (one round trip for the busiest route, not two);
     * `undefined` when the session is missing or expired.
     */
    async listForSession(
      sessionHash: Buffer,
      options: { limit: number; cursor?: string | undefined; q?: string | undefined },
    ): Promise<{ items: Note[]; nextCursor: string | null } | undefined> {
      const after = options.cursor ? decodeCursor(options.cursor) : undefined;
      const q = options.q?.trim();
      // One row of nulls when the session is live but no note matches; no row when it is not live.
      // The rows are taken one at a time as they arrive, and a page ends at its text budget: a row
      // past it is only counted (it says the page goes on) and let go, so what one request holds
      // stays bounded however long the notes are.
      const page: NoteRow[] = [];
      let rows = 0;
      let characters = 0;
      await db.run((sql) =>
        sql<(NoteRow | { [K in keyof NoteRow]: null })[]>`
          select n.* from (${liveSessionAccountId(sql, sessionHash)}) as owner
          left join lateral (
            select ${columns(sql)} from notes
            where notes.account_id = owner.account_id
              ${q ? sql`and search @@ websearch_to_tsquery('english', ${q})` : sql``}
              ${
                after
                  ? sql`and (created_at, id) < (${microsecondsToTime(sql, after.us)}, ${after.id}::uuid)`
                  : sql``
              }
            order by created_at desc, id desc
            limit ${options.limit + 1}
          ) as n on true
          order by n."createdUs"::bigint desc, n.id desc`.forEach((row) => {
          rows++;
          if (row.id === null || page.length === options.limit || characters >= LIST_PAGE_CHARACTERS) return;
          page.push(row);
          characters += row.title.length + row.body.length;
        }),
      );
      if (rows === 0) return undefined;
      const last = page.at(-1);
      return {
        items: page.map(toNote),
        nextCursor: rows > page.length && last ? encodeCursor(last) : null,
      };
    },

    async create(accountId: string, input: { title: string; body: string }): Promise<Note> {
      const [row] = await db.run(
        (sql) => sql<NoteRow[]>`
          insert into notes (account_id, title, body) values (${accountId}, ${input.title}, ${input.body})
          returning ${columns(sql)}`,
      );
      if (!row) throw new Error('note insert returned no row');
      return toNote(row);
    },

    async get(accountId: string, id: string): Promise<Note | undefined> {
      return db.run((sql) => current(sql, accountId, id));
    },

    /** Applies `changes` only if the note is still at `version`; otherwise says what it is now. */
    async update(
      accountId: string,
      id: string,
      version: number,
      changes: { title?: string | undefined; body?: string | undefined },
    ): Promise<WriteResult> {
      return db.run(async (sql) => {
        const [row] = await sql<NoteRow[]>`
          update notes set
            title = coalesce(${changes.title ?? null}::text, title),
            body = coalesce(${changes.body ?? null}::text, body),
            version = version + 1,
            updated_at = now()
          where id = ${id} and account_id = ${accountId} and version = ${version}
          returning ${columns(sql)}`;
        if (row) return { kind: 'done', note: toNote(row) };
        const now = await current(sql, accountId, id);
        return now ? { kind: 'conflict', current: now } : { kind: 'missing' };
      });
    },

    async remove(accountId: string, id: string, version: number): Promise<WriteResult> {
      return db.run(async (sql) => {
        const [row] = await sql<NoteRow[]>`
          delete from notes where id = ${id} and account_id = ${accountId} and version = ${version}
          returning ${columns(sql)}`;
        if (row) return { kind: 'done', note: toNote(row) };
        const now = await current(sql, accountId, id);
        return now ? { kind: 'conflict', current: now } : { kind: 'missing' };
      });
    },

    /**
     * Every note of the account, oldest first, a batch at a time (an export never holds them all).
     * Each batch is its own statement, and no connection is held while `each` runs: `each` writes to
     * a download, and a client that stops reading must not keep one of the pool's few connections
     * (a handful of stalled downloads held them all, and every other request hung). A note written
     * meanwhile may or may not be in the export; none is in it twice.
     */
    async forEachBatch(
      accountId: string,
      /** Resolves to `false` to stop (the download's client went). */
      each: (notes: Note[]) => Promise<boolean | undefined>,
      size = EXPORT_BATCH_NOTES,
    ): Promise<void> {
      let after: NoteRow | undefined;
      for (;;) {
        const from = after;
        const rows = await db.run(
          (sql) => sql<NoteRow[]>`
            select ${columns(sql)} from notes
            where account_id = ${accountId}
              ${from ? sql`and (created_at, id) > (${microsecondsToTime(sql, from.createdUs)}, ${from.id}::uuid)` : sql``}
            order by created_at, id
            limit ${size}`,
        );
        if (rows.length > 0 && (await each(rows.map(toNote))) === false) return;
        if (rows.length < size) return;
        after = rows.at(-1);
      }
    },
  };
}

export type NotesRepository = ReturnType<typeof notesRepository>;
