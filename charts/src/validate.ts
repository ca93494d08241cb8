/**
 * @module Checks over generated manifests and the Blueprint, each returning the problems it found
 * (empty = good): Kubernetes schema validation, a strict check for fields unknown to the API,
 * security and resource policy, the env contract, the shutdown timing, and the Blueprint's schema
 * and references. The tests run them over the output and over known-bad fixtures.
 */
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { drainSeconds, envContract } from '#src/model.ts';
import { RENDER_BLUEPRINT_SCHEMA } from '#src/render-schema.ts';

type Obj = Record<string, unknown>;
const require = createRequire(import.meta.url);
const k8sImports = require('cdk8s-plus-34/lib/imports/k8s.js') as Record<string, (value: unknown) => unknown>;

const name = (object: Obj) => `${object.kind}/${(object.metadata as Obj | undefined)?.name}`;

/** Validation against the Kubernetes OpenAPI schemas (kubernetes-models), offline. */
export async function schemaProblems(object: Obj): Promise<string[]> {
  const path = `kubernetes-models/${object.apiVersion}/${object.kind}`;
  let Model: new (data: Obj) => { validate(): void };
  try {
    Model = (await import(path))[String(object.kind)];
  } catch {
    return [`${name(object)}: unknown apiVersion/kind ${object.apiVersion} ${object.kind}`];
  }
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return [`${name(object)}: ${(error as Error).message}`];
  }
}

class Box {
  readonly value: unknown;
  constructor(value: unknown) {
    this.value = value;
  }
}
const box = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(box)
    : value && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).map(([key, v]) => [key, box(v)]))
      : new Box(value);
const unbox = (value: unknown): unknown =>
  value instanceof Box
    ? value.value
    : Array.isArray(value)
      ? value.map(unbox)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([key, v]) => [key, unbox(v)]))
        : value;

/** Paths present in `a` but not in `b`. */
function missingPaths(a: unknown, b: unknown, path = ''): string[] {
  if (a && typeof a === 'object' && !Array.isArray(a)) {
    const other = (b && typeof b === 'object' ? b : {}) as Obj;
    return Object.entries(a).flatMap(([key, v]) =>
      key in other ? missingPaths(v, other[key], `${path}.${key}`) : [`${path}.${key}`],
    );
  }
  if (Array.isArray(a))
    return a.flatMap((v, i) => missingPaths(v, Array.isArray(b) ? b[i] : undefined, `${path}[${i}]`));
  return [];
}

/**
 * Fields the Kubernetes API does not know: the object goes through the typed cdk8s imports'
 * serializer, which keeps only known fields; whatever does not come back is unknown (a typo that
 * `kubectl apply` would silently drop, or reject with strict field validation).
 */
export function unknownFieldProblems(object: Obj): string[] {
  const serialize = k8sImports[`toJson_Kube${object.kind}Props`];
  if (!serialize) return [`${name(object)}: no typed import for kind ${object.kind}`];
  const { apiVersion: _, kind: __, ...props } = object;
  const back = unbox(serialize(box(props)));
  return missingPaths(props, back).map((path) => `${name(object)}: unknown field ${path.slice(1)}`);
}

const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const SECRETISH = /PASSWORD|SECRET|TOKEN|KEY|DATABASE_URL/;

function podSpecOf(object: Obj): { spec: Obj; longRunning: boolean } | undefined {
  const spec = object.spec as Obj | undefined;
  if (!spec) return undefined;
  if (object.kind === 'Deployment' || object.kind === 'StatefulSet') {
    return { spec: ((spec.template as Obj).spec as Obj) ?? {}, longRunning: true };
  }
  if (object.kind === 'Job') return { spec: ((spec.template as Obj).spec as Obj) ?? {}, longRunning: false };
  if (object.kind === 'CronJob') {
    const job = (spec.jobTemplate as Obj).spec as Obj;
    return { spec: ((job.template as Obj).spec as Obj) ?? {}, longRunning: false };
  }
  return undefined;
}

