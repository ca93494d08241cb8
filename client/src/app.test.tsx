/**
 * Component tests: the app against a fake network boundary (fetch), asserting what a person sees.
 * The end-to-end suite drives the real server through real nginx in a real browser.
 */
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Note } from '#src/api.ts';
import { App } from '#src/app.tsx';
import { ConflictView } from '#src/components/conflict-view.tsx';
import { NoteEditor } from '#src/components/note-editor.tsx';
import { NotesView } from '#src/components/notes-view.tsx';
import { loadDraft } from '#src/drafts.ts';

type Route = (url: URL, init: RequestInit) => Response | Promise<Response>;
function fakeApi(routes: Record<string, Route>) {
  const calls: { method: string; url: URL; body: unknown }[] = [];
  const fetch = vi.fn(async (input: string, init: RequestInit = {}) => {
    const url = new URL(input, 'http://app.test');
    const method = init.method ?? 'GET';
    calls.push({ method, url, body: init.body ? JSON.parse(String(init.body)) : undefined });
    const route = routes[`${method} ${url.pathname}`];
    if (!route)
      return Response.json({ error: { code: 'not_found', message: 'No such route.' } }, { status: 404 });
    return route(url, init);
  });
  vi.stubGlobal('fetch', fetch);
  return calls;
}

const note = (over: Partial<Note> = {}): Note => ({
  id: '00000000-0000-4000-8000-000000000001',
  title: 'Groceries',
  body: 'milk',
  version: 1,
  createdAt: '2026-11-26T10:00:00.000Z',
  updatedAt: '2026-11-26T10:00:00.000Z',
  ...over,
});

beforeEach(() => localStorage.clear());
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  globalThis.__ENV__ = undefined;
});

describe('signing in', () => {
  it('shows the sign-in form when there is no session, and the notes after signing in', async () => {
    const calls = fakeApi({
      'GET /api/auth/me': () =>
        Response.json({ error: { code: 'unauthenticated', message: 'Sign in first.' } }, { status: 401 }),
      'POST /api/auth/login': () => Response.json({ id: 'a1', email: 'ada@example.com' }),
      'GET /api/notes': () => Response.json({ items: [note()], nextCursor: null }),
    });
    render(<App />);
    fireEvent.input(await screen.findByLabelText('Email'), { target: { value: 'ada@example.com' } });
    fireEvent.input(screen.getByLabelText('Password'), { target: { value: 'correct horse battery' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('Groceries')).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      email: 'ada@example.com',
      password: 'correct horse battery',
    });
    expect(screen.getByRole('navigation', { name: 'Main' })).toBeTruthy();
  });

  it('names the fields the server refused', async () => {
    fakeApi({
      'GET /api/auth/me': () =>
        Response.json({ error: { code: 'unauthenticated', message: 'x' } }, { status: 401 }),
      'POST /api/auth/signup': () =>
        Response.json(
          {
            error: {
              code: 'invalid_request',
              message: 'The request is not valid.',
              fields: { password: 'must be at least 10 characters' },
            },
          },
          { status: 400 },
        ),
    });
    render(<App />);
    fireEvent.click(await screen.findByRole('button', { name: 'No account yet? Create one' }));
    fireEvent.input(screen.getByLabelText('Email'), { target: { value: 'ada@example.com' } });
    fireEvent.input(screen.getByLabelText('Password'), { target: { value: 'short' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create an account' }));
    expect(await screen.findByText('Password must be at least 10 characters')).toBeTruthy();
    expect(screen.getByLabelText('Password').getAttribute('aria-invalid')).toBe('true');
  });

  it('shows a retrying banner when the server cannot be reached', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => Promise.reject(new TypeError('network down'))),
    );
    render(<App />);
    expect((await screen.findByRole('alert')).textContent).toMatch(/cannot be reached right now\. Retrying/);
  });
});

