/** @module `GET /api/info`: what is running — name, version, commit. */
import { Hono } from 'hono';

export interface BuildInfo {
  name: string;
  version: string;
  gitSha: string | null;
}

export function infoRoutes(info: BuildInfo): Hono {
  const routes = new Hono();
  routes.get('/info', (c) => c.json(info));
  return routes;
}
