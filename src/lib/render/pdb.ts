import type { PostgresCluster } from '../manifest/types.js';
import { baseLabels, objectNames, selectorLabels } from './labels.js';
import type { KubeObject } from './types.js';

/** At most one pod of the cluster voluntarily down at a time; none for a single pod (it would block node drains). */
export function renderPdb(c: PostgresCluster, namespace: string): KubeObject | undefined {
  if (c.replicas <= 1) return undefined;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: objectNames(c.name).main, namespace, labels: baseLabels(c) },
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(c) } },
  };
}
