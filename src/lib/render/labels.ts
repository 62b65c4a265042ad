import type { PostgresCluster } from '../manifest/types.js';

/** The label each pod sets on itself at start: `primary` or `replica`. */
export const ROLE_LABEL = 'kubedb.com/role';
/** Marks the cluster's record ConfigMap. */
export const RECORD_LABEL = 'kpg.io/record';
/** Marks objects whose content must not be replaced once they exist. */
export const CREATE_ONLY_ANNOTATION = 'kpg.io/create-only';
/** Hash of the rendered configuration on the pod template: a change rolls the pods. */
export const CONFIG_HASH_ANNOTATION = 'kpg.io/config-hash';
/** On a pod: `"true"` excludes that member from taking over (Patroni's nofailover tag). */
export const NOFAILOVER_ANNOTATION = 'kpg.io/nofailover';

/** The pod's annotations exclude it from taking over. */
export function isNoFailover(annotations: Record<string, string> | undefined): boolean {
  return annotations?.[NOFAILOVER_ANNOTATION] === 'true';
}

/** Names of every object rendered for a cluster. */
export function objectNames(name: string) {
  return {
    /** StatefulSet, primary Service, ServiceAccount, Role, RoleBinding, PDB. */
    main: name,
    primaryService: name,
    replicasService: `${name}-replicas`,
    podsService: `${name}-pods`,
    authSecret: `${name}-auth`,
    config: `${name}-config`,
    record: `${name}-kpg`,
  };
}

/** What selects the cluster's pods: exactly the labels of KubeDB's guide. */
export function selectorLabels(c: Pick<PostgresCluster, 'name'>): Record<string, string> {
  return { 'kubedb.com/kind': 'Postgres', 'kubedb.com/name': c.name };
}

/** Selector of the primary Service: the cluster's pod that labelled itself primary. */
export function primarySelector(c: Pick<PostgresCluster, 'name'>): Record<string, string> {
  return { ...selectorLabels(c), [ROLE_LABEL]: 'primary' };
}

/** Labels as a label selector: k=v,k=v. */
export function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Labels on every object kpg renders: the manifest's own labels, then ours. */
export function baseLabels(c: Pick<PostgresCluster, 'name' | 'labels'>): Record<string, string> {
  return {
    ...withoutRole(c.labels),
    ...selectorLabels(c),
    'app.kubernetes.io/name': 'postgres',
    'app.kubernetes.io/instance': c.name,
    'app.kubernetes.io/managed-by': 'kpg',
    'app.kubernetes.io/component': 'database',
  };
}

/** Pod labels: the podTemplate's labels under ours. Never the role: pods set it themselves. */
export function podLabels(
  c: Pick<PostgresCluster, 'name' | 'labels' | 'podTemplate'>,
): Record<string, string> {
  return { ...withoutRole(c.podTemplate.labels), ...baseLabels(c) };
}

/** Labels of the client-facing Services: the serviceTemplate's labels under ours. */
export function serviceLabels(
  c: Pick<PostgresCluster, 'name' | 'labels' | 'serviceTemplate'>,
): Record<string, string> {
  return { ...c.serviceTemplate.labels, ...baseLabels(c) };
}

function withoutRole(labels: Record<string, string>): Record<string, string> {
  const out = { ...labels };
  delete out[ROLE_LABEL];
  return out;
}
