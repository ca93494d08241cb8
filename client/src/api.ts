/** @module Calls to the Plumb API, relative to the configured base URL (same origin by default). */
import { readClientEnv } from '#src/env.ts';

export interface Account {
  id: string;
  email: string;
}

/** The wire shape of a note, as the server defines it (a type only: nothing of the server is bundled). */
export type { Note } from '@plumb/server';

import type { Note } from '@plumb/server';

export interface NotePage {
  items: Note[];
  nextCursor: string | null;
}

export interface ServerInfo {
  name: string;
  version: string;
  gitSha: string | null;
  sizing?: { cpu: number; memoryBytes: number; workers: number; heapMb: number; poolMax: number } | null;
}

/** Any answer other than 2xx, and a server that cannot be reached (status 0). */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string>;
  /** The note as it is now, on a 409. */
  readonly current: Note | undefined;
  constructor(
    status: number,
    code: string,
    message: string,
    extra: { fields?: Record<string, string>; current?: Note } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = extra.fields ?? {};
    this.current = extra.current;
  }
  /** The server is down, restarting or overloaded: worth retrying, and nothing typed is lost. */
  get unavailable(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

async function request<T>(
  path: string,
  init: { method?: string; json?: unknown; headers?: Record<string, string> } = {},
): Promise<T> {
  const base = readClientEnv().CLIENT_API_URL.replace(/\/$/, '');
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      credentials: base ? 'include' : 'same-origin',
      headers: {
        accept: 'application/json',
        ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });
  } catch {
    throw new ApiError(0, 'unreachable', 'The server cannot be reached.');
  }
  if (response.status === 204) return undefined as T;
  const body = (await response.json().catch(() => undefined)) as
    | { error?: { code?: string; message?: string; fields?: Record<string, string> }; current?: Note }
    | undefined;
  if (!response.ok) {
    const error = body?.error;
    throw new ApiError(
      response.status,
      error?.code ?? 'http_error',
      error?.message ?? `The server answered ${response.status}.`,
      {
        ...(error?.fields ? { fields: error.fields } : {}),
        ...(body?.current ? { current: body.current } : {}),
      },
    );
  }
  return body as T;
}

export const api = {
  info: () => request<ServerInfo>('/api/info'),
  me: () => request<Account>('/api/auth/me'),
  signup: (email: string, password: string) =>
    request<Account>('/api/auth/signup', { method: 'POST', json: { email, password } }),
  login: (email: string, password: string) =>
    request<Account>('/api/auth/login', { method: 'POST', json: { email, password } }),
  logout: () => request<void>('/api/auth/logout', { method: 'POST' }),
  listNotes: (options: { q?: string; cursor?: string | null; limit?: number } = {}) => {
    const query = new URLSearchParams({ limit: String(options.limit ?? 20) });
    if (options.q) query.set('q', options.q);
    if (options.cursor) query.set('cursor', options.cursor);
    return request<NotePage>(`/api/notes?${query}`);
  },
  createNote: (title: string, body: string) =>
    request<Note>('/api/notes', { method: 'POST', json: { title, body } }),
  updateNote: (id: string, version: number, changes: { title?: string; body?: string }) =>
    request<Note>(`/api/notes/${id}`, { method: 'PATCH', json: { ...changes, version } }),
  deleteNote: (id: string, version: number) =>
    request<void>(`/api/notes/${id}?version=${version}`, { method: 'DELETE' }),
  changePassword: (currentPassword: string, newPassword: string) =>
    request<void>('/api/account/password', { method: 'POST', json: { currentPassword, newPassword } }),
  signOutEverywhere: () => request<void>('/api/account/sign-out-everywhere', { method: 'POST' }),
  deleteAccount: (password: string) =>
    request<void>('/api/account', { method: 'DELETE', json: { password } }),
  exportUrl: () => `${readClientEnv().CLIENT_API_URL.replace(/\/$/, '')}/api/account/export`,
};
