/** @module What every workload shares: labels, the restricted security context, resources, names. */

import { APP_NAME } from '@plumb/server';
import * as k8s from 'cdk8s-plus-34/lib/imports/k8s.js';
import { cpuQuantity, memoryQuantity, type Resources } from '#src/sizing.ts';

export const NAMESPACE = APP_NAME;
export const SECRETS = { database: 'plumb-database', server: 'plumb-server' } as const;

export function labels(component: string, version: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': APP_NAME,
    'app.kubernetes.io/instance': APP_NAME,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/version': version,
    'app.kubernetes.io/part-of': APP_NAME,
    'app.kubernetes.io/managed-by': 'cdk8s',
  };
}

/** Selector labels: stable across versions (a selector is immutable). */
export function selector(component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': APP_NAME, 'app.kubernetes.io/component': component };
}

export function resources(r: Resources): k8s.ResourceRequirements {
  return {
    requests: {
      cpu: k8s.Quantity.fromString(cpuQuantity(r.requests.cpu)),
      memory: k8s.Quantity.fromString(memoryQuantity(r.requests.memoryBytes)),
    },
    limits: {
      cpu: k8s.Quantity.fromString(cpuQuantity(r.limits.cpu)),
      memory: k8s.Quantity.fromString(memoryQuantity(r.limits.memoryBytes)),
    },
  };
}

/** Non-root, read-only root filesystem, no privilege escalation, no capabilities, default seccomp. */
export function containerSecurity(uid: number): k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function podSecurity(uid: number): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The writable /tmp every container gets (the only writable path, contract 7). */
export const tmpVolume: k8s.Volume = {
  name: 'tmp',
  emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') },
};
export const tmpMount: k8s.VolumeMount = { name: 'tmp', mountPath: '/tmp' };

export const value = (name: string, v: string | number): k8s.EnvVar => ({ name, value: String(v) });
export const fromSecret = (name: string, secret: string, key = name, optional = false): k8s.EnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: secret, key, optional } },
});

export interface CommonProps {
  readonly version: string;
  /** Pull secret for a private GHCR package. @default none */
  readonly imagePullSecret?: string | undefined;
}

export const pullSecrets = (props: CommonProps) =>
  props.imagePullSecret ? [{ name: props.imagePullSecret }] : undefined;
