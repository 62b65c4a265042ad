import type { PostgresCluster } from '../manifest/types.js';
import { AGENT_PORT, agentEnabled } from './agent.js';
import { baseLabels, objectNames, selectorLabels } from './labels.js';
import { PG_PORT } from './paths.js';
import type { KubeObject } from './types.js';

/** `"false"` on the manifest: no NetworkPolicy (a cluster without a policy engine, or one with its own). */
export const NETWORK_POLICY_ANNOTATION = 'kpg.io/network-policy';

export function networkPolicyEnabled(c: Pick<PostgresCluster, 'annotations'>): boolean {
  return c.annotations[NETWORK_POLICY_ANNOTATION] !== 'false';
}

/**
 * Ingress to the cluster's pods: PostgreSQL's port from anywhere (clients),
 * the agents' peer port only from the cluster's own pods, nothing else. A
 * policy sees ports, not protocols: replication arrives on the clients' port,
 * so what keeps it to the cluster is pg_hba.conf (replication only for the
 * replication user, over TLS with its password), not this object.
 */
export function renderNetworkPolicy(c: PostgresCluster, namespace: string): KubeObject | undefined {
  if (!networkPolicyEnabled(c)) return undefined;
  const tcp = (port: number) => ({ protocol: 'TCP', port });
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: objectNames(c.name).main, namespace, labels: baseLabels(c) },
    spec: {
      podSelector: { matchLabels: selectorLabels(c) },
      policyTypes: ['Ingress'],
      ingress: [
        { ports: [tcp(PG_PORT)] },
        ...(agentEnabled(c)
          ? [
              {
                from: [{ podSelector: { matchLabels: selectorLabels(c) } }],
                ports: [tcp(AGENT_PORT)],
              },
            ]
          : []),
      ],
    },
  };
}
