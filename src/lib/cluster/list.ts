/** Finding kpg's clusters from their labels (StatefulSets managed by kpg), for get and describe. */
import type { Kube } from '../kube/index.js';
import { joinSelectors } from '../cli/kube-flags.js';
import type { K8sStatefulSet } from './objects.js';

export const CLUSTER_LABELS = 'app.kubernetes.io/managed-by=kpg,kubedb.com/kind=Postgres';

export interface ClusterRef {
  name: string;
  namespace: string;
}

export async function findClusters(
  kube: Kube,
  scope: { allNamespaces: boolean; namespace: string; selector?: string; name?: string },
): Promise<ClusterRef[]> {
  const list = await kube.list<K8sStatefulSet>('StatefulSet', {
    allNamespaces: scope.allNamespaces,
    namespace: scope.namespace,
    labelSelector: joinSelectors(
      CLUSTER_LABELS,
      scope.name ? `kubedb.com/name=${scope.name}` : undefined,
      scope.selector,
    ),
  });
  return list.items
    .map((s) => ({
      name: s.metadata?.labels?.['kubedb.com/name'] ?? s.metadata?.name ?? '',
      namespace: s.metadata?.namespace ?? scope.namespace,
    }))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}
