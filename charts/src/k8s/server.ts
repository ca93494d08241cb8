/** @module The API server: a Deployment that rolls without downtime, its Service and ServiceAccount. */

import * as k8s from 'cdk8s-plus-34/lib/imports/k8s.js';
import { Construct } from 'constructs';
import {
  type CommonProps,
  containerSecurity,
  fromSecret,
  resources,
  SECRETS,
  tmpMount,
  value,
} from '#src/k8s/common.ts';
import { HttpWorkload } from '#src/k8s/http-workload.ts';
import { HTTP_PORT, health, serverShutdown, terminationGracePeriodSeconds } from '#src/model.ts';
import type { Plan } from '#src/sizing.ts';

export interface ServerProps extends CommonProps {
  readonly image: string;
  readonly plan: Plan;
  /** Log level of the server. @default 'info' */
  readonly logLevel?: string;
}

export const SERVER_NAME = 'plumb-server';

export class ServerWorkload extends Construct {
  constructor(scope: Construct, id: string, props: ServerProps) {
    super(scope, id);
    const { plan } = props;
    new HttpWorkload(this, 'workload', {
      ...props,
      name: SERVER_NAME,
      component: 'server',
      replicas: plan.server.replicas,
      uid: 1000,
      pod: { terminationGracePeriodSeconds },
      container: {
        name: 'server',
        image: props.image,
        imagePullPolicy: 'IfNotPresent',
        ports: [{ name: 'http', containerPort: HTTP_PORT }],
        env: [
          fromSecret('DATABASE_URL', SECRETS.database),
          fromSecret('METRICS_TOKEN', SECRETS.server, 'METRICS_TOKEN', true),
          value('PORT', HTTP_PORT),
          value('LOG_LEVEL', props.logLevel ?? 'info'),
          // Two proxies in front: the Ingress controller, then the client's nginx (contract 2).
          value('TRUST_PROXY', 2),
          // The connection budget, not its outcome: the server decides its workers and pool from
          // the limits below (the plan's, with the same function), so higher limits alone bring
          // more workers, each with a smaller pool inside the same cap (ADR 027).
          value('DB_MAX_CONNECTIONS', plan.connections.maxConnections),
          value('SERVER_REPLICAS', plan.server.replicas),
          value('SHUTDOWN_DELAY_MS', serverShutdown.delayMs),
          value('SHUTDOWN_TIMEOUT_MS', serverShutdown.timeoutMs),
        ],
        resources: resources(plan.server),
        securityContext: containerSecurity(1000),
        volumeMounts: [tmpMount],
        startupProbe: {
          httpGet: { path: health.server.liveness, port: k8s.IntOrString.fromString('http') },
          periodSeconds: 2,
          failureThreshold: 30,
        },
        livenessProbe: {
          httpGet: { path: health.server.liveness, port: k8s.IntOrString.fromString('http') },
          periodSeconds: 10,
          timeoutSeconds: 2,
          failureThreshold: 3,
        },
        readinessProbe: {
          httpGet: { path: health.server.readiness, port: k8s.IntOrString.fromString('http') },
          periodSeconds: 5,
          timeoutSeconds: 3,
          failureThreshold: 2,
        },
        // Endpoints are removed while this sleeps, before the server starts draining.
        lifecycle: { preStop: { sleep: { seconds: serverShutdown.preStopSeconds } } },
      },
    });
  }
}
