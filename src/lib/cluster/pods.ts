/**
 * A cluster's pods as the commands that talk to them one by one need them
 * (kpg psql, kpg logs): name, role label, readiness, containers.
 */
import type { Kube } from '../kube/index.js';
import { ROLE_LABEL, selectorLabels } from '../render/labels.js';

export interface ClusterPod {
  name: string;
  role?: string;
  ready: boolean;
  /** The containers, native sidecars (the agent) included, in the pod's order. */
  containers: string[];
}

export interface PodObject {
  metadata: { name?: string; labels?: Record<string, string> };
  spec?: {
    containers?: { name: string }[];
    initContainers?: { name: string; restartPolicy?: string }[];
  };
  status?: { conditions?: { type: string; status: string }[] };
}

export function clusterSelector(name: string): string {
  return Object.entries(selectorLabels({ name }))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function clusterPodOf(p: PodObject): ClusterPod {
  const sidecars = (p.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  return {
    name: p.metadata.name ?? '',
    ...(p.metadata.labels?.[ROLE_LABEL] ? { role: p.metadata.labels[ROLE_LABEL] } : {}),
    ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    containers: [...(p.spec?.containers ?? []), ...sidecars].map((c) => c.name),
  };
}

export async function clusterPods(
  kube: Kube,
  namespace: string,
  name: string,
): Promise<ClusterPod[]> {
  const list = await kube.list<PodObject>('Pod', {
    namespace,
    labelSelector: clusterSelector(name),
  });
  return list.items.map(clusterPodOf).sort((a, b) => a.name.localeCompare(b.name));
}
