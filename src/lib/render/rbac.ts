import type { PostgresCluster } from '../manifest/types.js';
import { baseLabels, objectNames } from './labels.js';
import type { KubeObject } from './types.js';

/**
 * What the pods may do with their own service account: read the cluster's
 * record (to decide their role), write into it the system identifier of the
 * database the first initdb made (start.sh: from then on no pod initdb's an
 * empty PGDATA), and label themselves (kubedb.com/role): the record and the
 * cluster's own pods, by name.
 */
export function renderRbac(c: PostgresCluster, namespace: string): KubeObject[] {
  const names = objectNames(c.name);
  const pods = Array.from({ length: c.replicas }, (_, i) => `${c.name}-${i}`);
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
          verbs: ['get', 'patch'],
        },
        // Scaling re-renders this list.
        { apiGroups: [''], resources: ['pods'], resourceNames: pods, verbs: ['get', 'patch'] },
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
