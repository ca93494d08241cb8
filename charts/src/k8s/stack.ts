/** @module The whole stack for one machine, as cdk8s charts: one chart (one file) per workload. */
import { App, Chart } from 'cdk8s';
import * as k8s from 'cdk8s-plus-34/lib/imports/k8s.js';
import { ClientWorkload } from '#src/k8s/client.ts';
import { labels, NAMESPACE } from '#src/k8s/common.ts';
import { PublicIngress } from '#src/k8s/ingress.ts';
import { MigrateJob } from '#src/k8s/migrate-job.ts';
import { NetworkPolicies } from '#src/k8s/network.ts';
import { PostgresDatabase } from '#src/k8s/postgres.ts';
import { ServerWorkload } from '#src/k8s/server.ts';
import { images, type ModelInput } from '#src/model.ts';
import type { Plan } from '#src/sizing.ts';

export interface StackOptions extends ModelInput {
  plan: Plan;
  /** Public host of the Ingress. @default 'plumb.example.com' */
  host?: string;
  tlsSecret?: string | undefined;
  certIssuer?: string | undefined;
  imagePullSecret?: string | undefined;
  /** Use a DATABASE_URL of your own (from the Secret) and omit PostgreSQL and its backups. @default false */
  externalDatabase?: boolean;
  /** Nightly pg_dump CronJob. @default true */
  backups?: boolean;
  /** With an external database: its max_connections, which the server's pools must fit. @default 100 */
  databaseMaxConnections?: number | undefined;
}

/** Kubernetes objects by file name (`server.yaml` → the objects of the server chart). */
export function buildStack(options: StackOptions): Map<string, Record<string, unknown>[]> {
  const app = new App();
  const image = images(options);
  const common = { version: options.version, imagePullSecret: options.imagePullSecret };
  const charts = new Map<string, Chart>();
  const chart = (name: string) => {
    const created = new Chart(app, name, { namespace: NAMESPACE, disableResourceNameHashes: true });
    charts.set(name, created);
    return created;
  };

  const namespace = new Chart(app, 'namespace', { disableResourceNameHashes: true });
  charts.set('namespace', namespace);
  new k8s.KubeNamespace(namespace, 'namespace', {
    metadata: {
      name: NAMESPACE,
      labels: {
        ...labels('namespace', options.version),
        // Pods here must meet the restricted Pod Security Standard.
        'pod-security.kubernetes.io/enforce': 'restricted',
      },
    },
  });
  // Default-deny and its exceptions before any pod, in the order kubectl applies the files.
  new NetworkPolicies(chart('network'), 'network', {
    version: options.version,
    externalDatabase: options.externalDatabase ?? false,
    acmeSolver: options.certIssuer !== undefined,
  });
  if (!options.externalDatabase) {
    new PostgresDatabase(chart('postgres'), 'postgres', {
      ...common,
      image: image.postgres,
      plan: options.plan,
      backups: options.backups ?? true,
    });
  }
  new MigrateJob(chart('migrate'), 'migrate', { ...common, image: image.migrate, plan: options.plan });
  new ServerWorkload(chart('server'), 'server', { ...common, image: image.server, plan: options.plan });
  new ClientWorkload(chart('client'), 'client', { ...common, image: image.client, plan: options.plan });
  new PublicIngress(chart('ingress'), 'ingress', {
    version: options.version,
    host: options.host ?? 'plumb.example.com',
    tlsSecret: options.tlsSecret,
    certIssuer: options.certIssuer,
  });

  return new Map([...charts].map(([name, c]) => [`${name}.yaml`, c.toJson() as Record<string, unknown>[]]));
}
