/**
 * @module What the client and the server have in common: a ServiceAccount without a token, a
 * Deployment that rolls one new pod in before an old one goes, a Service on port `http`, and a
 * PodDisruptionBudget once there are two replicas or more.
 */

import * as k8s from 'cdk8s-plus-34/lib/imports/k8s.js';
import { Construct } from 'constructs';
import { type CommonProps, labels, podSecurity, pullSecrets, selector, tmpVolume } from '#src/k8s/common.ts';
import { HTTP_PORT } from '#src/model.ts';

export interface HttpWorkloadProps extends CommonProps {
  readonly name: string;
  readonly component: string;
  readonly replicas: number;
  /** The numeric user every container runs as. */
  readonly uid: number;
  readonly container: k8s.Container;
  /** Extra pod settings (grace period). @default none */
  readonly pod?: Partial<k8s.PodSpec>;
}

export class HttpWorkload extends Construct {
  constructor(scope: Construct, id: string, props: HttpWorkloadProps) {
    super(scope, id);
    const metadata = { name: props.name, labels: labels(props.component, props.version) };
    new k8s.KubeServiceAccount(this, 'account', { metadata, automountServiceAccountToken: false });
    new k8s.KubeDeployment(this, 'deployment', {
      metadata,
      spec: {
        replicas: props.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector(props.component) },
        strategy: {
          type: 'RollingUpdate',
          rollingUpdate: {
            maxSurge: k8s.IntOrString.fromNumber(1),
            maxUnavailable: k8s.IntOrString.fromNumber(0),
          },
        },
        template: {
          metadata: { labels: { ...labels(props.component, props.version), ...selector(props.component) } },
          spec: {
            serviceAccountName: props.name,
            automountServiceAccountToken: false,
            imagePullSecrets: pullSecrets(props),
            securityContext: podSecurity(props.uid),
            ...props.pod,
            containers: [props.container],
            volumes: [tmpVolume],
          },
        },
      },
    });
    new k8s.KubeService(this, 'service', {
      metadata,
      spec: {
        selector: selector(props.component),
        ports: [{ name: 'http', port: HTTP_PORT, targetPort: k8s.IntOrString.fromString('http') }],
      },
    });
    if (props.replicas >= 2) {
      new k8s.KubePodDisruptionBudget(this, 'pdb', {
        metadata,
        spec: {
          maxUnavailable: k8s.IntOrString.fromNumber(1),
          selector: { matchLabels: selector(props.component) },
        },
      });
    }
  }
}
