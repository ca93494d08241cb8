/** @module The web client: nginx serving the SPA and proxying /api/ to the server Service (contract 2). */

import * as k8s from 'cdk8s-plus-34/lib/imports/k8s.js';
import { Construct } from 'constructs';
import {
  type CommonProps,
  containerSecurity,
  labels,
  podSecurity,
  pullSecrets,
  resources,
  selector,
  tmpMount,
  tmpVolume,
  value,
} from '#src/k8s/common.ts';
import { SERVER_NAME } from '#src/k8s/server.ts';
import { HTTP_PORT, health } from '#src/model.ts';
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
    new k8s.KubeServiceAccount(this, 'account', {
      metadata: { name: CLIENT_NAME, labels: labels('client', props.version) },
      automountServiceAccountToken: false,
    });
    new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name: CLIENT_NAME, labels: labels('client', props.version) },
      spec: {
        replicas: plan.client.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector('client') },
        strategy: {
          type: 'RollingUpdate',
          rollingUpdate: {
            maxSurge: k8s.IntOrString.fromNumber(1),
            maxUnavailable: k8s.IntOrString.fromNumber(0),
          },
        },
        template: {
          metadata: { labels: { ...labels('client', props.version), ...selector('client') } },
          spec: {
            serviceAccountName: CLIENT_NAME,
            automountServiceAccountToken: false,
            imagePullSecrets: pullSecrets(props),
            securityContext: podSecurity(101),
            containers: [
              {
                name: 'client',
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                ports: [{ name: 'http', containerPort: HTTP_PORT }],
                env: [value('API_UPSTREAM', `http://${SERVER_NAME}:${HTTP_PORT}`)],
                resources: resources(plan.client),
                securityContext: containerSecurity(101),
                volumeMounts: [tmpMount],
                livenessProbe: {
                  httpGet: { path: health.client.liveness, port: k8s.IntOrString.fromString('http') },
                  periodSeconds: 10,
                },
                readinessProbe: {
                  httpGet: { path: health.client.readiness, port: k8s.IntOrString.fromString('http') },
                  periodSeconds: 5,
                },
              },
            ],
            volumes: [tmpVolume],
          },
        },
      },
    });
    new k8s.KubeService(this, 'service', {
      metadata: { name: CLIENT_NAME, labels: labels('client', props.version) },
      spec: {
        selector: selector('client'),
        ports: [{ name: 'http', port: HTTP_PORT, targetPort: k8s.IntOrString.fromString('http') }],
      },
    });
    if (plan.client.replicas >= 2) {
      new k8s.KubePodDisruptionBudget(this, 'pdb', {
        metadata: { name: CLIENT_NAME, labels: labels('client', props.version) },
        spec: {
          maxUnavailable: k8s.IntOrString.fromNumber(1),
          selector: { matchLabels: selector('client') },
        },
      });
    }
  }
}
