/**
 * @module Editing one note (or a new one): explicit save, a draft kept locally on every keystroke
 * until the server has it, the conflict view on a 409.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, type Note } from '#src/api.ts';
import { ConflictView } from '#src/components/conflict-view.tsx';
import { clearDraft, loadDraft, saveDraft } from '#src/drafts.ts';

export interface EditorProps {
  /** The note to edit, or undefined for a new one. */
  note: Note | undefined;
  onSaved: (note: Note) => void;
  onDeleted: (id: string) => void;
  onUnavailable: () => void;
  onSignedOut: () => void;
}

export function NoteEditor(props: EditorProps) {
  const key = props.note?.id ?? 'new';
  const draft = loadDraft(key);
  const [title, setTitle] = useState(draft?.title ?? props.note?.title ?? '');
  const [body, setBody] = useState(draft?.body ?? props.note?.body ?? '');
  const [base, setBase] = useState(draft?.baseVersion ?? props.note?.version ?? 0);
  const [conflict, setConflict] = useState<Note | undefined>();
  const [status, setStatus] = useState<string | undefined>(draft ? 'Unsaved draft restored.' : undefined);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});

  useEffect(() => {
    const changed = title !== (props.note?.title ?? '') || body !== (props.note?.body ?? '');
    if (changed) saveDraft({ noteId: key, baseVersion: base, title, body });
  }, [title, body, base, key]);

  const handle = (error: unknown) => {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 409 && error.current) {
      setConflict(error.current);
      return;
    }
    if (error.unavailable) {
      setStatus('Not saved yet: the server cannot be reached. Your text is kept on this device.');
      props.onUnavailable();
      return;
    }
    if (error.status === 401) {
      setStatus('Your session ended. Your text is kept on this device; sign in again to save it.');
      props.onSignedOut();
      return;
    }
    setFieldErrors(error.fields);
    setStatus(error.message);
  };

  const save = async (values = { title, body }, version = base) => {
    setStatus('Saving…');
    setFieldErrors({});
    try {
      const saved = props.note
        ? await api.updateNote(props.note.id, version, values)
        : await api.createNote(values.title, values.body);
      clearDraft(key);
      setConflict(undefined);
      setBase(saved.version);
      setTitle(saved.title);
      setBody(saved.body);
      setStatus('Saved.');
      props.onSaved(saved);
    } catch (error) {
      handle(error);
    }
  };

  const remove = async () => {
    if (!props.note || !globalThis.confirm?.(`Delete “${props.note.title}”? This cannot be undone.`)) return;
    try {
      await api.deleteNote(props.note.id, base);
      clearDraft(key);
      props.onDeleted(props.note.id);
    } catch (error) {
      handle(error);
    }
  };

  if (conflict) {
    return (
      <ConflictView
        mine={{ title, body }}
        theirs={conflict}
        onResolve={(resolution) => save(resolution, conflict.version)}
        onTakeTheirs={() => {
          clearDraft(key);
          setTitle(conflict.title);
          setBody(conflict.body);
          setBase(conflict.version);
          setConflict(undefined);
          setStatus('Took the saved version.');
          props.onSaved(conflict);
        }}
      />
    );
  }

  return (
    <form
      class="card editor"
      aria-label={props.note ? 'Edit note' : 'New note'}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <label>
        Title
        <input value={title} maxLength={200} required onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      {fieldErrors.title && <p class="field-error">Title {fieldErrors.title}</p>}
      <label>
        Text
        <textarea rows={10} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
      </label>
      {fieldErrors.body && <p class="field-error">Text {fieldErrors.body}</p>}
      <div class="actions">
        <button type="submit">Save</button>
        {props.note && (
          <button type="button" class="danger" onClick={remove}>
            Delete
          </button>
        )}
      </div>
      {status && (
        <p role="status" aria-live="polite">
          {status}
        </p>
      )}
    </form>
  );
}
