import { stringify } from 'yaml';
import type { PostgresCluster } from '../manifest/types.js';
import { RECORD_LABEL, baseLabels, objectNames } from './labels.js';
import type { KubeObject } from './types.js';

/**
 * The cluster's record, ConfigMap NAME-kpg: which pod is the primary (the pods
 * read it at start to pick their role), the timeline, the applied manifest and
 * the failover history. Created once; kpg's failover updates it.
 */
export function renderRecord(c: PostgresCluster, namespace: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: objectNames(c.name).record,
      namespace,
      labels: { ...baseLabels(c), [RECORD_LABEL]: 'true' },
    },
    data: {
      primary: `${c.name}-0`,
      timeline: '1',
      spec: stringify(c.raw, { aliasDuplicateObjects: false }),
      history: '[]',
      generation: '1',
    },
  };
}
