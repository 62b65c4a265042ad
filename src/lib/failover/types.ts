/** Shapes shared by the failover modules: what kpg observes of each pod, and the plan. */
import type { Lsn } from './lsn.js';

/** One record of the WAL a pod holds, as pg_waldump printed it (the last one found). */
export interface WalRecord {
  lsn: Lsn;
  /** End of the record (lsn + total length). */
  end: Lsn;
  /** First word of pg_waldump's description, e.g. CHECKPOINT_SHUTDOWN, COMMIT. */
  kind: string;
  timeline: number;
}

/** A replication connection seen in the primary's pg_stat_replication. */
export interface ReplicationPeer {
  /** application_name: start.sh sets it to the standby's pod name. */
  name: string;
  state: string;
  flushLsn?: Lsn;
  replayLsn?: Lsn;
}

/** What kpg saw of one pod of the cluster. */
export interface MemberState {
  pod: string;
  /** The pod object exists. */
  exists: boolean;
  uid?: string;
  ip?: string;
  /** kubedb.com/role label. */
  label?: string;
  /** Annotated kpg.io/nofailover: "true": never a target. */
  noFailover?: boolean;
  ready: boolean;
  containerRunning: boolean;
  restartCount?: number;
  /** The probe ran in the pod (exec answered in time). */
  probed: boolean;
  /** Why the probe failed (timeout, exec error). */
  probeError?: string;
  /**
   * What kind of failure: `timeout` (exec started, no answer: frozen or
   * overloaded) or `exec` (the exec itself failed: 403, a broken API→kubelet
   * tunnel, a script error), which says nothing about postgres.
   */
  probeFailure?: 'timeout' | 'exec';
  /** start.sh's state file (/tmp/kpg-state): preparing, basebackup, rewind, running... */
  startState?: string;
  postmaster: boolean;
  /** standby.signal or recovery.conf in PGDATA. */
  standbySignal: boolean;
  /** pg_controldata "Database cluster state". */
  clusterState?: string;
  /** psql over the local socket answered. */
  accepts: boolean;
  inRecovery?: boolean;
  /** A primary's pg_current_wal_lsn(). */
  currentLsn?: Lsn;
  /** A standby's pg_last_wal_receive_lsn() (received and flushed), or the end of its WAL on disk. */
  receiveLsn?: Lsn;
  replayLsn?: Lsn;
  timeline?: number;
  /** A standby's walreceiver status (streaming, waiting...), '' when none. */
  walReceiver?: string;
  /** A primary's pg_stat_replication. */
  peers?: ReplicationPeer[];
  /** The last WAL record on disk (when asked for). */
  lastRecord?: WalRecord;
  /** A standby can open a connection to the primary's pod IP (when asked for). */
  reachesPrimary?: boolean;
}

export type PrimaryHealth =
  /** Answers, writable, reachable from the cluster network. */
  | 'healthy'
  /** Answers locally but no standby can reach it over the network. */
  | 'unreachable'
  /** The probe timed out: frozen or overloaded. */
  | 'hung'
  /** No pod, container not running, postmaster dead or not serving. */
  | 'down'
  /** It runs, but as a standby or still starting: not serving writes. */
  | 'not-primary'
  /** kpg cannot probe it, yet its port answers: it may be serving. */
  | 'unknown';

export type OperationKind = 'switchover' | 'failover';

export interface PlanOptions {
  /** --to: the standby to promote. */
  to?: string;
  /** --force: accept lag beyond maxLag (and, in synchronous mode, a target that may miss commits). */
  force: boolean;
  /** --max-lag in bytes. */
  maxLagBytes: bigint;
  /** spec.streamingMode: synchronous. */
  synchronous: boolean;
}

/** One standby, as the planner judged it. */
export interface Candidate {
  pod: string;
  eligible: boolean;
  /** Why it cannot be promoted (when not eligible). */
  reason?: string;
  /** Ineligible only because it does not stream from a healthy primary (yet). */
  notStreaming?: boolean;
  receiveLsn?: Lsn;
  replayLsn?: Lsn;
  /** Bytes behind the reference LSN. */
  lagBytes?: bigint;
}

export interface Plan {
  kind: OperationKind;
  oldPrimary: string;
  oldPrimaryHealth: PrimaryHealth;
  /** Why the primary was judged so (for messages). */
  healthDetail: string;
  target: string;
  /** Why this target. */
  why: string;
  /** What the target is measured against: the old primary's LSN if known, else the most advanced standby's. */
  referenceLsn?: Lsn;
  referenceSource: 'old primary' | 'most advanced standby' | 'unknown';
  targetLsn?: Lsn;
  lagBytes: bigint;
  /** Bytes of acknowledged commits that may be lost: 0 for a switchover (kpg waits for them). */
  expectedLossBytes: bigint;
  forced: boolean;
  candidates: Candidate[];
  warnings: string[];
}
