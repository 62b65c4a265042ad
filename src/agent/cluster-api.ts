/**
 * The agent's view of the cluster objects: the Lease (as the elector's
 * LeaseApi), the record ConfigMap, the pods (IP, role label) and Events.
 * Small interfaces so the loop is tested with fakes.
 */
import { LeaseConflictError, type LeaseApi } from '../lib/ha/elector.js';
import type { LeaseObject } from '../lib/kube/types.js';
import { eventObject } from '../lib/render/event.js';
import { isNoFailover, ROLE_LABEL } from '../lib/render/labels.js';
import { KubeHttpError, paths, type Json, type KubeHttp } from './kube.js';

export interface ConfigMapObject {
  metadata?: { name?: string; resourceVersion?: string; [k: string]: unknown };
  data?: Record<string, string>;
  [k: string]: unknown;
}

export interface PodInfo {
  name: string;
  uid?: string;
  ip?: string;
  role?: string;
  /** Annotated kpg.io/nofailover: "true": never takes over. */
  noFailover?: boolean;
}

export interface ClusterApi {
  lease: LeaseApi;
  getRecord(): Promise<ConfigMapObject | undefined>;
  /** PUT with the read resourceVersion; rejects with LeaseConflictError-like RecordConflictError on 409. */
  replaceRecord(cm: ConfigMapObject): Promise<ConfigMapObject>;
  /** The cluster's pods, by the StatefulSet's replica count. */
  listPeers(): Promise<PodInfo[]>;
  labelPod(pod: string, role: 'primary' | 'replica'): Promise<void>;
  event(e: AgentEvent): Promise<void>;
}

export interface AgentEvent {
  reason:
    | 'PromotedToPrimary'
    | 'Fenced'
    | 'FailoverRefused'
    | 'HandedOver'
    | 'SteppedDown'
    | 'Rewinding'
    | 'Recloning';
  message: string;
  type?: 'Normal' | 'Warning';
}

export class RecordConflictError extends Error {
  override readonly name = 'RecordConflictError';
}

export interface ClusterRef {
  namespace: string;
  cluster: string;
  self: { pod: string; uid: string };
}

export function clusterApi(http: KubeHttp, ref: ClusterRef, wallMs: () => number): ClusterApi {
  const ns = ref.namespace;
  const leasePath = paths.lease(ns, `${ref.cluster}-primary`);
  const conflictAs = <T>(p: Promise<T>, make: (m: string) => Error): Promise<T> =>
    p.catch((err: unknown) => {
      if (err instanceof KubeHttpError && err.status === 409) throw make(err.message);
      throw err;
    });
  return {
    lease: {
      get: async () => (await http.call('GET', leasePath)) as LeaseObject | undefined,
      create: (lease) =>
        conflictAs(
          http.call('POST', paths.lease(ns, ''), lease) as Promise<LeaseObject>,
          (m) => new LeaseConflictError(m),
        ),
      replace: (lease) =>
        conflictAs(
          http.call('PUT', leasePath, lease) as Promise<LeaseObject>,
          (m) => new LeaseConflictError(m),
        ),
    },
    getRecord: async () =>
      (await http.call('GET', paths.configMap(ns, `${ref.cluster}-kpg`))) as
        ConfigMapObject | undefined,
    replaceRecord: (cm) =>
      conflictAs(
        http.call('PUT', paths.configMap(ns, `${ref.cluster}-kpg`), cm) as Promise<ConfigMapObject>,
        (m) => new RecordConflictError(m),
      ),
    listPeers: async () => {
      const sts = await http.call('GET', paths.statefulSet(ns, ref.cluster));
      const replicas = Number((sts?.['spec'] as Json | undefined)?.['replicas'] ?? 0);
      const names = Array.from({ length: replicas }, (_, i) => `${ref.cluster}-${i}`);
      const pods = await Promise.all(
        names.map((n) => http.call('GET', paths.pod(ns, n)).catch(() => undefined)),
      );
      return names.map((name, i) => podInfo(name, pods[i]));
    },
    labelPod: async (pod, role) => {
      await http.call(
        'PATCH',
        paths.pod(ns, pod),
        { metadata: { labels: { [ROLE_LABEL]: role } } },
        'application/merge-patch+json',
      );
    },
    event: async (e) => {
      await http.call(
        'POST',
        paths.events(ns),
        eventObject({
          namespace: ns,
          involved: { apiVersion: 'v1', kind: 'Pod', name: ref.self.pod, uid: ref.self.uid },
          reason: e.reason,
          message: e.message,
          type: e.type,
          component: 'kpg-agent',
          now: new Date(wallMs()),
        }),
      );
    },
  };
}

function podInfo(name: string, pod: Json | undefined): PodInfo {
  const meta = (pod?.['metadata'] ?? {}) as {
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  const status = (pod?.['status'] ?? {}) as { podIP?: string };
  return {
    name,
    ...(meta.uid ? { uid: meta.uid } : {}),
    ...(status.podIP ? { ip: status.podIP } : {}),
    ...(meta.labels?.[ROLE_LABEL] ? { role: meta.labels[ROLE_LABEL] } : {}),
    ...(isNoFailover(meta.annotations) ? { noFailover: true } : {}),
  };
}
