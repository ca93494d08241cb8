import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Note as NoteJson } from '#src/notes/repository.ts';
import { createTestApp, type TestApp } from '#src/testing.ts';

describe('concurrent writes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('20 parallel PATCHes of the same version: exactly one wins, 19 get 409 with the winner', async () => {
    const user = t.client();
    await user.signup();
    const note = (await (
      await user.request('/api/notes', { method: 'POST', json: { title: 'Shared', body: 'v1' } })
    ).json()) as NoteJson;

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        user.request(`/api/notes/${note.id}`, {
          method: 'PATCH',
          headers: { 'if-match': `"${note.version}"` },
          json: { body: `written by request ${i}` },
        }),
      ),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(19);

    const bodies = (await Promise.all(responses.map((response) => response.json()))) as (
      | NoteJson
      | { current: NoteJson }
    )[];
    const winner = bodies[statuses.indexOf(200)] as NoteJson;
    expect(winner.version).toBe(2);
    for (const body of bodies) if ('current' in body) expect(body.current).toEqual(winner);

    const final = (await (await user.request(`/api/notes/${note.id}`)).json()) as NoteJson;
    expect(final).toEqual(winner);
  });
});
