/**
 * @module The deployment model: the units Plumb deploys, their images, ports, health paths and
 * environment (taken from the deployables' own env schemas — there is no second list). Both
 * renderings (Kubernetes manifests and the Render Blueprint) are made from it.
 */
import { clientContainerEnvSchema, clientEnvSchema } from '@plumb/client/env';
import { dbEnvSchema, POSTGRES_MAJOR } from '@plumb/db';
import { STOP_AFTER_DRAIN_MS, serverEnvSchema } from '@plumb/server/env';
import type { z } from 'zod';

export { POSTGRES_MAJOR };

export interface ModelInput {
  /** GitHub owner and repository: images are ghcr.io/<owner>/<repo>-client|server|db. */
  owner: string;
  repo: string;
  /** Release version: the image tag (contract 7). */
  version: string;
}

/** Both HTTP images listen here (contract 7). */
export const HTTP_PORT = 8080;
export const POSTGRES_PORT = 5432;

export const health = {
  server: { liveness: '/healthz', readiness: '/readyz' },
  client: { liveness: '/healthz', readiness: '/healthz' },
} as const;

/** The environment each container reads: the zod schemas' keys, and which must be given. */
export const envContract = {
  server: schemaKeys(serverEnvSchema),
  migrate: schemaKeys(dbEnvSchema),
  client: {
    // The client container's own settings (its entrypoint) plus the public CLIENT_* allow-list.
    known: [
      ...schemaKeys(clientContainerEnvSchema as unknown as z.ZodObject).known,
      ...schemaKeys(clientEnvSchema as unknown as z.ZodObject).known,
    ],
    required: schemaKeys(clientContainerEnvSchema as unknown as z.ZodObject).required,
  },
} as const;

function schemaKeys(schema: z.ZodObject): { known: string[]; required: string[] } {
  const known = Object.keys(schema.shape);
  const required = known.filter((key) => {
    const field = schema.shape[key] as z.ZodType;
    return !field.safeParse(undefined).success;
  });
  return { known, required };
}

export function images(input: ModelInput) {
  const base = `ghcr.io/${input.owner}/${input.repo}`.toLowerCase();
  return {
    client: `${base}-client:${input.version}`,
    server: `${base}-server:${input.version}`,
    migrate: `${base}-db:${input.version}`,
    postgres: `postgres:${POSTGRES_MAJOR}-trixie`,
  };
}

/**
 * How long an HTTP pod (server, client) sleeps in preStop, still serving, while it leaves the
 * Service's endpoints and the ingress, before its process is told to stop.
 */
export const PRE_STOP_SECONDS = 5;

/** The shutdown timing the server uses by default (server/src/env.ts): the grace period must cover it. */
export const serverShutdown = {
  preStopSeconds: PRE_STOP_SECONDS,
  delayMs: serverEnvSchema.shape.SHUTDOWN_DELAY_MS.parse(undefined),
  timeoutMs: serverEnvSchema.shape.SHUTDOWN_TIMEOUT_MS.parse(undefined),
};
/**
 * Seconds from a stop signal to its end, as the primary allows it: the drain, then the workers'
 * last `STOP_AFTER_DRAIN_MS`. Kubernetes' grace period adds the preStop sleep to it; Render's
 * `maxShutdownDelaySeconds` has no preStop.
 */
export const drainSeconds = (env: { SHUTDOWN_DELAY_MS?: unknown; SHUTDOWN_TIMEOUT_MS?: unknown } = {}) =>
  (Number(env.SHUTDOWN_DELAY_MS ?? serverShutdown.delayMs) +
    Number(env.SHUTDOWN_TIMEOUT_MS ?? serverShutdown.timeoutMs) +
    STOP_AFTER_DRAIN_MS) /
  1000;

/** Kept beyond the drain before a platform's SIGKILL. */
const SPARE_SECONDS = 5;

/** Kubernetes' wait from the stop to SIGKILL for the server: preStop, drain and stop, to spare. */
export const terminationGracePeriodSeconds =
  serverShutdown.preStopSeconds + Math.ceil(drainSeconds()) + SPARE_SECONDS;

/** Render's wait from SIGTERM to SIGKILL for the server: drain and stop, to spare (30 by default). */
export const renderShutdownDelaySeconds = Math.ceil(drainSeconds()) + SPARE_SECONDS;