/** Security and resource policy over every pod spec. */
export function policyProblems(object: Obj): string[] {
  const problems: string[] = [];
  const where = name(object);
  const labels = ((object.metadata as Obj | undefined)?.labels ?? {}) as Obj;
  if (object.kind !== 'Namespace' && !labels['app.kubernetes.io/name'])
    problems.push(`${where}: no app.kubernetes.io/name label`);
  const pod = podSpecOf(object);
  if (!pod) return problems;
  if (pod.spec.automountServiceAccountToken !== false)
    problems.push(`${where}: service account token is mounted`);
  for (const container of (pod.spec.containers ?? []) as Obj[]) {
    const at = `${where} container ${container.name}`;
    const image = String(container.image ?? '');
    if (!/:[\w][\w.-]*$/.test(image) || image.endsWith(':latest'))
      problems.push(`${at}: image ${image} is not pinned to a tag`);
    const security = (container.securityContext ?? {}) as Obj;
    if (security.runAsNonRoot !== true) problems.push(`${at}: runAsNonRoot is not true`);
    if (typeof security.runAsUser === 'number' && security.runAsUser === 0)
      problems.push(`${at}: runs as root (uid 0)`);
    if (security.readOnlyRootFilesystem !== true) problems.push(`${at}: root filesystem is writable`);
    if (security.allowPrivilegeEscalation !== false) problems.push(`${at}: privilege escalation is allowed`);
    if (!((security.capabilities as Obj | undefined)?.drop as string[] | undefined)?.includes('ALL')) {
      problems.push(`${at}: capabilities are not all dropped`);
    }
    if ((security.seccompProfile as Obj | undefined)?.type !== 'RuntimeDefault')
      problems.push(`${at}: seccomp is not RuntimeDefault`);
    const resources = (container.resources ?? {}) as { requests?: Obj; limits?: Obj };
    for (const kind of ['requests', 'limits'] as const) {
      for (const resource of ['cpu', 'memory']) {
        const quantity = resources[kind]?.[resource];
        if (quantity === undefined) problems.push(`${at}: no ${kind}.${resource}`);
        else if (!QUANTITY.test(String(quantity)))
          problems.push(`${at}: ${kind}.${resource} "${quantity}" is not a quantity`);
      }
    }
    if (pod.longRunning && (!container.livenessProbe || !container.readinessProbe)) {
      problems.push(`${at}: a long-running container needs liveness and readiness probes`);
    }
    for (const env of (container.env ?? []) as Obj[]) {
      if (SECRETISH.test(String(env.name)) && env.value !== undefined) {
        problems.push(`${at}: ${env.name} has a literal value; reference a Secret`);
      }
    }
  }
  return problems;
}

/** Every required variable is provided, and nothing the container's schema does not know. */
export function envContractProblems(object: Obj): string[] {
  const pod = podSpecOf(object);
  if (!pod) return [];
  const component = ((object.metadata as Obj).labels as Obj)['app.kubernetes.io/component'];
  const contract = { server: envContract.server, migrate: envContract.migrate, client: envContract.client }[
    String(component)
  ];
  if (!contract) return [];
  const problems: string[] = [];
  for (const container of (pod.spec.containers ?? []) as Obj[]) {
    const given = ((container.env ?? []) as Obj[]).map((env) => String(env.name));
    for (const key of contract.required)
      if (!given.includes(key)) problems.push(`${name(object)}: ${key} is required but not provided`);
    for (const key of given)
      if (!contract.known.includes(key))
        problems.push(`${name(object)}: ${key} is not in the ${component} env schema`);
  }
  return problems;
}

