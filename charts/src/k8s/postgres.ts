/**
 * @module The bundled PostgreSQL: a StatefulSet on a PersistentVolumeClaim, its tuning ConfigMap
 * (with a checksum annotation, so a new tuning restarts it) and a nightly pg_dump CronJob.
 */
import { createHash } from 'node:crypto';
import * as k8s from 'cdk8s-plus-34/lib/imports/k8s.js';
import { Construct } from 'constructs';
import {
  type CommonProps,
  containerSecurity,
  fromSecret,
  labels,
  podSecurity,
  resources,
  SECRETS,
  selector,
  tmpMount,
  tmpVolume,
  value,
} from '#src/k8s/common.ts';
import { POSTGRES_PORT } from '#src/model.ts';
import type { Plan } from '#src/sizing.ts';

export interface PostgresProps extends CommonProps {
  readonly image: string;
  readonly plan: Plan;
  /** Size of the data volume. @default '20Gi' */
  readonly storage?: string;
  /** Nightly pg_dump to a volume of its own. @default true */
  readonly backups?: boolean;
  /** Size of the backup volume. @default '20Gi' */
  readonly backupStorage?: string;
  /** StorageClass of both volumes. @default the cluster's default (k3s: local-path) */
  readonly storageClassName?: string | undefined;
}

export const POSTGRES_NAME = 'plumb-postgres';
/** The ConfigMap of PostgreSQL's settings, the one a size changes. */
export const TUNING_CONFIG = `${POSTGRES_NAME}-tuning`;
/** The official image's postgres user. */
const POSTGRES_UID = 999;
const DATABASE = 'plumb';

/**
 * Run once by the official image when it creates the data directory (`/docker-entrypoint-initdb.d`,
 * as its superuser `POSTGRES_USER`): the application's role, named after `POSTGRES_DB`, which owns
 * that database (and so, from PostgreSQL 15, its `public` schema) but is no superuser. The server,
 * the migrate job and backups log in as it; the superuser's password is only PostgreSQL's.
 */
export const APP_ROLE_SCRIPT = `#!/bin/sh
set -eu
if [ -z "\${PLUMB_PASSWORD:-}" ]; then
  echo "plumb: the Secret ${SECRETS.database} needs POSTGRES_PASSWORD, the password of role $POSTGRES_DB" >&2
  exit 1
fi
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \\
  --set=role="$POSTGRES_DB" --set=password="$PLUMB_PASSWORD" <<'SQL'
create role :"role" login password :'password';
alter database :"role" owner to :"role";
SQL
echo "plumb: created role $POSTGRES_DB, owner of database $POSTGRES_DB, not a superuser"
`;

