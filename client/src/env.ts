/**
 * @module The client's runtime configuration: the allow-list of public keys that may appear in
 * `window.__ENV__` (written to `/env-config.js` at container start). Nothing secret belongs here:
 * every value is readable by anyone who opens the page.
 */
import * as z from 'zod/mini';

export const clientEnvSchema = z.object({
  CLIENT_API_URL: z
    ._default(z.string().check(z.regex(/^(https?:\/\/[^\s"'<>]+)?$/, 'must be empty or an http(s) URL')), '')
    .check(
      z.describe('Base URL of the API as the browser sees it; empty means this origin (/api is proxied).'),
    ),
});

export type ClientEnv = z.output<typeof clientEnvSchema>;

/**
 * The client container's own settings, read by its entrypoint (nginx's configuration), never sent
 * to the browser.
 */
export const clientContainerEnvSchema = z.object({
  API_UPSTREAM: z
    .string()
    .check(
      z.regex(/^(https?:\/\/)?[A-Za-z0-9.-]+(:\d{1,5})?\/?$/, 'must be http(s)://host[:port] or host:port'),
      z.describe(
        "Where nginx proxies /api/: the server, e.g. http://plumb-server:8080, Render's host:port (http assumed), or https://plumb-server.onrender.com.",
      ),
    ),
  PORT: z
    ._default(z.string().check(z.regex(/^\d{1,5}$/, 'must be a port number')), '8080')
    .check(z.describe('Port nginx listens on.')),
  PROXY_SECRET: z.optional(
    z
      .string()
      .check(
        z.regex(/^[A-Za-z0-9+/=_-]{16,256}$/, 'must be 16 to 256 letters, digits or + / = _ -'),
        z.describe(
          "Sent to the server as X-Plumb-Proxy on every /api/ request: the server's PROXY_SECRET, so that it believes the X-Forwarded-* headers of requests that came through here and of no others.",
        ),
      ),
  ),
  CPU_LIMIT: z.optional(
    z
      .string()
      .check(
        z.regex(/^([1-9]\d{0,3}(\.\d+)?|0\.\d*[1-9]\d*)$/, 'must be a number of CPUs above 0, e.g. 2 or 0.5'),
        z.describe(
          "CPUs to start nginx workers for (one per whole CPU, at least 1), instead of the container's cgroup quota: for hosts whose cgroups do not show it (Render).",
        ),
      ),
  ),
});

declare global {
  /** Set by /env-config.js before the bundle runs (`window.__ENV__ = {…}`). */
  var __ENV__: Record<string, unknown> | undefined;
}

/** The runtime configuration, falling back to defaults (with a console warning) for bad values. */
export function readClientEnv(source: Record<string, unknown> = globalThis.__ENV__ ?? {}): ClientEnv {
  const result = clientEnvSchema.safeParse(source);
  if (result.success) return result.data;
  console.warn('Ignoring invalid runtime configuration in /env-config.js:', result.error.issues);
  return clientEnvSchema.parse({});
}