describe('the note list', () => {
  it('loads more over the cursor and searches as you type (debounced)', async () => {
    const calls = fakeApi({
      'GET /api/notes': (url) => {
        if (url.searchParams.get('q'))
          return Response.json({ items: [note({ id: 'n3', title: 'Found it' })], nextCursor: null });
        if (url.searchParams.get('cursor') === 'c1')
          return Response.json({ items: [note({ id: 'n2', title: 'Older' })], nextCursor: null });
        return Response.json({ items: [note({ id: 'n1', title: 'Newest' })], nextCursor: 'c1' });
      },
    });
    render(<NotesView onUnavailable={() => {}} onSignedOut={() => {}} debounceMs={10} />);
    expect(await screen.findByText('Newest')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    expect(await screen.findByText('Older')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();

    fireEvent.input(screen.getByLabelText('Search notes'), { target: { value: 'f' } });
    fireEvent.input(screen.getByLabelText('Search notes'), { target: { value: 'fo' } });
    fireEvent.input(screen.getByLabelText('Search notes'), { target: { value: 'found' } });
    expect(await screen.findByText('Found it')).toBeTruthy();
    expect(screen.queryByText('Older')).toBeNull();
    const searches = calls.filter((c) => c.url.searchParams.get('q'));
    expect(searches.map((c) => c.url.searchParams.get('q'))).toEqual(['found']);
  });

  it('says when there are no notes yet', async () => {
    fakeApi({ 'GET /api/notes': () => Response.json({ items: [], nextCursor: null }) });
    render(<NotesView onUnavailable={() => {}} onSignedOut={() => {}} />);
    expect(await screen.findByText('No notes yet. Write the first one.')).toBeTruthy();
  });
});

describe('editing', () => {
  it('keeps an unsaved draft on the device when the server is down, and restores it', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => Promise.reject(new TypeError('down'))),
    );
    const unavailable = vi.fn();
    render(
      <NoteEditor
        note={note()}
        onSaved={() => {}}
        onDeleted={() => {}}
        onUnavailable={unavailable}
        onSignedOut={() => {}}
      />,
    );
    fireEvent.input(screen.getByLabelText('Text'), { target: { value: 'milk, eggs, coffee' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toMatch(/Not saved yet/));
    expect(unavailable).toHaveBeenCalled();
    expect(loadDraft(note().id)).toMatchObject({ body: 'milk, eggs, coffee', baseVersion: 1 });
    cleanup(); // a reload
    render(
      <NoteEditor
        note={note()}
        onSaved={() => {}}
        onDeleted={() => {}}
        onUnavailable={() => {}}
        onSignedOut={() => {}}
      />,
    );
    expect((screen.getByLabelText('Text') as HTMLTextAreaElement).value).toBe('milk, eggs, coffee');
    expect(screen.getByRole('status').textContent).toBe('Unsaved draft restored.');
  });

  it('on a 409 shows both versions; "Keep mine" saves over the current version and clears the draft', async () => {
    const theirs = note({ body: 'changed elsewhere', version: 2 });
    const calls = fakeApi({
      'PATCH /api/notes/00000000-0000-4000-8000-000000000001': (_url, init) => {
        const body = JSON.parse(String(init.body)) as { version: number; body: string };
        if (body.version === 1) {
          return Response.json(
            { error: { code: 'version_conflict', message: 'The note changed.' }, current: theirs },
            { status: 409 },
          );
        }
        return Response.json(note({ body: body.body, version: 3 }));
      },
    });
    const saved = vi.fn();
    render(
      <NoteEditor
        note={note()}
        onSaved={saved}
        onDeleted={() => {}}
        onUnavailable={() => {}}
        onSignedOut={() => {}}
      />,
    );
    fireEvent.input(screen.getByLabelText('Text'), { target: { value: 'my edit' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText('This note changed while you were editing it')).toBeTruthy();
    expect(screen.getByText('my edit')).toBeTruthy();
    expect(screen.getByText('changed elsewhere')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Keep mine' }));
    await waitFor(() => expect(saved).toHaveBeenCalledWith(note({ body: 'my edit', version: 3 })));
    expect(calls.at(-1)?.body).toEqual({ title: 'Groceries', body: 'my edit', version: 2 });
    expect(loadDraft(note().id)).toBeUndefined();
  });
});

describe('the conflict view', () => {
  it('merges by hand from both texts', () => {
    const resolve = vi.fn();
    render(
      <ConflictView
        mine={{ title: 'T', body: 'mine' }}
        theirs={note({ body: 'theirs', version: 4 })}
        onResolve={resolve}
        onTakeTheirs={() => {}}
      />,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Merge by hand' }));
    const merged = screen.getByLabelText('Merged text') as HTMLTextAreaElement;
    expect(merged.value).toBe('theirs\n\nmine');
    fireEvent.input(merged, { target: { value: 'both, merged' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save merged' }));
    expect(resolve).toHaveBeenCalledWith({ title: 'T', body: 'both, merged' });
  });
});

describe('the about view', () => {
  it('shows what the server runs and its sizing, from the runtime-configured API URL', async () => {
    globalThis.__ENV__ = { CLIENT_API_URL: 'https://api.example.test/' };
    const calls = fakeApi({
      'GET /api/auth/me': () => Response.json({ id: 'a1', email: 'ada@example.com' }),
      'GET /api/info': () =>
        Response.json({
          name: 'plumb',
          version: '1.2.3',
          gitSha: 'abc1234',
          sizing: { cpu: 2, memoryBytes: 2 * 1024 ** 3, workers: 2, heapMb: 512, poolMax: 10 },
        }),
    });
    location.hash = '#/about';
    render(<App />);
    expect(await screen.findByText('1.2.3')).toBeTruthy();
    expect(screen.getByText(/2 CPU, 2\.0 GiB: 2 worker\(s\), heap 512 MiB, pool 10/)).toBeTruthy();
    expect(calls.every((c) => c.url.origin === 'https://api.example.test')).toBe(true);
    location.hash = '';
  });
});
