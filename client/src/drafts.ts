/**
 * @module Drafts kept in localStorage until the server has them: what a person typed survives a
 * server that is down, a reload, and a session that expired.
 */
export interface Draft {
  /** The note's id, or 'new' for a note not created yet. */
  noteId: string;
  /** The version the draft was started from (0 for a new note). */
  baseVersion: number;
  title: string;
  body: string;
  savedAt: string;
}

const PREFIX = 'plumb:draft:';

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined; // storage disabled: drafts live only in memory
  }
}

export function saveDraft(draft: Omit<Draft, 'savedAt'>): void {
  storage()?.setItem(PREFIX + draft.noteId, JSON.stringify({ ...draft, savedAt: new Date().toISOString() }));
}

export function loadDraft(noteId: string): Draft | undefined {
  const raw = storage()?.getItem(PREFIX + noteId);
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as Draft;
  } catch {
    return undefined;
  }
}

export function clearDraft(noteId: string): void {
  storage()?.removeItem(PREFIX + noteId);
}

/** Every draft not yet saved, newest first. */
export function allDrafts(): Draft[] {
  const store = storage();
  if (!store) return [];
  const drafts: Draft[] = [];
  for (let i = 0; i < store.length; i++) {
    const key = store.key(i);
    if (key?.startsWith(PREFIX)) {
      const draft = loadDraft(key.slice(PREFIX.length));
      if (draft) drafts.push(draft);
    }
  }
  return drafts.sort((a, b) => b.savedAt.localeCompare(a.savedAt));
}
