/** @module A note changed elsewhere while it was edited here: show both, lose nothing. */
import { useState } from 'preact/hooks';
import type { Note } from '#src/api.ts';

export interface ConflictProps {
  mine: { title: string; body: string };
  theirs: Note;
  /** Save `resolution` over the server's version. */
  onResolve: (resolution: { title: string; body: string }) => void;
  /** Drop my edit and take the server's. */
  onTakeTheirs: () => void;
}

export function ConflictView(props: ConflictProps) {
  const [merged, setMerged] = useState(`${props.theirs.body}\n\n${props.mine.body}`);
  const [merging, setMerging] = useState(false);
  return (
    <section class="card conflict" aria-labelledby="conflict-title">
      <h3 id="conflict-title">This note changed while you were editing it</h3>
      <div class="columns">
        <div>
          <h4>Your version</h4>
          <p class="note-title">{props.mine.title}</p>
          <pre>{props.mine.body}</pre>
        </div>
        <div>
          <h4>Saved version (v{props.theirs.version})</h4>
          <p class="note-title">{props.theirs.title}</p>
          <pre>{props.theirs.body}</pre>
        </div>
      </div>
      {merging && (
        <label>
          Merged text
          <textarea rows={8} value={merged} onInput={(e) => setMerged(e.currentTarget.value)} />
        </label>
      )}
      <div class="actions">
        <button type="button" onClick={() => props.onResolve(props.mine)}>
          Keep mine
        </button>
        <button type="button" onClick={props.onTakeTheirs}>
          Take the saved version
        </button>
        {merging ? (
          <button type="button" onClick={() => props.onResolve({ title: props.mine.title, body: merged })}>
            Save merged
          </button>
        ) : (
          <button type="button" onClick={() => setMerging(true)}>
            Merge by hand
          </button>
        )}
      </div>
    </section>
  );
}