/** preStop + shutdown delay + shutdown timeout must end before the kubelet kills the pod. */
export function gracePeriodProblems(object: Obj): string[] {
  if (
    object.kind !== 'Deployment' ||
    ((object.metadata as Obj).labels as Obj)['app.kubernetes.io/component'] !== 'server'
  )
    return [];
  const pod = podSpecOf(object)?.spec ?? {};
  const container = ((pod.containers ?? []) as Obj[])[0] ?? {};
  const env = Object.fromEntries(((container.env ?? []) as Obj[]).map((e) => [e.name, e.value]));
  const preStop = Number(
    (((container.lifecycle as Obj | undefined)?.preStop as Obj | undefined)?.sleep as Obj | undefined)
      ?.seconds ?? 0,
  );
  const grace = Number(pod.terminationGracePeriodSeconds ?? 30);
  // After its drain, the server closes its pool and exits: the grace period must leave it that long.
  const needed = preStop + drainSeconds(env);
  return needed <= grace
    ? []
    : [
        `${name(object)}: preStop ${preStop}s + drain and stop ${drainSeconds(env)}s > grace period ${grace}s`,
      ];
}

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
const validateBlueprint = ajv.compile(RENDER_BLUEPRINT_SCHEMA);

/** The Blueprint against the schema of the fields we use, then its references and env contract. */
export function blueprintProblems(blueprint: Obj): string[] {
  const problems: string[] = [];
  if (!validateBlueprint(blueprint)) {
    for (const error of validateBlueprint.errors ?? []) {
      problems.push(
        `render.yaml${error.instancePath}: ${error.message}${error.params && 'additionalProperty' in error.params ? ` (${error.params.additionalProperty})` : ''}`,
      );
    }
    return problems;
  }
  const services = (blueprint.services ?? []) as Obj[];
  const databases = new Set(((blueprint.databases ?? []) as Obj[]).map((db) => db.name));
  const serviceNames = new Set(services.map((service) => service.name));
  for (const service of services) {
    const envVars = (service.envVars ?? []) as Obj[];
    for (const env of envVars) {
      const fromDatabase = env.fromDatabase as Obj | undefined;
      const fromService = env.fromService as Obj | undefined;
      if (fromDatabase && !databases.has(fromDatabase.name))
        problems.push(`${service.name}: ${env.key} refers to missing database ${fromDatabase.name}`);
      if (fromService && !serviceNames.has(fromService.name))
        problems.push(`${service.name}: ${env.key} refers to missing service ${fromService.name}`);
      const source = services.find((other) => other.name === fromService?.name);
      const copied = fromService?.envVarKey;
      if (source && copied !== undefined && !((source.envVars ?? []) as Obj[]).some((e) => e.key === copied))
        problems.push(`${service.name}: ${env.key} copies ${copied}, which ${source.name} does not set`);
    }
    // A server that believes forwarded headers only with PROXY_SECRET needs its client to send it,
    // or every browser request counts as the one address of Render's proxy (ADR 025).
    if (
      service.name === 'plumb-client' &&
      ((services.find((other) => other.name === 'plumb-server')?.envVars ?? []) as Obj[]).some(
        (e) => e.key === 'PROXY_SECRET',
      ) &&
      !envVars.some((e) => e.key === 'PROXY_SECRET')
    )
      problems.push("plumb-client: does not copy plumb-server's PROXY_SECRET");
    // Render kills the server maxShutdownDelaySeconds (30 unless set) after SIGTERM: its drain must fit.
    if (service.name === 'plumb-server') {
      const env = Object.fromEntries(envVars.map((e) => [e.key, e.value]));
      const allowed = Number(service.maxShutdownDelaySeconds ?? 30);
      if (drainSeconds(env) > allowed)
        problems.push(
          `plumb-server: drain and stop ${drainSeconds(env)}s > maxShutdownDelaySeconds ${allowed}s`,
        );
    }
    const contract =
      service.name === 'plumb-server'
        ? envContract.server
        : service.name === 'plumb-client'
          ? envContract.client
          : undefined;
    if (!contract) continue;
    const keys = envVars.map((env) => String(env.key));
    for (const key of contract.required)
      if (!keys.includes(key)) problems.push(`${service.name}: ${key} is required but not provided`);
    for (const key of keys)
      if (!contract.known.includes(key)) problems.push(`${service.name}: ${key} is not in its env schema`);
  }
  return problems;
}
