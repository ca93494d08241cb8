/** @module The Ingress: every path to the client, whose nginx proxies /api/ to the server (contract 2). */

import * as k8s from 'cdk8s-plus-34/lib/imports/k8s.js';
import { Construct } from 'constructs';
import { CLIENT_NAME } from '#src/k8s/client.ts';
import { labels } from '#src/k8s/common.ts';
import { HTTP_PORT } from '#src/model.ts';

export interface IngressProps {
  readonly version: string;
  /** Public host name. */
  readonly host: string;
  /** Secret with the TLS certificate for the host. @default no TLS */
  readonly tlsSecret?: string | undefined;
  /** cert-manager ClusterIssuer that fills the TLS secret. @default none */
  readonly certIssuer?: string | undefined;
  /** IngressClass. @default the cluster's default (k3s: traefik) */
  readonly ingressClassName?: string | undefined;
}

export class PublicIngress extends Construct {
  constructor(scope: Construct, id: string, props: IngressProps) {
    super(scope, id);
    // cert-manager fills a Secret named in spec.tls: an issuer without a secret name gets a default one.
    const tlsSecret = props.tlsSecret ?? (props.certIssuer ? 'plumb-tls' : undefined);
    new k8s.KubeIngress(this, 'ingress', {
      metadata: {
        name: 'plumb',
        labels: labels('ingress', props.version),
        annotations: props.certIssuer ? { 'cert-manager.io/cluster-issuer': props.certIssuer } : undefined,
      },
      spec: {
        ingressClassName: props.ingressClassName,
        tls: tlsSecret ? [{ hosts: [props.host], secretName: tlsSecret }] : undefined,
        rules: [
          {
            host: props.host,
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: CLIENT_NAME, port: { number: HTTP_PORT } } },
                },
              ],
            },
          },
        ],
      },
    });
  }
}
