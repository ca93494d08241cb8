/** @module The web client: nginx serving the SPA and proxying /api/ to the server Service (contract 2). */

import * as k8s from 'cdk8s-plus-34/lib/imports/k8s.js';
import { Construct } from 'constructs';
import { type CommonProps, containerSecurity, resources, tmpMount, value } from '#src/k8s/common.ts';
import { HttpWorkload } from '#src/k8s/http-workload.ts';
import { SERVER_NAME } from '#src/k8s/server.ts';
import { HTTP_PORT, health, PRE_STOP_SECONDS } from '#src/model.ts';
import type { Plan } from '#src/sizing.ts';

export interface ClientProps extends CommonProps {
  readonly image: string;
  readonly plan: Plan;
}

export const CLIENT_NAME = 'plumb-client';

export class ClientWorkload extends Construct {
  constructor(scope: Construct, id: string, props: ClientProps) {
    super(scope, id);
    const { plan } = props;
    new HttpWorkload(this, 'workload', {
      ...props,
      name: CLIENT_NAME,
      component: 'client',
      replicas: plan.client.replicas,
      uid: 101,
      container: {
        name: 'client',
        image: props.image,
        imagePullPolicy: 'IfNotPresent',
        ports: [{ name: 'http', containerPort: HTTP_PORT }],
        env: [value('API_UPSTREAM', `http://${SERVER_NAME}:${HTTP_PORT}`)],
        resources: resources(plan.client),
        securityContext: containerSecurity(101),
        volumeMounts: [tmpMount],
        // As the server's: the pod leaves the Service's endpoints (and the ingress's) while this
        // sleeps, so nginx is not stopped while requests are still being routed to it.
        lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
        livenessProbe: {
          httpGet: { path: health.client.liveness, port: k8s.IntOrString.fromString('http') },
          periodSeconds: 10,
        },
        readinessProbe: {
          httpGet: { path: health.client.readiness, port: k8s.IntOrString.fromString('http') },
          periodSeconds: 5,
        },
      },
    });
  }
}
