/**
 * The status of one cluster, collected once (collect.ts) and then printed as
 * JSON/YAML or as sections (describe) or rows (get). Plain data: no classes,
 * no Dates (RFC 3339 strings), so `-o json` is exactly this.
 */
import type { ArchiveStatus } from '../backup/archive-status.js';
import type { Blocker } from './blockers.js';
import type { AgentsStatus } from './agents.js';
import type { HistoryEntry, PendingOperation } from './record.js';
import type { ControlData, InstanceInfo, ReplicationRow, SlotInfo } from '../postgres/index.js';

export type Health = 'healthy' | 'degraded' | 'down';

export interface SpecSummary {
  version: string;
  major: string;
  replicas: number;
  standbyMode: string;
  streamingMode: string;
  storageType: string;
  storageClass?: string;
  storageSize?: string;
  terminationPolicy?: string;
  /** spec.archiver's archive (describeLocation), when the cluster archives. */
  archive?: string;
}

export interface StatefulSetSummary {
  name: string;
  replicas: number;
  readyReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
  createdAt?: string;
  image?: string;
  /** KPG_PG_MAJOR of the pod template. */
  major?: string;
}

export interface InstanceStatus {
  pod: string;
  /** The kubedb.com/role label the pod set on itself. */
  role?: string;
  phase?: string;
  ready: boolean;
  node?: string;
  ip?: string;
  restarts: number;
  createdAt?: string;
  deleting?: boolean;
  /** Annotated kpg.io/nofailover: "true": never promoted. */
  noFailover?: boolean;
  /** What the server says about itself (absent when it could not be asked). */
  postgres?: InstanceInfo;
  /** pg_controldata, when the server refuses connections (warm standby). */
  controlData?: ControlData;
  /**
   * The WAL position shown for the instance (replayed, for a standby), and
   * where it was read: the server itself, the primary's pg_stat_replication
   * (warm standbys), or pg_controldata's last checkpoint (nothing better).
   */
  position?: {
    lsn: string;
    receiveLsn?: string;
    source: 'server' | 'pg_stat_replication' | 'pg_controldata';
  };
  /** Standbys: bytes behind the primary's current LSN (replay position); absent when unknown. */
  lagBytes?: number;
  /** Standbys: replay lag in seconds, from the primary's pg_stat_replication. */
  lagSeconds?: number;
  /** Why the instance could not be asked (timeout, refused...). */
  error?: string;
}

export interface ReplicationStatus {
  /** The pod asked (the recorded primary). */
  primary: string;
  currentLsn?: string;
  standbys: ReplicationRow[];
  /** The primary's physical replication slots. */
  slots?: SlotInfo[];
}

export interface EndpointStatus {
  ip: string;
  pod?: string;
  ready: boolean;
}

export interface ServiceStatus {
  name: string;
  type?: string;
  clusterIP?: string;
  ports: string[];
  selector: Record<string, string>;
  endpoints: EndpointStatus[];
}

export interface SecretStatus {
  name: string;
  type?: string;
  /** Keys and value sizes in bytes; never the values. */
  keys: { key: string; bytes: number }[];
  /** POSTGRES_USER's value (a name, not a secret), for the connection hint. */
  user?: string;
}

export interface TlsStatus {
  enabled: boolean;
  /** The Secret with the server certificate (NAME-tls). */
  secret?: string;
  /** The server certificate's end (RFC 3339). */
  notAfter?: string;
  /** Its DNS names and IP addresses. */
  names?: string[];
  /** Missing, unreadable or ending soon: a warning in describe. */
  problem?: string;
}

export interface EventStatus {
  type?: string;
  reason?: string;
  object: string;
  message?: string;
  count: number;
  firstSeen?: string;
  lastSeen?: string;
}

export interface RecordStatus {
  primary: string;
  timeline: number;
  generation: number;
  history: HistoryEntry[];
  operation?: PendingOperation;
  /** kpg pause: since when (RFC 3339). */
  paused?: string;
}

export interface ClusterStatus {
  name: string;
  namespace: string;
  collectedAt: string;
  createdAt?: string;
  spec?: SpecSummary;
  record?: RecordStatus;
  statefulSet?: StatefulSetSummary;
  instances: InstanceStatus[];
  replication?: ReplicationStatus;
  services: ServiceStatus[];
  secret?: SecretStatus;
  tls?: TlsStatus;
  /** WAL archiving as the primary sees it (clusters with spec.archiver only). */
  archive?: ArchiveStatus;
  events: EventStatus[];
  /** The in-pod agents: their Lease and each pod's last decision (clusters with agents only). */
  agents?: AgentsStatus;
  health: Health;
  /** Why the health is not 'healthy'; the blockers' lines first. */
  problems: string[];
  /** What weakens the cluster without making it degraded (two members on one node). */
  warnings?: string[];
  /** What the cluster's own signals say keeps pods from coming up (blockers.ts). */
  blockers?: Blocker[];
  /** Errors met while collecting; what could be gathered is still shown. */
  errors: string[];
}

/** One line of `kpg get`. */
export interface ClusterSummary {
  name: string;
  namespace: string;
  version: string;
  replicas: number;
  ready: number;
  /** The pod labelled primary (or the recorded one, marked "?" when no pod says so). */
  primary: string;
  status: string;
  createdAt?: string;
  standbyMode: string;
  streamingMode: string;
  storage: string;
  /** kpg pause: since when. */
  paused?: string;
}
