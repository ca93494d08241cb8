/** @module The note list (newest first, "load more" over the cursor API, search as you type) beside the editor. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, type Note } from '#src/api.ts';
import { NoteEditor } from '#src/components/note-editor.tsx';

export interface NotesViewProps {
  onUnavailable: () => void;
  onSignedOut: () => void;
  /** Search delay after the last keystroke. @default 250 */
  debounceMs?: number;
}

export function NotesView(props: NotesViewProps) {
  const [query, setQuery] = useState('');
  const [notes, setNotes] = useState<Note[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | undefined>();
  const [selected, setSelected] = useState<Note | 'new' | undefined>();
  // A new editor only when the person opens another note (not when a new note gets its id on save).
  const [editorKey, setEditorKey] = useState(0);
  const open = (target: Note | 'new') => {
    setSelected(target);
    setEditorKey((k) => k + 1);
  };
  const generation = useRef(0);

  const load = async (q: string, after: string | null) => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const page = await api.listNotes({ q, cursor: after });
      if (mine !== generation.current) return; // a newer search answered first
      setNotes((current) => (after ? [...current, ...page.items] : page.items));
      setCursor(page.nextCursor);
      setError(undefined);
    } catch (thrown) {
      if (mine !== generation.current) return;
      if (thrown instanceof ApiError && thrown.status === 401) props.onSignedOut();
      else if (thrown instanceof ApiError && thrown.unavailable) props.onUnavailable();
      setError(thrown instanceof ApiError ? thrown.message : 'Could not load the notes.');
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  };

  useEffect(() => {
    const timer = setTimeout(() => void load(query.trim(), null), query ? (props.debounceMs ?? 250) : 0);
    return () => clearTimeout(timer);
  }, [query]);

  const replace = (note: Note) => {
    setNotes((current) => [note, ...current.filter((n) => n.id !== note.id)]);
    setSelected(note);
  };

  return (
    <div class="notes">
      <section class="list" aria-label="Notes">
        <div class="toolbar">
          <label class="search">
            <span class="visually-hidden">Search notes</span>
            <input
              type="search"
              placeholder="Search notes"
              value={query}
              onInput={(e) => setQuery(e.currentTarget.value)}
            />
          </label>
          <button type="button" onClick={() => open('new')}>
            New note
          </button>
        </div>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        {!loading && !error && notes.length === 0 && (
          <p class="empty">{query ? 'No note matches this search.' : 'No notes yet. Write the first one.'}</p>
        )}
        <ul>
          {notes.map((note) => (
            <li key={note.id}>
              <button
                type="button"
                class="note-item"
                aria-current={selected !== 'new' && selected?.id === note.id ? 'true' : undefined}
                onClick={() => open(note)}
              >
                <span class="note-title">{note.title}</span>
                <span class="note-meta">{new Date(note.updatedAt).toLocaleString()}</span>
              </button>
            </li>
          ))}
        </ul>
        {loading && <p aria-busy="true">Loading…</p>}
        {cursor && !loading && (
          <button type="button" onClick={() => void load(query.trim(), cursor)}>
            Load more
          </button>
        )}
      </section>
      {selected && (
        <NoteEditor
          key={editorKey}
          note={selected === 'new' ? undefined : selected}
          onSaved={replace}
          onDeleted={(id) => {
            setNotes((current) => current.filter((note) => note.id !== id));
            setSelected(undefined);
          }}
          onUnavailable={props.onUnavailable}
          onSignedOut={props.onSignedOut}
        />
      )}
    </div>
  );
}
