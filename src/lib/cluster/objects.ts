/** The fields of Kubernetes objects kpg reads, and their summaries. Pure. */
import type { KubeObject } from '../kube/index.js';
import { ROLE_LABEL } from '../render/index.js';
import { isNoFailover } from '../render/labels.js';
import type { InstanceStatus, StatefulSetSummary } from './status.js';

interface Meta {
  name?: string;
  uid?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

export interface K8sPod extends KubeObject {
  metadata?: Meta;
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: K8sContainerStatus[];
    initContainerStatuses?: K8sContainerStatus[];
  };
}

export interface K8sContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: ContainerState;
  lastState?: ContainerState;
}

interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { exitCode?: number; reason?: string; message?: string };
}

export interface K8sPvc extends KubeObject {
  metadata?: Meta;
  spec?: { storageClassName?: string };
  status?: { phase?: string };
}

export interface K8sStatefulSet extends KubeObject {
  metadata?: Meta;
  spec?: {
    replicas?: number;
    template?: {
      spec?: {
        containers?: {
          name: string;
          image?: string;
          env?: {
            name: string;
            value?: string;
            valueFrom?: { secretKeyRef?: { name?: string; key?: string } };
          }[];
        }[];
      };
    };
    volumeClaimTemplates?: {
      spec?: { storageClassName?: string; resources?: { requests?: { storage?: string } } };
    }[];
  };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    currentReplicas?: number;
    updatedReplicas?: number;
  };
}

export interface K8sService extends KubeObject {
  metadata?: Meta;
  spec?: {
    type?: string;
    clusterIP?: string;
    selector?: Record<string, string>;
    ports?: { name?: string; port: number; protocol?: string }[];
  };
}

export interface K8sSlice extends KubeObject {
  metadata?: Meta;
  endpoints?: {
    addresses?: string[];
    conditions?: { ready?: boolean };
    targetRef?: { kind?: string; name?: string };
  }[];
}

export interface K8sEvent extends KubeObject {
  metadata?: Meta;
  involvedObject?: { kind?: string; name?: string; uid?: string };
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  series?: { lastObservedTime?: string };
}

export function podReady(p: K8sPod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

export function podSummary(p: K8sPod): InstanceStatus {
  const restarts = (p.status?.containerStatuses ?? []).reduce(
    (n, c) => n + (c.restartCount ?? 0),
    0,
  );
  const out: InstanceStatus = { pod: p.metadata?.name ?? '', ready: podReady(p), restarts };
  const role = p.metadata?.labels?.[ROLE_LABEL];
  if (role) out.role = role;
  if (p.status?.phase) out.phase = p.status.phase;
  if (p.spec?.nodeName) out.node = p.spec.nodeName;
  if (p.status?.podIP) out.ip = p.status.podIP;
  if (p.metadata?.creationTimestamp) out.createdAt = p.metadata.creationTimestamp;
  if (p.metadata?.deletionTimestamp) out.deleting = true;
  if (isNoFailover(p.metadata?.annotations)) out.noFailover = true;
  return out;
}

export function stsEnv(s: K8sStatefulSet, name: string): string | undefined {
  const c = s.spec?.template?.spec?.containers?.find((x) => x.name === 'postgres');
  return c?.env?.find((e) => e.name === name)?.value;
}

export function stsSummary(s: K8sStatefulSet): StatefulSetSummary {
  const c = s.spec?.template?.spec?.containers?.find((x) => x.name === 'postgres');
  const out: StatefulSetSummary = {
    name: s.metadata?.name ?? '',
    replicas: s.spec?.replicas ?? 1,
    readyReplicas: s.status?.readyReplicas ?? 0,
    currentReplicas: s.status?.currentReplicas ?? 0,
    updatedReplicas: s.status?.updatedReplicas ?? 0,
  };
  if (s.metadata?.creationTimestamp) out.createdAt = s.metadata.creationTimestamp;
  if (c?.image) out.image = c.image;
  const major = stsEnv(s, 'KPG_PG_MAJOR');
  if (major) out.major = major;
  return out;
}
