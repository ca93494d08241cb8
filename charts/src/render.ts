/**
 * @module The Render Blueprint (render.yaml) from the same model: client and server as image-backed
 * web services, a managed PostgreSQL, plans from the sizing profiles, secrets generated or asked
 * for, never written. Spec: https://render.com/docs/blueprint-spec
 */
import {
  HTTP_PORT,
  health,
  images,
  type ModelInput,
  POSTGRES_MAJOR,
  renderShutdownDelaySeconds,
} from '#src/model.ts';

/** Render's web service plans (CPU, memory) — https://render.com/pricing. */
export const RENDER_WEB_PLANS = {
  free: { cpu: 0.1, memoryMb: 512 },
  starter: { cpu: 0.5, memoryMb: 512 },
  standard: { cpu: 1, memoryMb: 2048 },
  pro: { cpu: 2, memoryMb: 4096 },
  'pro plus': { cpu: 4, memoryMb: 8192 },
  'pro max': { cpu: 4, memoryMb: 16_384 },
  'pro ultra': { cpu: 8, memoryMb: 32_768 },
} as const;

/**
 * Managed PostgreSQL plans and their connection caps (100 below 8 GB of RAM, 200 below 16 GB,
 * 400 below 32 GB, then 500).
 */
export const RENDER_DATABASE_PLANS = {
  free: { maxConnections: 100 },
  'basic-256mb': { maxConnections: 100 },
  'basic-1gb': { maxConnections: 100 },
  'basic-4gb': { maxConnections: 100 },
  'pro-4gb': { maxConnections: 100 },
  'pro-8gb': { maxConnections: 200 },
  'pro-16gb': { maxConnections: 400 },
} as const;

/** The same profile names as the Kubernetes sizing, plus Render's free and starter tiers. */
export const RENDER_PROFILES = {
  free: { server: 'free', client: 'free', database: 'free' },
  starter: { server: 'starter', client: 'starter', database: 'basic-256mb' },
  small: { server: 'standard', client: 'starter', database: 'basic-1gb' },
  medium: { server: 'pro', client: 'starter', database: 'pro-4gb' },
  large: { server: 'pro plus', client: 'standard', database: 'pro-8gb' },
  xlarge: { server: 'pro ultra', client: 'pro', database: 'pro-16gb' },
} as const satisfies Record<
  string,
  {
    server: keyof typeof RENDER_WEB_PLANS;
    client: keyof typeof RENDER_WEB_PLANS;
    database: keyof typeof RENDER_DATABASE_PLANS;
  }
>;
export type RenderProfile = keyof typeof RENDER_PROFILES;

export interface RenderOptions extends ModelInput {
  profile: RenderProfile;
  region?: string | undefined;
  /** Name of registry credentials in the Render workspace, for a private GHCR package. @default none */
  registryCredential?: string | undefined;
}

type EnvVar = Record<string, unknown>;

/** A plan's CPUs as CPU_LIMIT: whole CPUs, as the server and the client's nginx count them (at least 1). */
const declaredCpus = (plan: keyof typeof RENDER_WEB_PLANS) =>
  String(Math.max(1, Math.floor(RENDER_WEB_PLANS[plan].cpu)));

/** The Blueprint as a plain object (serialized by the synth). */
export function buildBlueprint(options: RenderOptions): Record<string, unknown> {
  const plans = RENDER_PROFILES[options.profile];
  const free = plans.server === 'free';
  const image = images(options);
  const region = options.region ?? 'frankfurt';
  const creds = options.registryCredential
    ? { creds: { fromRegistryCreds: { name: options.registryCredential } } }
    : {};
  const serverEnv: EnvVar[] = [
    { key: 'DATABASE_URL', fromDatabase: { name: 'plumb-db', property: 'connectionString' } },
    // Contract 7: 8080 everywhere (Render would otherwise set 10000, which carries no private traffic).
    { key: 'PORT', value: String(HTTP_PORT) },
    // Render's proxy in front of the client's nginx, then nginx; on the free plan nginx reaches the
    // server through its public URL, which adds the server's own Render proxy.
    { key: 'TRUST_PROXY', value: free ? '3' : '2' },
    { key: 'COOKIE_SECURE', value: '1' },
    { key: 'DB_MAX_CONNECTIONS', value: String(RENDER_DATABASE_PLANS[plans.database].maxConnections) },
    // The plan's CPUs, declared (ADR 022): Render's containers are not known to show their CPU quota
    // in the cgroup files, and a container that shows the host's CPUs would get a worker per host
    // CPU. Whole CPUs, as the server counts them (a fraction rounds down, at least 1), so that its
    // quick start still reads them (main.ts). Memory is detected.
    { key: 'CPU_LIMIT', value: declaredCpus(plans.server) },
    { key: 'SERVER_REPLICAS', value: '1' },
    // The server's public URL serves /metrics on the free plan: always behind a token.
    { key: 'METRICS_TOKEN', generateValue: true },
    // The server has a public URL too (a web service): a request sent there, not through the
    // client's nginx, would arrive a hop short of TRUST_PROXY, and the X-Forwarded-For entry it
    // believed would be one the caller wrote. Only requests carrying this, which nginx adds, count
    // their forwarded headers (ADR 025).
    { key: 'PROXY_SECRET', generateValue: true },
  ];
  if (free) serverEnv.push({ key: 'MIGRATE_ON_START', value: '1' });
  const server: Record<string, unknown> = {
    type: 'web',
    name: 'plumb-server',
    runtime: 'image',
    image: { url: image.server, ...creds },
    plan: plans.server,
    region,
    healthCheckPath: health.server.readiness,
    ...(free ? {} : { preDeployCommand: 'node /app/bin/migrate.js' }),
    numInstances: 1,
    maxShutdownDelaySeconds: renderShutdownDelaySeconds,
    autoDeployTrigger: 'off',
    envVars: serverEnv,
  };
  const client: Record<string, unknown> = {
    type: 'web',
    name: 'plumb-client',
    runtime: 'image',
    image: { url: image.client, ...creds },
    plan: plans.client,
    region,
    healthCheckPath: health.client.liveness,
    numInstances: 1,
    autoDeployTrigger: 'off',
    envVars: [
      { key: 'PORT', value: String(HTTP_PORT) },
      free
        ? // A free service cannot be reached on the private network: give its public URL once.
          { key: 'API_UPSTREAM', sync: false }
        : { key: 'API_UPSTREAM', fromService: { name: 'plumb-server', type: 'web', property: 'hostport' } },
      { key: 'PROXY_SECRET', fromService: { name: 'plumb-server', type: 'web', envVarKey: 'PROXY_SECRET' } },
      // As for the server: nginx would otherwise start a worker per CPU of the host it lands on.
      { key: 'CPU_LIMIT', value: declaredCpus(plans.client) },
    ],
  };
  return {
    services: [server, client],
    databases: [
      {
        name: 'plumb-db',
        databaseName: 'plumb',
        user: 'plumb',
        plan: plans.database,
        region,
        postgresMajorVersion: String(POSTGRES_MAJOR),
        // Reachable from the services on the private network only.
        ipAllowList: [],
      },
    ],
  };
}
