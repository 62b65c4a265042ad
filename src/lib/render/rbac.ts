import type { PostgresCluster } from '../manifest/types.js';
import { baseLabels, objectNames } from './labels.js';
import type { KubeObject } from './types.js';

/**
 * What the pods may do with their own service account: read the cluster's
 * record (to decide their role) and label themselves (kubedb.com/role).
 */
export function renderRbac(c: PostgresCluster, namespace: string): KubeObject[] {
  const names = objectNames(c.name);
  // A fresh metadata per object: shared references would become YAML aliases.
  const metadata = () => ({ name: names.main, namespace, labels: baseLabels(c) });
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: metadata(),
      automountServiceAccountToken: true,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: metadata(),
      rules: [
        {
          apiGroups: [''],
          resources: ['configmaps'],
          resourceNames: [names.record],
          verbs: ['get'],
        },
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: metadata(),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: names.main },
      subjects: [{ kind: 'ServiceAccount', name: names.main, namespace }],
    },
  ];
}
