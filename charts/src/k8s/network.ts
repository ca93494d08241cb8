/**
 * @module NetworkPolicies: deny everything, then allow exactly ingress→client, client→server,
 * server→postgres, migrate→postgres, backup→postgres, and DNS to the cluster resolver.
 */

import * as k8s from 'cdk8s-plus-34/lib/imports/k8s.js';
import { Construct } from 'constructs';
import { labels, selector } from '#src/k8s/common.ts';
import { HTTP_PORT, POSTGRES_PORT } from '#src/model.ts';

export interface NetworkProps {
  readonly version: string;
  /** The database is outside the cluster: the server and the job may reach any address on 5432. */
  readonly externalDatabase: boolean;
  /** cert-manager answers HTTP-01 challenges from a solver pod in this namespace. @default false */
  readonly acmeSolver?: boolean;
}

const tcp = (port: number): k8s.NetworkPolicyPort => ({
  protocol: 'TCP',
  port: k8s.IntOrString.fromNumber(port),
});
const dns: k8s.NetworkPolicyEgressRule = {
  to: [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
    },
  ],
  ports: [
    { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
    { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
  ],
};

export class NetworkPolicies extends Construct {
  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const policy = (name: string, spec: k8s.NetworkPolicySpec) =>
      new k8s.KubeNetworkPolicy(this, name, {
        metadata: { name: `plumb-${name}`, labels: labels('network', props.version) },
        spec,
      });
    const toPostgres: k8s.NetworkPolicyEgressRule = props.externalDatabase
      ? { ports: [tcp(POSTGRES_PORT)] }
      : { to: [{ podSelector: { matchLabels: selector('postgres') } }], ports: [tcp(POSTGRES_PORT)] };

    policy('default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    policy('client', {
      podSelector: { matchLabels: selector('client') },
      policyTypes: ['Ingress', 'Egress'],
      // From the ingress controller, wherever the cluster runs it.
      ingress: [{ from: [{ namespaceSelector: {} }], ports: [tcp(HTTP_PORT)] }],
      egress: [{ to: [{ podSelector: { matchLabels: selector('server') } }], ports: [tcp(HTTP_PORT)] }, dns],
    });
    policy('server', {
      podSelector: { matchLabels: selector('server') },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: { matchLabels: selector('client') } }], ports: [tcp(HTTP_PORT)] }],
      egress: [toPostgres, dns],
    });
    policy('migrate', {
      podSelector: { matchLabels: { 'app.kubernetes.io/component': 'migrate' } },
      policyTypes: ['Ingress', 'Egress'],
      egress: [toPostgres, dns],
    });
    if (props.acmeSolver) {
      policy('acme-solver', {
        podSelector: { matchLabels: { 'acme.cert-manager.io/http01-solver': 'true' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: {} }], ports: [tcp(8089)] }],
      });
    }
    if (!props.externalDatabase) {
      policy('backup', {
        podSelector: { matchLabels: selector('backup') },
        policyTypes: ['Ingress', 'Egress'],
        egress: [toPostgres, dns],
      });
      policy('postgres', {
        podSelector: { matchLabels: selector('postgres') },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: selector('server') } },
              { podSelector: { matchLabels: { 'app.kubernetes.io/component': 'migrate' } } },
              { podSelector: { matchLabels: selector('backup') } },
            ],
            ports: [tcp(POSTGRES_PORT)],
          },
        ],
      });
    }
  }
}
