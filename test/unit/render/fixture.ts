import type { PostgresCluster } from '../../../src/lib/manifest/types.js';

/** A validated cluster as the manifest loader produces it, with overrides. */
export function cluster(over: Partial<PostgresCluster> = {}): PostgresCluster {
  const name = over.name ?? 'ha-postgres';
  const major = over.major ?? '15';
  return {
    name,
    namespace: 'demo',
    labels: {},
    // Without the in-pod agent (failover by kpg failover only), which most
    // render and plan tests are about; the agent's own tests opt in again.
    annotations: { 'kpg.io/agent': 'false' },
    version: major,
    major,
    image: `postgres:${major}`,
    replicas: 3,
    standbyMode: 'warm',
    streamingMode: 'asynchronous',
    storageType: 'Durable',
    storage: { storageClassName: 'standard', accessModes: ['ReadWriteOnce'], size: '1Gi' },
    podTemplate: { labels: {}, annotations: {} },
    serviceTemplate: { type: 'ClusterIP', annotations: {}, labels: {} },
    updateStrategy: { type: 'RollingUpdate' },
    terminationPolicy: 'Pause',
    raw: {
      apiVersion: 'kubedb.com/v1alpha1',
      kind: 'Postgres',
      metadata: { name, namespace: 'demo' },
      spec: { version: major, replicas: 3 },
    },
    from: { source: 'test.yaml', index: 0 },
    ...over,
  };
}

export const SECRET_VALUES = {
  postgresPassword: 'Pg-super-secret-value-0123456789ab',
  replicationPassword: 'Repl-secret-value-0123456789abcdef',
};
