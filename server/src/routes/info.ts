/** @module `GET /api/info`: what is running — name, version, commit — and how it sized itself. */
import { Hono } from 'hono';
import type { Sizing } from '#src/sizing/index.ts';

export interface BuildInfo {
  name: string;
  version: string;
  gitSha: string | null;
}

export function infoRoutes(info: BuildInfo, sizing: Sizing | undefined): Hono {
  const routes = new Hono();
  const body = { ...info, sizing: sizing ?? null };
  routes.get('/info', (c) => c.json(body));
  return routes;
}
