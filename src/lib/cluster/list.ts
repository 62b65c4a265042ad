/** Finding kpg's clusters from their labels (StatefulSets managed by kpg), for get, describe and delete. */
import type { Kube } from '../kube/index.js';
import { joinSelectors } from '../cli/kube-flags.js';
import { RECORD_LABEL } from '../render/labels.js';

export const CLUSTER_LABELS = 'app.kubernetes.io/managed-by=kpg,kubedb.com/kind=Postgres';

export interface ClusterRef {
  name: string;
  namespace: string;
}

export interface ClusterScope {
  allNamespaces: boolean;
  namespace: string;
  selector?: string;
  name?: string;
  /** Also clusters known only by their record (paused: no StatefulSet any more). */
  paused?: boolean;
}

export async function findClusters(kube: Kube, scope: ClusterScope): Promise<ClusterRef[]> {
  const found = await listRefs(kube, 'StatefulSet', scope, CLUSTER_LABELS);
  if (scope.paused) {
    found.push(
      ...(await listRefs(kube, 'ConfigMap', scope, `${CLUSTER_LABELS},${RECORD_LABEL}=true`)),
    );
  }
  const unique = new Map(found.map((r) => [`${r.namespace}/${r.name}`, r]));
  return [...unique.values()].sort(
    (a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
  );
}

async function listRefs(
  kube: Kube,
  kind: 'StatefulSet' | 'ConfigMap',
  scope: ClusterScope,
  ours: string,
): Promise<ClusterRef[]> {
  const list = await kube.list(kind, {
    allNamespaces: scope.allNamespaces,
    namespace: scope.namespace,
    labelSelector: joinSelectors(
      ours,
      scope.name ? `kubedb.com/name=${scope.name}` : undefined,
      scope.selector,
    ),
  });
  return list.items.map((s) => ({
    name: s.metadata?.labels?.['kubedb.com/name'] ?? s.metadata?.name ?? '',
    namespace: s.metadata?.namespace ?? scope.namespace,
  }));
}
