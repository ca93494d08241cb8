/** @module Calls to the Plumb API, relative to the configured base URL (same origin by default). */
import { readClientEnv } from '#src/env.ts';

export interface ServerInfo {
  name: string;
  version: string;
  gitSha: string | null;
}

/** Raised for any answer other than 2xx, and for a server that cannot be reached. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const base = readClientEnv().CLIENT_API_URL.replace(/\/$/, '');
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, { headers: { accept: 'application/json' }, signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, 'The server cannot be reached.');
  }
  if (!response.ok) throw new ApiError(response.status, `The server answered ${response.status}.`);
  return (await response.json()) as T;
}

export function fetchInfo(signal?: AbortSignal): Promise<ServerInfo> {
  return getJson<ServerInfo>('/api/info', signal);
}