export class PostgresDatabase extends Construct {
  constructor(scope: Construct, id: string, props: PostgresProps) {
    super(scope, id);
    const conf = `${[
      "listen_addresses = '*'",
      ...Object.entries(props.plan.postgres.settings).map(([name, setting]) => `${name} = '${setting}'`),
    ].join('\n')}\n`;
    const checksum = createHash('sha256').update(conf).digest('hex').slice(0, 16);
    const meta = (name: string) => ({ name, labels: labels('postgres', props.version) });

    new k8s.KubeConfigMap(this, 'tuning', {
      metadata: meta(TUNING_CONFIG),
      data: { 'postgresql.conf': conf },
    });
    new k8s.KubeConfigMap(this, 'init', {
      metadata: meta(`${POSTGRES_NAME}-init`),
      data: { 'app-role.sh': APP_ROLE_SCRIPT },
    });
    new k8s.KubeServiceAccount(this, 'account', {
      metadata: meta(POSTGRES_NAME),
      automountServiceAccountToken: false,
    });
    new k8s.KubeService(this, 'service', {
      metadata: meta(POSTGRES_NAME),
      spec: {
        selector: selector('postgres'),
        ports: [
          { name: 'postgres', port: POSTGRES_PORT, targetPort: k8s.IntOrString.fromString('postgres') },
        ],
      },
    });
    const ready: k8s.Probe = {
      exec: { command: ['pg_isready', '-U', DATABASE, '-d', DATABASE, '-h', '127.0.0.1'] },
      periodSeconds: 10,
      timeoutSeconds: 5,
    };
    new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: meta(POSTGRES_NAME),
      spec: {
        serviceName: POSTGRES_NAME,
        replicas: 1,
        selector: { matchLabels: selector('postgres') },
        template: {
          metadata: {
            labels: { ...labels('postgres', props.version), ...selector('postgres') },
            annotations: { 'plumb.dev/tuning-checksum': checksum },
          },
          spec: {
            serviceAccountName: POSTGRES_NAME,
            automountServiceAccountToken: false,
            securityContext: podSecurity(POSTGRES_UID),
            terminationGracePeriodSeconds: 60,
            containers: [
              {
                name: 'postgres',
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                args: ['-c', 'config_file=/etc/postgresql/postgresql.conf'],
                ports: [{ name: 'postgres', containerPort: POSTGRES_PORT }],
                env: [
                  // The superuser that creates the data directory; the application's role is made
                  // by the init script. A data directory made before it (where plumb is the
                  // superuser) is left as it is, and needs no admin password: the key is optional.
                  value('POSTGRES_USER', 'postgres'),
                  value('POSTGRES_DB', DATABASE),
                  fromSecret('POSTGRES_PASSWORD', SECRETS.database, 'POSTGRES_ADMIN_PASSWORD', true),
                  fromSecret('PLUMB_PASSWORD', SECRETS.database, 'POSTGRES_PASSWORD'),
                ],
                resources: resources(props.plan.postgres),
                securityContext: containerSecurity(POSTGRES_UID),
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/postgresql' },
                  { name: 'run', mountPath: '/var/run/postgresql' },
                  { name: 'tuning', mountPath: '/etc/postgresql', readOnly: true },
                  { name: 'init', mountPath: '/docker-entrypoint-initdb.d', readOnly: true },
                  // Parallel queries use shared memory; a runtime's default /dev/shm is 64 MiB.
                  { name: 'shm', mountPath: '/dev/shm' },
                  tmpMount,
                ],
                startupProbe: { ...ready, periodSeconds: 5, failureThreshold: 60 },
                livenessProbe: { ...ready, failureThreshold: 6 },
                readinessProbe: ready,
              },
            ],
            volumes: [
              { name: 'run', emptyDir: {} },
              { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('256Mi') } },
              { name: 'tuning', configMap: { name: TUNING_CONFIG } },
              // Executable: the image runs it as a program rather than sourcing it into its own shell.
              { name: 'init', configMap: { name: `${POSTGRES_NAME}-init`, defaultMode: 0o555 } },
              tmpVolume,
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels: labels('postgres', props.version) },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: props.storageClassName,
              resources: { requests: { storage: k8s.Quantity.fromString(props.storage ?? '20Gi') } },
            },
          },
        ],
      },
    });

    if (props.backups ?? true) {
      new k8s.KubePersistentVolumeClaim(this, 'backups', {
        metadata: meta(`${POSTGRES_NAME}-backups`),
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: props.storageClassName,
          resources: { requests: { storage: k8s.Quantity.fromString(props.backupStorage ?? '20Gi') } },
        },
      });
      new k8s.KubeCronJob(this, 'backup', {
        metadata: meta(`${POSTGRES_NAME}-backup`),
        spec: {
          schedule: '17 3 * * *',
          concurrencyPolicy: 'Forbid',
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            spec: {
              backoffLimit: 2,
              template: {
                metadata: { labels: { ...labels('backup', props.version), ...selector('backup') } },
                spec: {
                  restartPolicy: 'Never',
                  automountServiceAccountToken: false,
                  securityContext: podSecurity(POSTGRES_UID),
                  containers: [
                    {
                      name: 'backup',
                      image: props.image,
                      imagePullPolicy: 'IfNotPresent',
                      command: [
                        'sh',
                        '-c',
                        // Each step on its own line so that `set -e` stops at a failed dump (a failure
                        // left of && would not), and the Job fails instead of reporting success.
                        [
                          'set -eu',
                          `f=/backups/${DATABASE}-$(date +%Y%m%dT%H%M%S).dump`,
                          'rm -f /backups/*.partial',
                          `pg_dump -Fc -h ${POSTGRES_NAME} -U ${DATABASE} -f "$f.partial" ${DATABASE}`,
                          'mv "$f.partial" "$f"',
                          "find /backups -name '*.dump' -mtime +14 -delete",
                          'ls -l /backups',
                        ].join('\n'),
                      ],
                      env: [fromSecret('PGPASSWORD', SECRETS.database, 'POSTGRES_PASSWORD')],
                      resources: resources(props.plan.backup),
                      securityContext: containerSecurity(POSTGRES_UID),
                      volumeMounts: [{ name: 'backups', mountPath: '/backups' }, tmpMount],
                    },
                  ],
                  volumes: [
                    { name: 'backups', persistentVolumeClaim: { claimName: `${POSTGRES_NAME}-backups` } },
                    tmpVolume,
                  ],
                },
              },
            },
          },
        },
      });
    }
  }
}
