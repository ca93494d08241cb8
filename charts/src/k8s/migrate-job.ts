/** @module The migration Job: named after the release, so each release runs its own (Jobs are immutable). */

import * as k8s from 'cdk8s-plus-34/lib/imports/k8s.js';
import { Construct } from 'constructs';
import {
  type CommonProps,
  containerSecurity,
  fromSecret,
  labels,
  podSecurity,
  pullSecrets,
  resources,
  SECRETS,
  tmpMount,
  tmpVolume,
} from '#src/k8s/common.ts';
import type { Plan } from '#src/sizing.ts';

export interface MigrateJobProps extends CommonProps {
  readonly image: string;
  readonly plan: Plan;
  /** Retries before the Job fails. @default 6 */
  readonly backoffLimit?: number;
}

export const migrateJobName = (version: string) =>
  `plumb-migrate-${version.replace(/[^a-z0-9-]/gi, '-').toLowerCase()}`;

export class MigrateJob extends Construct {
  constructor(scope: Construct, id: string, props: MigrateJobProps) {
    super(scope, id);
    const name = migrateJobName(props.version);
    new k8s.KubeJob(this, 'job', {
      metadata: { name, labels: labels('migrate', props.version) },
      spec: {
        backoffLimit: props.backoffLimit ?? 6,
        // Kept a day for its logs; the server's readiness waits for the schema, so order does not matter.
        ttlSecondsAfterFinished: 86_400,
        template: {
          metadata: { labels: labels('migrate', props.version) },
          spec: {
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            imagePullSecrets: pullSecrets(props),
            securityContext: podSecurity(1000),
            containers: [
              {
                name: 'migrate',
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                env: [fromSecret('DATABASE_URL', SECRETS.database)],
                resources: resources(props.plan.migrate),
                securityContext: containerSecurity(1000),
                volumeMounts: [tmpMount],
              },
            ],
            volumes: [tmpVolume],
          },
        },
      },
    });
  }
}
