/**
 * KubeDB's DormantDatabase, kpg's way: what terminationPolicy Pause (or
 * Delete, for the Secrets) kept of a deleted cluster. It is no object of its
 * own: a record ConfigMap without a StatefulSet, with the volumes and
 * Secrets left beside it. `kpg get drmn` lists them; `kpg create` with the
 * same manifest resumes one; `kpg delete drmn` removes what is left.
 */
import { parse } from 'yaml';
import type { Kube, KubeObject } from '../kube/index.js';
import { formatAge, formatTable, getTable } from './format.js';
import type { ClusterSummary } from './status.js';
import { CLUSTER_LABELS, findClusters, type ClusterScope } from './list.js';
import { policyFromSpec } from './delete-exec.js';
import { isClaimOf } from './delete-plan.js';
import { RECORD_LABEL } from '../render/labels.js';

export interface DormantSummary {
  name: string;
  namespace: string;
  version: string;
  terminationPolicy: string;
  /** The data volumes kept (data-NAME-N). */
  volumes: string[];
  /** When the cluster was first created (its record's age). */
  createdAt?: string;
}

type Record = KubeObject & { data?: { spec?: string } };

/** The dormant clusters in scope, by name. */
export async function findDormant(kube: Kube, scope: ClusterScope): Promise<DormantSummary[]> {
  const running = new Set(
    (await findClusters(kube, { ...scope, paused: false })).map((r) => `${r.namespace}/${r.name}`),
  );
  const records = await kube.list<Record>('ConfigMap', {
    allNamespaces: scope.allNamespaces,
    namespace: scope.namespace,
    labelSelector: [
      `${CLUSTER_LABELS},${RECORD_LABEL}=true`,
      ...(scope.name ? [`kubedb.com/name=${scope.name}`] : []),
      ...(scope.selector ? [scope.selector] : []),
    ].join(','),
  });
  const namespaces = new Set(records.items.map((r) => r.metadata?.namespace ?? scope.namespace));
  const claims = new Map<string, string[]>();
  for (const ns of namespaces) {
    const { items } = await kube.list('PersistentVolumeClaim', { namespace: ns });
    claims.set(
      ns,
      items.map((p) => p.metadata?.name ?? ''),
    );
  }
  return records.items
    .map((r) => dormantOf(r, claims.get(r.metadata?.namespace ?? scope.namespace) ?? [], scope))
    .filter((d) => !running.has(`${d.namespace}/${d.name}`))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

function dormantOf(r: Record, pvcs: string[], scope: ClusterScope): DormantSummary {
  const name = r.metadata?.labels?.['kubedb.com/name'] ?? r.metadata?.name ?? '';
  let version = '';
  try {
    const doc = parse(r.data?.spec ?? '') as { spec?: { version?: unknown } } | null;
    version = String(doc?.spec?.version ?? '');
  } catch {
    // An unreadable spec: the version is not known.
  }
  const created = (r.metadata as { creationTimestamp?: string } | undefined)?.creationTimestamp;
  return {
    name,
    namespace: r.metadata?.namespace ?? scope.namespace,
    version,
    terminationPolicy: policyFromSpec(r.data?.spec) ?? 'Pause',
    volumes: pvcs.filter((p) => isClaimOf(name, p)).sort(),
    ...(created ? { createdAt: created } : {}),
  };
}

export function dormantTable(
  rows: DormantSummary[],
  o: { now: Date; allNamespaces: boolean },
): string {
  return formatTable(
    ['NAME', ...(o.allNamespaces ? ['NAMESPACE'] : []), 'VERSION', 'POLICY', 'VOLUMES', 'AGE'],
    rows.map((r) => [
      r.name,
      ...(o.allNamespaces ? [r.namespace] : []),
      r.version || '<unknown>',
      r.terminationPolicy,
      String(r.volumes.length),
      formatAge(r.createdAt, o.now),
    ]),
  );
}

/** `kpg get pg,drmn` as text: the running clusters' table, then the dormant ones' (or names). */
export function runningAndDormantText(
  clusters: ClusterSummary[],
  dormant: DormantSummary[],
  o: { name: boolean; wide: boolean; now: Date; allNamespaces: boolean; color: boolean },
): string {
  if (o.name)
    return [
      ...clusters.map((c) => `postgres/${c.name}`),
      ...dormant.map((d) => `dormantdatabase/${d.name}`),
    ].join('\n');
  const parts: string[] = [];
  if (clusters.length > 0) parts.push(getTable(clusters, o));
  if (dormant.length > 0) parts.push(dormantTable(dormant, o));
  return parts.join('\n\n');
}
