import type { PostgresCluster } from '../manifest/types.js';
import {
  baseLabels,
  objectNames,
  primarySelector,
  selectorLabels,
  serviceLabels,
} from './labels.js';
import { PG_PORT } from './paths.js';
import type { KubeObject } from './types.js';

const port = () => ({ name: 'api', port: PG_PORT, targetPort: PG_PORT, protocol: 'TCP' });

/**
 * The two client Services of KubeDB's guide: NAME for the primary (pods
 * labelled kubedb.com/role=primary) and NAME-replicas for every pod of the
 * cluster; plus the headless NAME-pods that governs the StatefulSet (stable
 * pod DNS names, ready or not).
 */
export function renderServices(c: PostgresCluster, namespace: string): KubeObject[] {
  const names = objectNames(c.name);
  const client = (name: string, selector: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      labels: serviceLabels(c),
      ...(Object.keys(c.serviceTemplate.annotations).length > 0
        ? { annotations: { ...c.serviceTemplate.annotations } }
        : {}),
    },
    spec: { type: c.serviceTemplate.type, selector, ports: [port()] },
  });
  return [
    client(names.primaryService, primarySelector(c)),
    client(names.replicasService, selectorLabels(c)),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: names.podsService, namespace, labels: baseLabels(c) },
      spec: {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector: selectorLabels(c),
        ports: [port()],
      },
    },
  ];
}
