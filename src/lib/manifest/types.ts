/**
 * The validated, normalised form of a `kubedb.com/v1alpha1 Postgres` manifest.
 * Parsing and validation (src/lib/manifest) produce it; rendering (src/lib/render)
 * and every command consume it. Defaults are already applied and deprecated
 * fields already mapped onto their replacements, so consumers never look at
 * the raw document.
 */

/** Where a document came from, for error messages. */
export interface SourceRef {
  /** File path, URL, or `<stdin>`. */
  source: string;
  /** 0-based index of the document within a multi-document source. */
  index: number;
}

export type StandbyMode = 'hot' | 'warm';
export type StreamingMode = 'asynchronous' | 'synchronous';
export type StorageType = 'Durable' | 'Ephemeral';
export type TerminationPolicy = 'DoNotTerminate' | 'Pause' | 'Delete' | 'WipeOut';

/** A PostgreSQL major version kpg supports, e.g. "9.6", "10", "15". */
export type PgMajor = string;

export interface StorageSpec {
  /** Absent means the cluster's default StorageClass. */
  storageClassName?: string;
  accessModes: string[];
  /** A Kubernetes quantity, e.g. "1Gi". */
  size: string;
}

export interface PodTemplateSpec {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  resources?: Record<string, unknown>;
  nodeSelector?: Record<string, string>;
  affinity?: Record<string, unknown>;
  tolerations?: Record<string, unknown>[];
  imagePullSecrets?: { name: string }[];
  schedulerName?: string;
  env?: Record<string, unknown>[];
  priorityClassName?: string;
  /** `spec.podTemplate.controller`: labels and annotations for the StatefulSet itself. */
  controller?: { labels: Record<string, string>; annotations: Record<string, string> };
}

export interface ServiceTemplateSpec {
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

/** `spec.leaderElection` with defaults applied (KubeDB's field names; maximumLagBeforeFailover in bytes). */
export interface LeaderElectionSpec {
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
  maximumLagBeforeFailover: number;
}

/** KubeDB's storage backends (spec.archiver.storage, spec.init.postgresWAL). */
export type BackendKind = 's3' | 'gcs' | 'azure' | 'swift' | 'local';

export interface StorageBackend {
  kind: BackendKind;
  /** The Secret with the backend's credentials (KubeDB's keys); absent for local. */
  secretName?: string;
  /** s3/gcs bucket, azure/swift container; absent for local. */
  bucket?: string;
  /** The path inside the bucket as written (no leading or trailing '/'). */
  prefix?: string;
  /** s3 only: https://host[:port], the scheme added when the manifest gave none. */
  endpoint?: string;
  region?: string;
  /** local only: where the volume is mounted, an optional sub-path and the volume source. */
  local?: { mountPath: string; subPath?: string; volume: Record<string, unknown> };
}

/** spec.init.postgresWAL.pitr: at most one of time and xid; neither means the end of the archive. */
export interface RecoveryTarget {
  time?: string;
  xid?: string;
  /** "latest" unless given. */
  timeline: string;
  inclusive: boolean;
}

/** spec.backupSchedule: base backups by a CronJob, into the archive layout of its storage. */
export interface BackupScheduleSpec {
  /** The CronJob's schedule, as written. */
  schedule: string;
  storage: StorageBackend;
  /** spec.backupSchedule.podTemplate: the Job pod's annotations, the Job's, and scheduling fields. */
  podAnnotations: Record<string, string>;
  jobAnnotations: Record<string, string>;
  podSpec: Record<string, unknown>;
}

export interface PostgresCluster {
  name: string;
  /** Absent when the manifest names none: the command's namespace applies. */
  namespace?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The version as written in the manifest, e.g. "9.6-v1". */
  version: string;
  /** Its PostgreSQL major, e.g. "9.6" or "15". */
  major: PgMajor;
  /** Container image for that major, e.g. "postgres:15". */
  image: string;
  replicas: number;
  standbyMode: StandbyMode;
  streamingMode: StreamingMode;
  storageType: StorageType;
  /** Present when storageType is Durable. */
  storage?: StorageSpec;
  /** Name of an existing Secret with POSTGRES_PASSWORD; absent → kpg creates NAME-auth. */
  databaseSecretName?: string;
  /** ConfigMap of SQL/shell scripts run once on the new primary. */
  initScriptConfigMap?: string;
  /** ConfigMap with extra postgresql.conf settings. */
  configConfigMap?: string;
  podTemplate: PodTemplateSpec;
  serviceTemplate: ServiceTemplateSpec;
  updateStrategy: { type: 'RollingUpdate' | 'OnDelete' };
  terminationPolicy: TerminationPolicy;
  /**
   * The in-pod agents' election timing. The loader always sets it (defaults
   * applied); absent only in objects built by hand, meaning the defaults.
   */
  leaderElection?: LeaderElectionSpec;
  /** spec.archiver: the primary archives every WAL segment there. */
  archiver?: { storage: StorageBackend };
  backupSchedule?: BackupScheduleSpec;
  /** spec.init.postgresWAL: a new cluster restored from an archive (instead of initdb). */
  restore?: { storage: StorageBackend; target: RecoveryTarget };
  /** Kept as given; kpg does not deploy monitoring itself. */
  monitor?: Record<string, unknown>;
  /** The raw document as given (for the cluster's record of the applied spec). */
  raw: Record<string, unknown>;
  from: SourceRef;
}
